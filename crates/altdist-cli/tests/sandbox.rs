//! `altdist token verify --server` against a real `altdist serve`: tokens minted by altdist and
//! by openssl alone, checked by the sandbox with the client's credentials.
//!
//! See: issue #6, the sandbox.

mod util;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use util::{Dir, TestServer, der_to_raw, describe, stdout};

/// A server, an app with the key `private_key.pem` uploaded for it, and the key's id.
struct Setup {
    dir: Dir,
    server: TestServer,
    app: String,
    key_id: String,
}

fn setup(marketplace: bool) -> Setup {
    let dir = Dir::new();
    let server = TestServer::start(&dir, &[]);
    let app = if marketplace {
        let out = server.admin(
            &dir,
            &[
                "app",
                "create",
                "--name",
                "Market",
                "--bundle-id",
                "com.example.market",
                "--marketplace",
                "--json",
            ],
        );
        let app: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(app["marketplace"], true);
        app["id"].as_str().unwrap().to_owned()
    } else {
        server.create_app(&dir, "Web App", "com.example.web")
    };
    dir.altdist_ok(&["keygen"]);
    dir.altdist_ok(&["pubkey", "--out", "public_key.pem"]);
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
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let key_id = created["data"]["id"].as_str().unwrap().to_owned();
    Setup {
        dir,
        server,
        app,
        key_id,
    }
}

impl Setup {
    /// `altdist token verify TOKEN --server --credentials ... extra...`.
    fn verify_on_server(&self, token: &str, extra: &[&str]) -> std::process::Output {
        let credentials = self.server.credentials();
        let mut args = vec![
            "token",
            "verify",
            token,
            "--server",
            "--credentials",
            &credentials,
        ];
        args.extend_from_slice(extra);
        self.dir.altdist(&args)
    }

    fn install_token(&self) -> String {
        self.dir
            .altdist_ok(&[
                "token",
                "install",
                "--kid",
                &self.key_id,
                "--iss",
                &self.app,
                "--bid",
                "com.example.web",
            ])
            .trim()
            .to_owned()
    }
}

#[test]
fn token_verify_server_accepts_a_fresh_token_and_reports_its_replay() {
    let setup = setup(false);
    let token = setup.install_token();

    let output = setup.verify_on_server(&token, &[]);
    assert!(output.status.success(), "{}", describe(&output));
    let text = stdout(&output);
    assert!(text.contains("valid install verification token"), "{text}");
    assert!(text.contains("ok   app"), "{text}");

    let output = setup.verify_on_server(&token, &["--json"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["valid"], false);
    let failed: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|check| check["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0]["name"], "nonce");
    assert!(
        failed[0]["detail"]
            .as_str()
            .unwrap()
            .contains("first seen at"),
        "{report}"
    );

    // Offline verification keeps working, and knows nothing of nonces.
    let output = setup.dir.altdist(&["token", "verify", &token]);
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn token_verify_server_names_the_wrong_bid_and_the_wrong_app_id() {
    let setup = setup(false);
    let token = setup.dir.altdist_ok(&[
        "token",
        "install",
        "--kid",
        &setup.key_id,
        "--iss",
        &setup.app,
        "--bid",
        "com.example.other",
    ]);
    let output = setup.verify_on_server(token.trim(), &["--app-id", "12345"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let text = stdout(&output);
    assert!(text.contains("FAIL bid"), "{text}");
    assert!(text.contains("FAIL appId"), "{text}");
    assert!(text.contains("the key is specific to the app"), "{text}");
}

#[test]
fn token_verify_server_checks_a_marketplace_token_without_kid() {
    let setup = setup(true);
    let token = setup.dir.altdist_ok(&[
        "token",
        "marketplace",
        "--iss",
        &setup.app,
        "--pid",
        "DEVTEAM123",
    ]);
    let output = setup.verify_on_server(token.trim(), &[]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        stdout(&output).contains("valid marketplace token"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_token_signed_by_openssl_alone_passes_the_sandbox() {
    let setup = setup(false);
    let now = altdist::jwt::unix_now();
    let header = serde_json::json!({"alg": "ES256", "kid": setup.key_id, "typ": "JWT"});
    let claims = serde_json::json!({
        "iss": setup.app,
        "iat": now,
        "exp": now + 300,
        "aud": "AppleDownloadVerification-v1",
        "bid": "com.example.web",
        "dtype": "redownload",
        "nonce": uuid::Uuid::new_v4().to_string(),
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    setup.dir.write("input.txt", &signing_input);
    let Some(der) =
        setup
            .dir
            .openssl_ok(&["dgst", "-sha256", "-sign", "private_key.pem", "input.txt"])
    else {
        return;
    };
    let token = format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(der_to_raw(&der))
    );

    let output = setup.verify_on_server(&token, &[]);
    assert!(output.status.success(), "{}", describe(&output));

    // The same bytes with one claim changed no longer match openssl's signature.
    let tampered_claims = claims.to_string().replace("redownload", "download");
    let tampered = format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(tampered_claims),
        token.rsplit('.').next().unwrap()
    );
    let output = setup.verify_on_server(&tampered, &[]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        stdout(&output).contains("FAIL signature"),
        "{}",
        stdout(&output)
    );
}
