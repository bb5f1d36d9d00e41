//! `altdist site check` against the reference site (examples/web-distribution-site) over real
//! HTTPS, with a test CA made here and a real `altdist serve` holding the app, its key and the
//! domain; then one broken site per check, each failing with its own message (issue #15).

mod util;

use std::process::Output;

use altdist::site_check::{CheckStatus, SiteCheckRequest, SiteReport};
use altdist::{PrivateKey, test_keys};
use util::{Dir, TestServer};
use web_distribution_site::{Break, SiteConfig};

const HOST: &str = "apps.example.test";
const BUNDLE_ID: &str = "com.example.web";

/// A server with an app, its uploaded key and (optionally) the site's domain, and a test CA.
struct Setup {
    dir: Dir,
    server: TestServer,
    app: String,
    kid: String,
}

impl Setup {
    fn new(register_domain: bool) -> Self {
        let dir = Dir::new();
        let server = TestServer::start(&dir, &[]);
        let app = server.create_app(&dir, "Web App", BUNDLE_ID);
        dir.write("public_key.pem", test_keys::PUBLIC);
        let credentials = server.credentials();
        let created = dir.altdist_ok(&[
            "keys",
            "create",
            "--app",
            &app,
            "--credentials",
            &credentials,
            "--output",
            "json",
        ]);
        let created: serde_json::Value = serde_json::from_str(&created).expect("key JSON");
        let kid = created["data"]["id"].as_str().expect("key id").to_owned();
        if register_domain {
            dir.altdist_ok(&[
                "domains",
                "add",
                "--domain",
                HOST,
                "--reference-name",
                "Web App site",
                "--credentials",
                &credentials,
                "--output",
                "json",
            ]);
        }
        let (ca, cert, key) =
            web_distribution_site::make_test_certificates(&[HOST.to_owned()]).expect("test CA");
        dir.write("ca.pem", ca);
        dir.write("cert.pem", cert);
        dir.write("key.pem", key);
        Self {
            dir,
            server,
            app,
            kid,
        }
    }

    /// Starts the reference site (with one thing broken) and runs `altdist site check` on it.
    fn check(&self, broken: Option<Break>, extra: &[&str]) -> Output {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let origin = format!("https://{HOST}:{port}");
        let tls = web_distribution_site::tls_config(
            &self.dir.join("cert.pem"),
            &self.dir.join("key.pem"),
        )
        .expect("TLS config");
        let config = SiteConfig {
            public_url: origin.clone(),
            app_id: self.app.clone(),
            bundle_id: BUNDLE_ID.to_owned(),
            kid: self.kid.clone(),
            key: PrivateKey::from_pem(test_keys::SEC1_PRIVATE).expect("test key"),
            broken,
        };
        runtime.spawn(web_distribution_site::serve(listener, tls, config));
        let page = format!("{origin}/");
        let resolve = format!("{HOST}:{port}:127.0.0.1");
        let ca = self.dir.join("ca.pem").display().to_string();
        let credentials = self.server.credentials();
        let mut args = vec![
            "site",
            "check",
            &origin,
            "--page",
            &page,
            "--resolve",
            &resolve,
            "--credentials",
            &credentials,
        ];
        if !extra.contains(&"--no-ca") {
            args.extend(["--ca-cert", &ca]);
        }
        args.extend(extra.iter().filter(|arg| **arg != "--no-ca"));
        let output = self.dir.altdist(&args);
        runtime.shutdown_background();
        output
    }
}

/// Asserts exit 1 and a FAIL line of check `name` holding `needle`.
fn assert_fails(output: &Output, name: &str, needle: &str) {
    let stdout = util::stdout(output);
    assert_eq!(output.status.code(), Some(1), "{}", util::describe(output));
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with(&format!("FAIL {name} ")) && line.contains(needle)),
        "expected a FAIL {name} line with {needle:?}:\n{stdout}"
    );
}

