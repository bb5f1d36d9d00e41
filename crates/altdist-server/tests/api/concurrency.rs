//! Uniqueness under concurrency: the database, not the handler, decides.

use std::sync::Arc;

use crate::common::{Backend, TestServer, fresh_public_key};

async fn race(server: Arc<TestServer>, app: Option<altdist::resource::AppId>) -> (usize, usize) {
    let admin = Arc::new(server.admin().await);
    let app = match app {
        Some(_) => Some(server.app(&admin.issuer, "com.example.race").await),
        None => None,
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (server, admin, app) = (server.clone(), admin.clone(), app.clone());
        tasks.spawn(async move {
            server
                .create_key(&admin, &fresh_public_key(), app.as_ref())
                .await
                .status
                .as_u16()
        });
    }
    let statuses = tasks.join_all().await;
    let created = statuses.iter().filter(|status| **status == 201).count();
    let conflicts = statuses.iter().filter(|status| **status == 409).count();
    let listed = server.get(&admin, "/v1/alternativeDistributionKeys").await;
    assert_eq!(
        listed.json["meta"]["paging"]["total"], 1,
        "exactly one key stored"
    );
    (created, conflicts)
}

async fn fifty_concurrent_account_wide_creates_give_one_201(backend: Backend) {
    let server = Arc::new(TestServer::start_on(backend).await);
    assert_eq!(race(server, None).await, (1, 49));
}
backend_test!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    fifty_concurrent_account_wide_creates_give_one_201
);

async fn fifty_concurrent_creates_for_one_app_give_one_201(backend: Backend) {
    let server = Arc::new(TestServer::start_on(backend).await);
    assert_eq!(
        race(server, Some(altdist::resource::AppId(String::new()))).await,
        (1, 49)
    );
}
backend_test!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    fifty_concurrent_creates_for_one_app_give_one_201
);
