-- Webhooks (Apple's /v1/webhooks), the events they are told about, and the outbox of deliveries.
-- An event is inserted in the same transaction as the change that causes it, with one PENDING
-- delivery per enabled webhook of its app that subscribes to its type (src/db/webhooks.rs). A
-- delivery row is one attempt: a failed attempt is marked FAILED and, while the retry limit
-- allows, a new PENDING row is due later, so the deliveries API lists every attempt.

CREATE TABLE webhooks (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,               -- a UUID
    account_id TEXT NOT NULL REFERENCES accounts (id),
    app_id TEXT NOT NULL REFERENCES apps (id),
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,                  -- the HMAC key; never returned by the API
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    event_types TEXT NOT NULL,             -- WebhookEventType values, comma-separated
    created_at TEXT NOT NULL
);
CREATE INDEX webhooks_by_app ON webhooks (app_id, seq);

CREATE TABLE webhook_events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,               -- a UUID, also `data.id` of the payload
    account_id TEXT NOT NULL REFERENCES accounts (id),
    app_id TEXT NOT NULL REFERENCES apps (id),
    event_type TEXT,                       -- NULL for a ping
    ping INTEGER NOT NULL CHECK (ping IN (0, 1)),
    payload TEXT NOT NULL,                 -- the exact body sent (and signed)
    created_at TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,               -- a UUID
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL REFERENCES webhook_events (id),
    attempt INTEGER NOT NULL,              -- 1 for the first try of an event, +1 per automatic retry
    redelivery INTEGER NOT NULL CHECK (redelivery IN (0, 1)),
    state TEXT NOT NULL CHECK (state IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    due_ms INTEGER NOT NULL,               -- when a PENDING delivery may be sent (Unix ms)
    lease_ms INTEGER,                      -- claimed by a worker until then (Unix ms)
    created_ms INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    request_url TEXT,
    http_status INTEGER,
    response_body TEXT,
    response_ms INTEGER,
    error_message TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (due_ms) WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, seq);
