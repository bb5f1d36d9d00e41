//! Uniqueness under concurrency: the database, not the handler, decides.

use std::sync::Arc;

use altdist_server::{Db, admin};

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

/// Servers starting at once on one empty database, as several replicas do on PostgreSQL: each
/// has its own connections (its own `Db`), and exactly one creates the first account and key.
async fn of_concurrent_first_starts_exactly_one_creates_the_account(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let (first, database) = backend.open(&dir.path().join("server-0")).await;
    let url = match &database {
        Some(database) => database.url().to_owned(),
        None => altdist_server::Db::default_url(&dir.path().join("server-0")),
    };
    let mut servers = vec![first];
    for _ in 1..4 {
        servers.push(Db::connect(&url).await.unwrap());
    }
    let mut starts = tokio::task::JoinSet::new();
    for (n, db) in servers.iter().enumerate() {
        let (db, data_dir) = (db.clone(), dir.path().join(format!("server-{n}")));
        std::fs::create_dir_all(&data_dir).unwrap();
        starts.spawn(async move {
            admin::bootstrap(&db, &data_dir, "http://127.0.0.1")
                .await
                .unwrap()
        });
    }
    let created: Vec<_> = starts.join_all().await.into_iter().flatten().collect();
    assert_eq!(created.len(), 1, "one first start: {created:?}");
    let accounts = altdist_server::db::accounts::list(&servers[0])
        .await
        .unwrap();
    assert_eq!(accounts, vec![created[0].issuer_id.clone()]);
    for db in &servers {
        db.close().await;
    }
    drop(database);
}
backend_test!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    of_concurrent_first_starts_exactly_one_creates_the_account
);
