//! `GET /console`: the web console's files, their headers, and the API around them unchanged.
//! (The console in a browser: console-tests/, docs/CONSOLE.md.)

use std::io::Read;

use altdist_server::routes::console::{ASSETS, CONTENT_SECURITY_POLICY};
use reqwest::{Method, StatusCode};

use crate::common::{Backend, TestServer};

/// The console's files, gzipped as the server sends them, must add up to less than this.
const BUDGET: usize = 150 * 1000;

async fn fetch(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = server.request(Method::GET, path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{}: no {name} header", response.url()))
        .to_str()
        .unwrap()
}

#[track_caller]
fn assert_console_headers(response: &reqwest::Response) {
    assert_eq!(
        header(response, "content-security-policy"),
        CONTENT_SECURITY_POLICY
    );
    assert_eq!(header(response, "x-content-type-options"), "nosniff");
    assert_eq!(header(response, "referrer-policy"), "no-referrer");
}

#[tokio::test]
async fn the_console_is_html_under_a_strict_content_security_policy() {
    let server = TestServer::start_on(Backend::Sqlite).await;
    for path in ["/console", "/console/"] {
        // A browser's navigation: HTML first, which the API's JSON check would refuse.
        let response = fetch(
            &server,
            path,
            &[("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(&response, "content-type"),
            "text/html; charset=utf-8"
        );
        assert_console_headers(&response);
        let csp = header(&response, "content-security-policy");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "img-src 'self' data:",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(header(&response, "cache-control"), "no-cache");
        assert!(header(&response, "etag").starts_with('"'));
        let html = response.text().await.unwrap();
        assert!(
            html.contains(r#"<script type="module" src="/console/app.js"></script>"#),
            "{html}"
        );
    }
}

#[tokio::test]
async fn every_asset_is_served_with_its_type_gzipped_and_cached_by_etag() {
    let server = TestServer::start_on(Backend::Sqlite).await;
    let (mut raw, mut compressed) = (0, 0);
    for asset in ASSETS {
        let path = format!("/console/{}", asset.path);
        let plain = fetch(&server, &path, &[]).await;
        assert_eq!(plain.status(), StatusCode::OK, "{path}");
        let expected_type = match asset.path.rsplit_once('.').unwrap().1 {
            "html" => "text/html; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "js" => "text/javascript; charset=utf-8",
            other => panic!("an asset of an unexpected kind: {other}"),
        };
        assert_eq!(header(&plain, "content-type"), expected_type, "{path}");
        assert_console_headers(&plain);
        assert!(plain.headers().get("content-encoding").is_none());
        let etag = header(&plain, "etag").to_owned();
        let body = plain.bytes().await.unwrap();
        assert_eq!(&body[..], asset.body, "{path}");
        raw += body.len();

        let gzipped = fetch(&server, &path, &[("accept-encoding", "gzip, br")]).await;
        assert_eq!(gzipped.status(), StatusCode::OK);
        assert_eq!(header(&gzipped, "content-encoding"), "gzip", "{path}");
        assert_eq!(header(&gzipped, "vary"), "Accept-Encoding");
        assert_eq!(header(&gzipped, "content-type"), expected_type);
        let gzip_etag = header(&gzipped, "etag").to_owned();
        assert_ne!(gzip_etag, etag, "two encodings, two entity tags");
        let bytes = gzipped.bytes().await.unwrap();
        compressed += bytes.len();
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, asset.body, "{path}");

        for (tag, encoding) in [(&etag, "identity"), (&gzip_etag, "gzip")] {
            let cached = fetch(
                &server,
                &path,
                &[
                    ("if-none-match", tag.as_str()),
                    ("accept-encoding", encoding),
                ],
            )
            .await;
            assert_eq!(cached.status(), StatusCode::NOT_MODIFIED, "{path} {tag}");
            assert_eq!(header(&cached, "etag"), tag);
            assert!(cached.bytes().await.unwrap().is_empty());
        }
        let stale = fetch(&server, &path, &[("if-none-match", "\"other\"")]).await;
        assert_eq!(stale.status(), StatusCode::OK);
    }
    println!("console assets over HTTP: {raw} bytes, {compressed} bytes gzipped");
    assert!(
        compressed < BUDGET,
        "the console is {compressed} bytes gzipped, over its budget of {BUDGET}"
    );
}

#[tokio::test]
async fn unknown_console_files_are_404_and_pages_redirect_to_their_hash_route() {
    let server = TestServer::start_on(Backend::Sqlite).await;
    for path in [
        "/console/nope.js",
        "/console/pages/",
        "/console/pages/nope.js",
        "/console/index.htm",
        // Percent-decoded by the router, and still not a name in the table.
        "/console/pages/..%2fapp.js",
    ] {
        let response = server.send(server.request(Method::GET, path)).await;
        response.assert_error(404, "PATH_ERROR");
        assert_eq!(
            response.header("content-security-policy"),
            CONTENT_SECURITY_POLICY
        );
    }
    let not_following = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for page in ["keys", "setup/", "inspect"] {
        let response = not_following
            .get(server.url(&format!("/console/{page}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT, "{page}");
        assert_eq!(
            header(&response, "location"),
            format!("/console#/{}", page.trim_end_matches('/'))
        );
    }
}

#[tokio::test]
async fn the_api_around_the_console_behaves_as_before() {
    let server = TestServer::start_on(Backend::Sqlite).await;
    // Not the console: the JSON API's rules.
    for path in ["/consoles", "/v1/console", "/console.js"] {
        server
            .send(server.request(Method::GET, path))
            .await
            .assert_error(404, "PATH_ERROR");
    }
    let html_only = server
        .send(
            server
                .request(Method::GET, "/v1/apps")
                .header("accept", "text/html"),
        )
        .await;
    assert_eq!(html_only.status, StatusCode::NOT_ACCEPTABLE);
    let health = server
        .send(
            server
                .request(Method::GET, "/health")
                .header("accept", "text/html"),
        )
        .await;
    assert_eq!(health.status, StatusCode::NOT_ACCEPTABLE);
    // Another method on a console path: the API's 405, with Allow.
    for path in ["/console", "/console/app.js"] {
        let response = server.send(server.request(Method::POST, path)).await;
        response.assert_error(405, "METHOD_NOT_ALLOWED");
        assert_eq!(response.header("allow"), "GET,HEAD");
    }
    // HEAD: the headers without the body.
    let head = server
        .request(Method::HEAD, "/console")
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header(&head, "content-type"), "text/html; charset=utf-8");
    assert!(head.bytes().await.unwrap().is_empty());
    // The console needs no token; the API still does.
    server
        .send(server.request(Method::GET, "/v1/apps"))
        .await
        .assert_error(401, "NOT_AUTHORIZED");
}
