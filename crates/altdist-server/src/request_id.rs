//! [`RequestIds`]: the `x-request-id` of requests that come without one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::HeaderValue;
use uuid::Uuid;

/// Request ids shaped as UUIDs (version 8, RFC 9562's custom layout): 60 random bits drawn from
/// the operating system once per router, then a counter.
///
/// A random UUID per request (`uuid::new_v4`) cost a `getrandom(2)` system call on every request.
/// The random prefix keeps ids unique across restarts and across servers sharing a database (two
/// processes collide only if their 60 random bits do); the counter keeps them unique within a
/// process and orders them by arrival.
#[derive(Debug, Clone)]
pub struct RequestIds {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    /// A generator with a fresh random prefix.
    pub fn new() -> Self {
        let (random, _) = Uuid::new_v4().as_u64_pair();
        // Bits 12..16 of the first half are the UUID's version.
        Self {
            prefix: random & !0xf000 | 0x8000,
            next: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The next id.
    pub fn next_id(&self) -> Uuid {
        let count = self.next.fetch_add(1, Ordering::Relaxed);
        // The two top bits of the second half are the RFC variant (0b10); 2^62 requests fit.
        Uuid::from_u64_pair(self.prefix, count & (u64::MAX >> 2) | 1 << 63)
    }
}

impl RequestIds {
    /// The next id, as the `x-request-id` header's value.
    pub fn next_header_value(&self) -> HeaderValue {
        let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
        let text = self.next_id().hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).expect("a UUID is a valid header value")
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_uuids_of_version_8_and_unique_within_and_across_generators() {
        let (first, second) = (RequestIds::new(), RequestIds::new());
        let mut seen = HashSet::new();
        for ids in [&first, &second] {
            for _ in 0..1000 {
                let id = ids.next_id();
                assert_eq!(id.get_version_num(), 8);
                assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
                assert!(seen.insert(id), "{id} came twice");
            }
        }
        assert_ne!(
            first.prefix, second.prefix,
            "each generator draws its own prefix"
        );
    }

    #[test]
    fn the_header_is_the_hyphenated_uuid() {
        let id = RequestIds::new().next_header_value();
        let text = id.to_str().unwrap();
        assert_eq!(
            Uuid::parse_str(text).unwrap().hyphenated().to_string(),
            text
        );
    }
}
