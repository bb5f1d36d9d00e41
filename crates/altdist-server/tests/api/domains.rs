//! `/v1/alternativeDistributionDomains`.

use serde_json::{Value, json};

use crate::common::{Backend, TestServer};

const DOMAINS: &str = "/v1/alternativeDistributionDomains";

fn domain(name: &str, reference: &str) -> Value {
    json!({"data": {"type": "alternativeDistributionDomains", "attributes": {"domain": name, "referenceName": reference}}})
}

async fn create_read_list_delete(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let created = server
        .post(&admin, DOMAINS, &domain("Apps.Example.com", "Example"))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.json["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        server.url(&format!("{DOMAINS}/{id}"))
    );
    let attributes = &created.json["data"]["attributes"];
    assert_eq!(attributes["domain"], "apps.example.com");
    assert_eq!(attributes["referenceName"], "Example");
    assert!(attributes["createdDate"].as_str().unwrap().ends_with('Z'));

    let read = server.get(&admin, &format!("{DOMAINS}/{id}")).await;
    assert_eq!(read.json["data"], created.json["data"]);
    let sparse = server
        .get(
            &admin,
            &format!("{DOMAINS}/{id}?fields[alternativeDistributionDomains]=domain"),
        )
        .await;
    assert_eq!(
        sparse.json["data"]["attributes"],
        json!({"domain": "apps.example.com"})
    );

    assert_eq!(
        server
            .post(&admin, DOMAINS, &domain("b.example.com", "B"))
            .await
            .status,
        201
    );
    let page = server.get(&admin, &format!("{DOMAINS}?limit=1")).await;
    assert_eq!(page.json["meta"]["paging"]["total"], 2);
    let next = page.json["links"]["next"].as_str().unwrap();
    let second = server
        .get(&admin, next.strip_prefix(&server.base).unwrap())
        .await;
    assert_eq!(
        second.json["data"][0]["attributes"]["domain"],
        "b.example.com"
    );
    assert!(second.json["links"].get("next").is_none());

    assert_eq!(
        server
            .delete(&admin, &format!("{DOMAINS}/{id}"))
            .await
            .status,
        204
    );
    server
        .get(&admin, &format!("{DOMAINS}/{id}"))
        .await
        .assert_error(404, "NOT_FOUND");
    let other = server.admin().await;
    server
        .get(&other, &format!("{DOMAINS}/{id}"))
        .await
        .assert_error(404, "NOT_FOUND");
}
backend_test!(create_read_list_delete);

async fn invalid_and_duplicate_domains(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let first = server
        .post(&admin, DOMAINS, &domain("example.com", "Example"))
        .await;
    let id = first.json["data"]["id"].as_str().unwrap();
    let duplicate = server
        .post(&admin, DOMAINS, &domain("EXAMPLE.com", "Again"))
        .await;
    let detail = duplicate.assert_error(409, "ENTITY_ERROR")["detail"]
        .as_str()
        .unwrap();
    assert!(detail.contains(id), "{detail}");
    for (body, pointer) in [
        (
            domain("https://example.org/path", "x"),
            "/data/attributes/domain",
        ),
        (domain("localhost", "x"), "/data/attributes/domain"),
        (
            domain("example.org", "   "),
            "/data/attributes/referenceName",
        ),
        (
            domain("example.org", "nul\u{0}inside"),
            "/data/attributes/referenceName",
        ),
        (
            json!({"data": {"type": "alternativeDistributionDomains", "attributes": {"domain": "example.org"}}}),
            "/data/attributes/referenceName",
        ),
        (
            json!({"data": {"type": "alternativeDistributionDomains", "attributes": {"referenceName": "x"}}}),
            "/data/attributes/domain",
        ),
    ] {
        let response = server.post(&admin, DOMAINS, &body).await;
        assert_eq!(response.error(409)["source"]["pointer"], pointer, "{body}");
    }
    for query in [
        "fields[alternativeDistributionDomains]=url",
        "fields[alternativeDistributionDomains]=",
        "fields[alternativeDistributionDomains]=domain,,referenceName",
        "limit=",
    ] {
        let error = server
            .get(&admin, &format!("{DOMAINS}?{query}"))
            .await
            .assert_error(400, "PARAMETER_ERROR.INVALID")
            .clone();
        assert!(
            query.starts_with(error["source"]["parameter"].as_str().unwrap()),
            "{query}"
        );
    }
}
backend_test!(invalid_and_duplicate_domains);