#[test]
fn the_reference_site_passes_every_check() {
    let setup = Setup::new(true);
    let output = setup.check(None, &[]);
    let stdout = util::stdout(&output);
    assert!(output.status.success(), "{}", util::describe(&output));
    for name in [
        "domain",
        "well-known",
        "url",
        "page-domain",
        "links",
        "package-host",
        "token",
        "nonce",
        "package",
        "asset",
        "restore",
        "updates",
    ] {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(&format!("ok   {name} "))),
            "no ok line for {name}:\n{stdout}"
        );
    }
    assert!(!stdout.contains("FAIL"), "{stdout}");

    let output = setup.check(None, &["--json"]);
    let report: serde_json::Value =
        serde_json::from_str(&util::stdout(&output)).expect("JSON report");
    assert_eq!(report["passed"], true, "{report:#}");
    assert!(report["checks"].as_array().unwrap().len() > 10);
}

#[test]
fn an_unregistered_domain_fails() {
    let setup = Setup::new(false);
    assert_fails(
        &setup.check(None, &[]),
        "domain",
        "expected apps.example.test among the account's alternative distribution domains, found: none",
    );
}

#[test]
fn an_unknown_ca_fails_with_its_cause() {
    let setup = Setup::new(true);
    let output = setup.check(None, &["--no-ca"]);
    assert_fails(&output, "well-known", "UnknownIssuer");
}

#[test]
fn a_redirect_on_the_well_known_file_fails() {
    let setup = Setup::new(true);
    assert_fails(
        &setup.check(Some(Break::RedirectWellKnown), &[]),
        "well-known",
        "found 308 redirecting to /marketplace-kit.json",
    );
}

#[test]
fn a_well_known_file_of_the_wrong_shape_fails() {
    let setup = Setup::new(true);
    let output = setup.check(Some(Break::WellKnownShape), &[]);
    assert_fails(
        &output,
        "well-known",
        "/updates/pollingInterval: required, missing",
    );
    assert_fails(
        &output,
        "well-known",
        "/restore: expected a string, found a number",
    );
}

#[test]
fn an_http_url_in_the_well_known_file_fails() {
    let setup = Setup::new(true);
    let output = setup.check(Some(Break::HttpUrl), &[]);
    assert_fails(&output, "well-known", "/restore: expected an https:// URL");
    assert_fails(&output, "url", "not fetched, expected an https:// URL");
}

#[test]
fn a_package_on_another_host_fails() {
    let setup = Setup::new(true);
    assert_fails(
        &setup.check(Some(Break::PackageHost), &[]),
        "package-host",
        "expected the package on the page's host apps.example.test, found cdn.apps.example.test",
    );
}

#[test]
fn an_expired_token_fails() {
    let setup = Setup::new(true);
    assert_fails(
        &setup.check(Some(Break::ExpiredToken), &[]),
        "token",
        "page token invalid: exp:",
    );
}

#[test]
fn a_token_signed_by_another_key_fails() {
    let setup = Setup::new(true);
    assert_fails(
        &setup.check(Some(Break::OtherKey), &[]),
        "token",
        "page token invalid: signature:",
    );
}

#[test]
fn a_nonce_repeated_across_two_loads_fails() {
    let setup = Setup::new(true);
    assert_fails(
        &setup.check(Some(Break::StaticToken), &[]),
        "nonce",
        "on both loads",
    );
}

