//! [`TtlCache`]: what the server remembers between requests to spare the database and the
//! signature checks: verified API tokens and parsed alternative distribution keys.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A bounded map whose entries expire at a unix time of their own.
///
/// When full, expired entries go first, then everything (a rare, cheap reset rather than an LRU's
/// bookkeeping on every hit). Removals bump a generation counter: a value loaded before a removal
/// and inserted after it (a verification racing with a revocation, a key load racing with a
/// deletion) is not cached, because [`Self::insert`] is given the generation read before the
/// load.
#[derive(Debug)]
pub struct TtlCache<K, V> {
    entries: Mutex<HashMap<K, Entry<V>>>,
    capacity: usize,
    generation: AtomicU64,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    expires_at: i64,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            generation: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<K, Entry<V>>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The generation to pass to [`Self::insert`]: read it before loading the value.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The value of `key` unless it expired by `now` (then it is dropped).
    pub fn get<Q>(&self, key: &Q, now: i64) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let mut entries = self.lock();
        let entry = entries.get(key)?;
        if now < entry.expires_at {
            Some(entry.value.clone())
        } else {
            entries.remove(key);
            None
        }
    }

    /// The value of `key` if it has not expired by `now` and `accept` takes it.
    pub fn get_if<Q>(&self, key: &Q, now: i64, accept: impl FnOnce(&V) -> bool) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        self.get(key, now).filter(accept)
    }

    /// Caches `value` until `expires_at`, unless something was removed since `generation`.
    pub fn insert(&self, key: K, value: V, expires_at: i64, generation: u64, now: i64) {
        let mut entries = self.lock();
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, entry| now < entry.expires_at);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, Entry { value, expires_at });
    }

    /// Drops every entry `remove` selects, at once.
    pub fn remove_where(&self, mut remove: impl FnMut(&K, &V) -> bool) {
        let mut entries = self.lock();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.retain(|key, entry| !remove(key, &entry.value));
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.remove_where(|_, _| true);
    }

    /// How many entries are cached, expired ones included until they are dropped.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_at_their_own_time() {
        let cache = TtlCache::new(10);
        cache.insert("a", 1, 100, cache.generation(), 0);
        cache.insert("b", 2, 200, cache.generation(), 0);
        assert_eq!(cache.get("a", 99), Some(1));
        assert_eq!(cache.get("a", 100), None);
        assert_eq!(cache.get("b", 150), Some(2));
        assert_eq!(cache.len(), 1, "the expired entry was dropped");
    }

    #[test]
    fn a_load_that_raced_with_a_removal_is_not_cached() {
        let cache = TtlCache::new(10);
        let before = cache.generation();
        cache.remove_where(|key: &&str, _| *key == "a");
        cache.insert("a", 1, 100, before, 0);
        assert_eq!(cache.get("a", 0), None);
        cache.insert("a", 1, 100, cache.generation(), 0);
        assert_eq!(cache.get("a", 0), Some(1));
    }

    #[test]
    fn a_full_cache_drops_expired_entries_then_everything() {
        let cache = TtlCache::new(2);
        cache.insert("old", 0, 10, cache.generation(), 0);
        cache.insert("a", 1, 100, cache.generation(), 0);
        cache.insert("b", 2, 100, cache.generation(), 50);
        assert_eq!((cache.get("a", 50), cache.get("b", 50)), (Some(1), Some(2)));
        cache.insert("c", 3, 100, cache.generation(), 50);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.get("c", 50), Some(3));
    }
}
