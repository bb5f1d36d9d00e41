//! App Store versions, alternative distribution packages, their versions, variants and deltas,
//! and the signed download URLs behind every `url`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use altdist_server::package_store::{PackageStore, sha256_hex};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Backend, Identity, TestServer, fresh_public_key, role};

const PACKAGES: &str = "/v1/alternativeDistributionPackages";

fn package_request(version: &str) -> Value {
    json!({"data": {"type": "alternativeDistributionPackages", "relationships": {"appStoreVersion": {"data": {"type": "appStoreVersions", "id": version}}}}})
}

/// Files that stand in for builds: distinct bytes of `size`.
fn app_file(dir: &Path, name: &str, size: usize) -> PathBuf {
    let path = dir.join(name);
    let bytes: Vec<u8> = (0..size)
        .map(|i| (i as u8).wrapping_mul(31) ^ name.len() as u8)
        .collect();
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `base` with a few bytes changed and some appended: a later build of the same app.
fn later_file(dir: &Path, name: &str, base: &Path) -> PathBuf {
    let mut bytes = std::fs::read(base).unwrap();
    bytes[5_000..5_100].fill(0xee);
    bytes.extend_from_slice(b"new in this version");
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

struct Setup {
    server: TestServer,
    admin: Identity,
    app: String,
    version: String,
    files: tempfile::TempDir,
}

/// A server with an app that has a key, a version 1.1.0 of one variant, and a distributable
/// version 1.2.0 of two variants with deltas from 1.1.0.
async fn setup(backend: Backend) -> Setup {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let app = server.app(&admin.issuer, "com.example.packaged").await;
    assert_eq!(
        server
            .create_key(&admin, &fresh_public_key(), Some(&app))
            .await
            .status,
        201
    );
    let files = tempfile::tempdir().unwrap();
    let earlier = app_file(files.path(), "phone-1.1.0.ipa", 300_000);
    let phone = later_file(files.path(), "phone.ipa", &earlier);
    let pad = app_file(files.path(), "pad.ipa", 200_000);
    server
        .app_store_version(&app, "1.1.0", "READY_FOR_DISTRIBUTION", &[&earlier], &[])
        .await;
    let version = server
        .app_store_version(
            &app,
            "1.2.0",
            "READY_FOR_DISTRIBUTION",
            &[&phone, &pad],
            &["1.1.0"],
        )
        .await;
    Setup {
        server,
        admin,
        app: app.0,
        version,
        files,
    }
}

async fn download(server: &TestServer, url: &str) -> reqwest::Response {
    let path = url
        .strip_prefix(&server.base)
        .expect("a URL of this server");
    server.request(Method::GET, path).send().await.unwrap()
}

async fn versions_and_packages(backend: Backend) {
    let Setup {
        server,
        admin,
        app,
        version,
        files,
    } = setup(backend).await;

    let listed = server
        .get(&admin, &format!("/v1/apps/{app}/appStoreVersions"))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.json["meta"]["paging"]["total"], 2);
    assert_eq!(
        listed.json["data"][0]["attributes"]["versionString"],
        "1.1.0"
    );
    let attributes = &listed.json["data"][1]["attributes"];
    assert_eq!(attributes["versionString"], "1.2.0");
    assert_eq!(attributes["platform"], "IOS");
    assert_eq!(attributes["appVersionState"], "READY_FOR_DISTRIBUTION");
    assert_eq!(attributes["appStoreState"], "READY_FOR_SALE");
    for (query, expected) in [
        ("filter[versionString]=1.2.0", 1),
        ("filter[versionString]=9.9", 0),
        ("filter[appStoreState]=READY_FOR_SALE", 2),
        ("filter[appStoreState]=REMOVED_FROM_SALE", 0),
        (
            "filter[appVersionState]=READY_FOR_DISTRIBUTION,IN_REVIEW",
            2,
        ),
        ("filter[platform]=MAC_OS", 0),
        ("filter[versionString]=1.2.0%00", 0),
        ("filter[id]=%00", 0),
    ] {
        let page = server
            .get(&admin, &format!("/v1/apps/{app}/appStoreVersions?{query}"))
            .await;
        assert_eq!(
            page.json["data"].as_array().unwrap().len(),
            expected,
            "{query}"
        );
    }
    let read = server
        .get(&admin, &format!("/v1/appStoreVersions/{version}"))
        .await;
    assert_eq!(read.json["data"], listed.json["data"][1]);
    let none = server
        .get(
            &admin,
            &format!("/v1/appStoreVersions/{version}/alternativeDistributionPackage"),
        )
        .await;
    none.assert_error(404, "NOT_FOUND");

    let created = server
        .post(&admin, PACKAGES, &package_request(&version))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let package = created.json["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        server.url(&format!("{PACKAGES}/{package}"))
    );
    let phone_sha = sha256_hex(&std::fs::read(files.path().join("phone.ipa")).unwrap());
    assert_eq!(
        created.json["data"]["attributes"]["sourceFileChecksum"]["file"],
        json!({"hash": phone_sha, "algorithm": "SHA_256"})
    );
    let again = server
        .post(&admin, PACKAGES, &package_request(&version))
        .await;
    again.assert_error(409, "ENTITY_ERROR");

    let of_version = server
        .get(
            &admin,
            &format!(
                "/v1/appStoreVersions/{version}/alternativeDistributionPackage?include=versions"
            ),
        )
        .await;
    assert_eq!(of_version.json["data"]["id"], package);
    let included = of_version.json["included"].as_array().unwrap();
    assert_eq!(included.len(), 1);
    assert_eq!(included[0]["attributes"]["version"], "1.2.0");
    assert_eq!(included[0]["attributes"]["state"], "COMPLETED");
    let linkage = server
        .get(
            &admin,
            &format!("/v1/appStoreVersions/{version}/relationships/alternativeDistributionPackage"),
        )
        .await;
    assert_eq!(
        linkage.json["data"],
        json!({"type": "alternativeDistributionPackages", "id": package})
    );

    let versions = server
        .get(
            &admin,
            &format!("{PACKAGES}/{package}/versions?include=variants,deltas,alternativeDistributionPackage&filter[state]=COMPLETED"),
        )
        .await;
    assert_eq!(versions.status, 200, "{}", versions.text);
    let package_version = &versions.json["data"][0];
    let relationships = &package_version["relationships"];
    assert_eq!(
        relationships["variants"]["data"].as_array().unwrap().len(),
        2
    );
    // One delta per variant from the one earlier version.
    assert_eq!(relationships["deltas"]["data"].as_array().unwrap().len(), 2);
    let kinds: Vec<&str> = versions.json["included"]
        .as_array()
        .unwrap()
        .iter()
        .map(|resource| resource["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "alternativeDistributionPackageVariants",
            "alternativeDistributionPackageVariants",
            "alternativeDistributionPackageDeltas",
            "alternativeDistributionPackageDeltas",
            "alternativeDistributionPackages"
        ]
    );
    let replaced = server
        .get(
            &admin,
            &format!("{PACKAGES}/{package}/versions?filter[state]=REPLACED"),
        )
        .await;
    assert_eq!(replaced.json["meta"]["paging"]["total"], 0);

    // The manifest at the version's url lists every file with its checksum.
    let version_id = package_version["id"].as_str().unwrap();
    let manifest_url = package_version["attributes"]["url"].as_str().unwrap();
    let manifest_response = download(&server, manifest_url).await;
    assert_eq!(manifest_response.status(), 200);
    let manifest_bytes = manifest_response.bytes().await.unwrap();
    assert_eq!(
        sha256_hex(&manifest_bytes),
        package_version["attributes"]["fileChecksum"]
    );
    let manifest: Value = serde_json::from_slice(&manifest_bytes).unwrap();
    assert_eq!(manifest["bundleId"], "com.example.packaged");
    assert_eq!(
        manifest["alternativeDistributionPackageVersion"],
        version_id
    );
    // Each delta names what it applies to and what it makes: the phone variant from 1.1.0's
    // phone variant (same position), the pad variant from 1.1.0's first, its only one.
    let earlier = std::fs::read(files.path().join("phone-1.1.0.ipa")).unwrap();
    for (n, variant) in ["phone.ipa", "pad.ipa"].into_iter().enumerate() {
        let entry = &manifest["deltas"][n];
        assert_eq!(entry["fromVersion"], "1.1.0");
        assert_eq!(entry["format"], "BSDIFF40");
        assert_eq!(entry["fromSha256"], sha256_hex(&earlier));
        let target = std::fs::read(files.path().join(variant)).unwrap();
        assert_eq!(entry["toSha256"], sha256_hex(&target));
        assert_eq!(entry["toSha256"], manifest["variants"][n]["sha256"]);
    }

    // Every variant downloads as the bytes its checksum names, in full and by range.
    let variants = server
        .get(
            &admin,
            &format!("/v1/alternativeDistributionPackageVersions/{version_id}/variants?limit=1"),
        )
        .await;
    assert_eq!(variants.json["meta"]["paging"]["total"], 2);
    assert!(variants.json["links"]["next"].is_string());
    let variant = &variants.json["data"][0];
    let attributes = &variant["attributes"];
    assert!(
        !attributes["alternativeDistributionKeyBlob"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    let expires = time::OffsetDateTime::parse(
        attributes["urlExpirationDate"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(expires > time::OffsetDateTime::now_utc());
    let url = attributes["url"].as_str().unwrap();
    let whole = download(&server, url).await;
    assert_eq!(whole.status(), 200);
    let bytes = whole.bytes().await.unwrap();
    assert_eq!(sha256_hex(&bytes), attributes["fileChecksum"]);
    assert_eq!(attributes["fileChecksum"], phone_sha);
    let path = url.strip_prefix(&server.base).unwrap();
    let part = server
        .request(Method::GET, path)
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap(), bytes[1000..2000]);

    let variant_id = variant["id"].as_str().unwrap();
    let read = server
        .get(
            &admin,
            &format!("/v1/alternativeDistributionPackageVariants/{variant_id}?fields[alternativeDistributionPackageVariants]=fileChecksum"),
        )
        .await;
    assert_eq!(
        read.json["data"]["attributes"],
        json!({"fileChecksum": phone_sha})
    );
    let delta_links = server
        .get(
            &admin,
            &format!(
                "/v1/alternativeDistributionPackageVersions/{version_id}/relationships/deltas"
            ),
        )
        .await;
    let delta_id = delta_links.json["data"][0]["id"].as_str().unwrap();
    let delta = server
        .get(
            &admin,
            &format!("/v1/alternativeDistributionPackageDeltas/{delta_id}"),
        )
        .await;
    assert_eq!(delta.status, 200, "{}", delta.text);
    // The delta's bytes are a bsdiff patch: applied to 1.1.0's file they give 1.2.0's, and
    // `fileChecksum` is their SHA-256.
    let delta_attributes = &delta.json["data"]["attributes"];
    let patch = download(&server, delta_attributes["url"].as_str().unwrap())
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(sha256_hex(&patch), delta_attributes["fileChecksum"]);
    let phone = std::fs::read(files.path().join("phone.ipa")).unwrap();
    assert!(patch.len() < phone.len() / 10, "{} bytes", patch.len());
    assert_eq!(
        altdist_server::delta::apply(&earlier, &patch).unwrap(),
        phone
    );

    // Another account sees none of it.
    let stranger = server.admin().await;
    for path in [
        format!("/v1/appStoreVersions/{version}"),
        format!("{PACKAGES}/{package}"),
        format!("/v1/alternativeDistributionPackageVersions/{version_id}"),
        format!("/v1/alternativeDistributionPackageVariants/{variant_id}"),
        format!("/v1/alternativeDistributionPackageDeltas/{delta_id}"),
        format!("/v1/apps/{app}/appStoreVersions"),
    ] {
        server
            .get(&stranger, &path)
            .await
            .assert_error(404, "NOT_FOUND");
    }
    let theirs = server
        .post(&stranger, PACKAGES, &package_request(&version))
        .await;
    theirs.assert_error(409, "ENTITY_ERROR.RELATIONSHIP.INVALID");
}
backend_test!(versions_and_packages);

async fn deltas_start_from_an_earlier_version_with_a_stored_package(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let app = server.app(&admin.issuer, "com.example.deltas").await;
    let files = tempfile::tempdir().unwrap();
    let first = app_file(files.path(), "first.ipa", 20_000);
    let second = later_file(files.path(), "second.ipa", &first);
    let refused = |result: anyhow::Result<String>| format!("{:#}", result.unwrap_err());

    let none_yet = refused(
        server
            .try_app_store_version(&app, "1.1", "READY_FOR_DISTRIBUTION", &[&second], &["1.0"])
            .await,
    );
    assert!(
        none_yet.contains("has no IOS version 1.0") && none_yet.contains("no IOS version yet"),
        "{none_yet}"
    );
    server
        .app_store_version(&app, "1.0", "READY_FOR_DISTRIBUTION", &[&first], &[])
        .await;
    server
        .app_store_version(&app, "0.9", "READY_FOR_DISTRIBUTION", &[&first], &[])
        .await;
    let unknown = refused(
        server
            .try_app_store_version(&app, "1.1", "READY_FOR_DISTRIBUTION", &[&second], &["0.8"])
            .await,
    );
    assert!(
        unknown.contains("has no IOS version 0.8")
            && unknown.contains("its IOS versions: 1.0, 0.9"),
        "{unknown}"
    );
    let itself = refused(
        server
            .try_app_store_version(&app, "1.1", "READY_FOR_DISTRIBUTION", &[&second], &["1.1"])
            .await,
    );
    assert!(itself.contains("is the version being created"), "{itself}");
    let again = refused(
        server
            .try_app_store_version(&app, "1.0", "READY_FOR_DISTRIBUTION", &[&second], &["0.9"])
            .await,
    );
    assert!(again.contains("has a IOS version 1.0 already"), "{again}");
    let twice = refused(
        server
            .try_app_store_version(
                &app,
                "1.1",
                "READY_FOR_DISTRIBUTION",
                &[&second],
                &["1.0", "1.0"],
            )
            .await,
    );
    assert!(twice.contains("given twice"), "{twice}");

    // The earlier version's file gone from the package store: nothing to diff against.
    let stored = server
        .state
        .packages
        .file_path(&sha256_hex(&std::fs::read(&first).unwrap()))
        .unwrap();
    let kept = std::fs::read(&stored).unwrap();
    std::fs::remove_file(&stored).unwrap();
    let missing = refused(
        server
            .try_app_store_version(&app, "1.1", "READY_FOR_DISTRIBUTION", &[&second], &["1.0"])
            .await,
    );
    assert!(
        missing.contains("not in the package store") && missing.contains("--package-dir"),
        "{missing}"
    );
    std::fs::write(&stored, kept).unwrap();

    // Nothing refused was stored; then deltas from two earlier versions.
    server
        .app_store_version(
            &app,
            "1.1",
            "READY_FOR_DISTRIBUTION",
            &[&second],
            &["1.0", "0.9"],
        )
        .await;
    let listed = server
        .get(&admin, &format!("/v1/apps/{app}/appStoreVersions"))
        .await;
    assert_eq!(listed.json["meta"]["paging"]["total"], 3, "{}", listed.text);
}
backend_test!(deltas_start_from_an_earlier_version_with_a_stored_package);

async fn packages_need_what_apple_requires(backend: Backend) {
    let server = TestServer::start_on(backend).await;
    let admin = server.admin().await;
    let app = server.app(&admin.issuer, "com.example.early").await;
    let files = tempfile::tempdir().unwrap();
    let file = app_file(files.path(), "app.ipa", 1_000);
    let in_review = server
        .app_store_version(&app, "2.0", "WAITING_FOR_REVIEW", &[&file], &[])
        .await;
    let ready = server
        .app_store_version(&app, "1.0", "READY_FOR_DISTRIBUTION", &[&file], &[])
        .await;

    let refused = server
        .post(&admin, PACKAGES, &package_request(&in_review))
        .await;
    let error = refused.assert_error(409, "ENTITY_ERROR.RELATIONSHIP.INVALID");
    assert_eq!(
        error["source"]["pointer"],
        "/data/relationships/appStoreVersion"
    );
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .contains("WAITING_FOR_REVIEW")
    );

    // No alternative distribution key: the app is not set up for alternative distribution.
    let no_key = server
        .post(&admin, PACKAGES, &package_request(&ready))
        .await;
    let error = no_key.assert_error(409, "ENTITY_ERROR.RELATIONSHIP.INVALID");
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .contains("alternativeDistributionKeys")
    );

    let unknown = server
        .post(&admin, PACKAGES, &package_request("nope"))
        .await;
    unknown.assert_error(409, "ENTITY_ERROR.RELATIONSHIP.INVALID");
    let wrong_type = server
        .post(
            &admin,
            PACKAGES,
            &json!({"data": {"type": "apps", "relationships": {"appStoreVersion": {"data": {"type": "appStoreVersions", "id": ready}}}}}),
        )
        .await;
    wrong_type.assert_error(409, "ENTITY_ERROR.ATTRIBUTE.INVALID");
    let no_relationship = server
        .post(
            &admin,
            PACKAGES,
            &json!({"data": {"type": "alternativeDistributionPackages"}}),
        )
        .await;
    assert_eq!(no_relationship.status, 409, "{}", no_relationship.text);

    // Only the roles that manage keys may create packages.
    let developer = server
        .api_key(&admin.issuer, role("DEVELOPER"), false)
        .await;
    server
        .post(&developer, PACKAGES, &package_request(&ready))
        .await
        .assert_error(403, "FORBIDDEN_ERROR");

    // An account-wide key sets every app up.
    assert_eq!(
        server
            .create_key(&admin, &fresh_public_key(), None)
            .await
            .status,
        201
    );
    let created = server
        .post(&admin, PACKAGES, &package_request(&ready))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
}
backend_test!(packages_need_what_apple_requires);

async fn download_urls_are_refused_when_changed_or_expired(backend: Backend) {
    let Setup {
        server,
        admin,
        version,
        ..
    } = setup(backend).await;
    let created = server
        .post(&admin, PACKAGES, &package_request(&version))
        .await;
    let package = created.json["data"]["id"].as_str().unwrap();
    let versions = server
        .get(
            &admin,
            &format!("{PACKAGES}/{package}/versions?include=variants"),
        )
        .await;
    let variant = versions.json["included"][0].clone();
    let url = variant["attributes"]["url"].as_str().unwrap();
    let path = url.strip_prefix(&server.base).unwrap();
    let (file_path, access_key) = path.split_once("?accessKey=").unwrap();
    let (expiry, signature) = access_key.split_once('_').unwrap();

    for (tampered, why) in [
        (
            format!(
                "{file_path}?accessKey={}_{signature}",
                expiry.parse::<i64>().unwrap() + 3600
            ),
            "expiry",
        ),
        (
            format!(
                "{}x.ipa?accessKey={access_key}",
                &file_path[..file_path.len() - 4]
            ),
            "path",
        ),
        (file_path.to_owned(), "missing"),
        (format!("{file_path}?accessKey=garbage"), "malformed"),
    ] {
        let response = server.request(Method::GET, &tampered).send().await.unwrap();
        assert_eq!(response.status(), 403, "{why}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "FORBIDDEN_ERROR", "{why}");
        assert!(
            body["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains("accessKey"),
            "{why}: {body}"
        );
    }

    // A URL signed to live one second, with the secret every server on the database shares.
    let sha256 = variant["attributes"]["fileChecksum"].as_str().unwrap();
    let short = PackageStore::new(server.state.packages.dir(), Duration::from_secs(1));
    let (short_url, _) = short
        .signed_url(&server.db, &server.base, sha256, "short.ipa")
        .await
        .unwrap();
    assert_eq!(download(&server, &short_url).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = download(&server, &short_url).await;
    assert_eq!(expired.status(), 403);
    let body: Value = expired.json().await.unwrap();
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{body}"
    );
}
backend_test!(download_urls_are_refused_when_changed_or_expired);