#[test]
fn a_restore_answer_missing_a_field_fails() {
    let setup = Setup::new(true);
    assert_fails(
        &setup.check(Some(Break::RestoreMissingField), &[]),
        "restore",
        "/restores/0/installVerificationToken: required, missing",
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = Dir::new();
    let output = dir.altdist(&["site", "check", "http://apps.example.test"]);
    assert_eq!(output.status.code(), Some(2), "{}", util::describe(&output));
    assert!(util::stderr(&output).contains("is not an https:// URL"));
    let output = dir.altdist(&[
        "site",
        "check",
        "https://apps.example.test",
        "--resolve",
        "apps.example.test:443",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", util::describe(&output));
    assert!(util::stderr(&output).contains("is not HOST:PORT:ADDRESS"));
}

#[test]
fn a_sign_in_token_without_oauth_metadata_fails() {
    let setup = Setup::new(true);
    assert_fails(
        &setup.check(Some(Break::SignInWithoutOauth), &[]),
        "oauth",
        "/.well-known/oauth-authorization-server, found 404",
    );
}

/// Serves the reference site for `localhost` (certificate from the setup's CA) and asks the
/// server's sandbox to check it: `POST /sandbox/v1/sites/check`.
fn sandbox_check(setup: &Setup, server: &TestServer, url_host: &str) -> SiteReport {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let (_, cert, key) =
        web_distribution_site::make_test_certificates(&["localhost".to_owned()]).expect("CA");
    setup.dir.write("localhost-cert.pem", cert);
    setup.dir.write("localhost-key.pem", key);
    let tls = web_distribution_site::tls_config(
        &setup.dir.join("localhost-cert.pem"),
        &setup.dir.join("localhost-key.pem"),
    )
    .expect("TLS config");
    let origin = format!("https://{url_host}:{port}");
    let config = SiteConfig {
        public_url: origin.clone(),
        app_id: setup.app.clone(),
        bundle_id: BUNDLE_ID.to_owned(),
        kid: setup.kid.clone(),
        key: PrivateKey::from_pem(test_keys::SEC1_PRIVATE).expect("test key"),
        broken: None,
    };
    runtime.spawn(web_distribution_site::serve(listener, tls, config));
    let request = SiteCheckRequest {
        url: origin.clone(),
        app_id: Some(setup.app.clone()),
        page: Some(format!("{origin}/")),
    };
    let client = server.client();
    let report = runtime
        .block_on(client.check_site(&request))
        .expect("the sandbox answers")
        .value;
    runtime.shutdown_background();
    report
}

fn has_failure(report: &SiteReport, name: &str, needle: &str) -> bool {
    report.checks.iter().any(|check| {
        check.status == CheckStatus::Fail && check.name == name && check.detail.contains(needle)
    })
}

#[test]
fn the_sandbox_refuses_private_targets_by_default() {
    let setup = Setup::new(true);
    let report = sandbox_check(&setup, &setup.server, "localhost");
    assert!(!report.passed);
    assert!(
        has_failure(&report, "well-known", "loopback, private or link-local"),
        "{report:#?}"
    );
    let report = sandbox_check(&setup, &setup.server, "127.0.0.1");
    assert!(
        has_failure(
            &report,
            "well-known",
            "127.0.0.1 is a loopback, private or link-local address"
        ),
        "{report:#?}"
    );
}

#[test]
fn the_sandbox_reaches_private_targets_when_allowed() {
    let setup = Setup::new(true);
    let data = setup.dir.join("data2");
    let server = TestServer::spawn(&data, &["--allow-private-targets"]);
    // Another server, another account: the domain is not registered there, and the site's test
    // CA is not one the server trusts, so the report says both, which shows it was fetched.
    let report = sandbox_check(&setup, &server, "localhost");
    assert!(has_failure(&report, "domain", "found: none"), "{report:#?}");
    assert!(
        has_failure(&report, "well-known", "UnknownIssuer"),
        "{report:#?}"
    );
}

#[test]
fn the_sandbox_wants_a_url() {
    let setup = Setup::new(true);
    let client = setup.server.client();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let request = SiteCheckRequest {
        url: "http://apps.example.test".to_owned(),
        app_id: None,
        page: None,
    };
    let err = runtime
        .block_on(client.check_site(&request))
        .expect_err("an http:// site is refused");
    let message = err.to_string();
    assert!(message.contains("422"), "{message}");
    assert!(message.contains("is not an https:// URL"), "{message}");
}

#[test]
fn failures_are_reported_as_the_device_reads_them() {
    let setup = Setup::new(true);
    // Another app of the account: the site distributes only its own, so restore and updates
    // answer a 404 in `failures` for it, and the page's token speaks for the wrong app.
    let other = setup
        .server
        .create_app(&setup.dir, "Other App", "com.example.other");
    let output = setup.check(None, &["--app", &other]);
    let stdout = util::stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{}", util::describe(&output));
    for name in ["restore", "updates"] {
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(&format!("warn {name} "))
                    && line.contains(&format!(
                        "failures lists app {other} version 2000000001: 404 \"App unavailable.\""
                    ))
                    && line.contains("the device shows \"App Not Available\"")),
            "no failures line for {name}:\n{stdout}"
        );
    }
    assert_fails(&output, "token", "page token invalid: appId:");
}
