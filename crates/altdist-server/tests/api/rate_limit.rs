//! The rate limiter, whose counts live in the database.
//!
//! Two `RateLimiter`s on one database stand for two server processes; `sync` is what
//! their background task runs every 100 ms, called here by hand so that no test waits on time.

use altdist::resource::ApiKeyId;
use altdist_server::rate_limit::{RateDecision, RateLimiter};

use crate::common::{Backend, TestServer};

fn decision(remaining: u32, allowed: bool) -> RateDecision {
    RateDecision {
        limit: 5,
        remaining,
        allowed,
    }
}

async fn two_servers_share_one_budget_per_key(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let key = ApiKeyId("AAAAAAAAAA".into());
    let other = ApiKeyId("BBBBBBBBBB".into());
    let a = RateLimiter::new(server.db.clone(), 5);
    let b = RateLimiter::new(server.db.clone(), 5);
    for remaining in [4, 3, 2] {
        assert_eq!(a.acquire(&key).await, decision(remaining, true));
    }
    a.sync().await.unwrap();
    // B's first request of the key starts from what A wrote.
    assert_eq!(b.acquire(&key).await, decision(1, true));
    // Until B writes and A reads, A does not see B's request: the documented tolerance.
    assert_eq!(a.acquire(&key).await, decision(1, true));
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    // A now counts 3 + 1 of its own and 1 of B's: the budget is spent.
    assert_eq!(a.acquire(&key).await, decision(0, false));
    b.sync().await.unwrap();
    assert_eq!(b.acquire(&key).await, decision(0, false));
    // Refused requests are not charged, and other keys have their own budget.
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    assert_eq!(a.acquire(&key).await, decision(0, false));
    assert_eq!(b.acquire(&other).await, decision(4, true));
    assert_eq!(a.acquire(&other).await, decision(4, true));
}
backend_test!(two_servers_share_one_budget_per_key);
