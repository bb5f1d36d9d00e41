-- Nothing on SQLite: one server owns a SQLite database (its serve lock) and empties its own key
-- cache (src/db/read_cache.rs). The PostgreSQL twin keeps the servers that share a database.
SELECT 1;
