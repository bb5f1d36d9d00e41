//! The `altdist` command as a user runs it: exit codes, files, messages, `--json`.

mod util;

use altdist::test_keys;
use util::{Dir, stderr};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

#[cfg(unix)]
#[test]
fn keygen_writes_a_private_file_and_refuses_to_overwrite_it() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = Dir::new();
    dir.altdist_ok(&["keygen"]);
    let mode = std::fs::metadata(dir.join("private_key.pem"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let first = dir.read("private_key.pem");
    assert!(first.starts_with("-----BEGIN EC PRIVATE KEY-----\n"));

    let again = dir.altdist(&["keygen"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert!(
        stderr(&again).contains("hint: pass --force"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        dir.read("private_key.pem"),
        first,
        "the existing key is untouched"
    );

    dir.altdist_ok(&["keygen", "--force"]);
    assert_ne!(dir.read("private_key.pem"), first);
}

#[test]
fn keygen_json_never_contains_the_private_key() {
    let dir = Dir::new();
    let out = json(&dir.altdist_ok(&["keygen", "--out", "k.pem", "--json"]));
    assert_eq!(out["private_key_path"], "k.pem");
    assert!(
        out["public_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----\n")
    );
    assert_eq!(out["fingerprint"].as_str().unwrap().len(), 64);
    assert!(!out.to_string().contains("PRIVATE KEY"));
}

#[test]
fn pubkey_and_fingerprint_of_fixed_keys() {
    let dir = Dir::new();
    dir.write("sec1.pem", test_keys::SEC1_PRIVATE);
    dir.write("pkcs8.p8", test_keys::PKCS8_PRIVATE);
    dir.write("crlf.pem", test_keys::PUBLIC.replace('\n', "\r\n"));
    for input in ["sec1.pem", "pkcs8.p8", "crlf.pem"] {
        assert_eq!(
            dir.altdist_ok(&["pubkey", "--in", input]),
            test_keys::PUBLIC,
            "{input}"
        );
        assert_eq!(
            dir.altdist_ok(&["fingerprint", input]).trim(),
            test_keys::PUBLIC_FINGERPRINT
        );
    }
    dir.altdist_ok(&["pubkey", "--in", "sec1.pem", "--out", "public_key.pem"]);
    assert_eq!(dir.read("public_key.pem"), test_keys::PUBLIC);
    let out = json(&dir.altdist_ok(&["fingerprint", "sec1.pem", "--json"]));
    assert_eq!(out["fingerprint"], test_keys::PUBLIC_FINGERPRINT);
}

#[test]
fn bad_keys_get_one_clear_line_and_exit_2() {
    let dir = Dir::new();
    dir.write("p384.pem", test_keys::P384_PUBLIC);
    dir.write("p384-private.pem", test_keys::P384_PRIVATE);
    dir.write("rsa.pem", test_keys::RSA_PUBLIC);
    dir.write("cert.pem", test_keys::CERTIFICATE);
    dir.write("garbage.pem", "hello");
    let cases = [
        (vec!["fingerprint", "p384.pem"], "P-384"),
        (vec!["fingerprint", "rsa.pem"], "RSA"),
        (vec!["fingerprint", "cert.pem"], "certificate"),
        (vec!["fingerprint", "garbage.pem"], "expected a PEM key"),
        (vec!["fingerprint", "missing.pem"], "missing.pem"),
        (
            vec![
                "token",
                "install",
                "--private-key",
                "p384-private.pem",
                "--kid",
                "k",
                "--iss",
                "1",
                "--bid",
                "a.b",
            ],
            "P-384",
        ),
    ];
    for (args, needle) in cases {
        let output = dir.altdist(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let message = stderr(&output);
        assert!(
            message.starts_with("error: ") && message.contains(needle),
            "{args:?}: {message}"
        );
    }
    dir.write("pub.pem", test_keys::PUBLIC);
    let output = dir.altdist(&[
        "token",
        "install",
        "--private-key",
        "pub.pem",
        "--kid",
        "k",
        "--iss",
        "1",
        "--bid",
        "a.b",
    ]);
    assert!(
        stderr(&output).contains("found a public key where a private key is expected"),
        "{}",
        stderr(&output)
    );
}

/// Key-file errors keep their kind (they were all `Io(InvalidData)` once), so each gets its hint.
// See: issue #13, "Key-file errors keep their kind".
#[test]
fn key_file_errors_get_the_hint_of_their_kind() {
    let dir = Dir::new();
    dir.write("p384.pem", test_keys::P384_PUBLIC);
    dir.write("p384-private.pem", test_keys::P384_PRIVATE);
    dir.write("rsa.pem", test_keys::RSA_PUBLIC);
    dir.write("public_key.pem", test_keys::PUBLIC);
    let install = |key: &'static str| {
        vec![
            "token",
            "install",
            "--private-key",
            key,
            "--kid",
            "k",
            "--iss",
            "1",
            "--bid",
            "a.b",
        ]
    };
    let make_p256 = "hint: make a P-256 key with `altdist keygen`";
    let cases = [
        (vec!["fingerprint", "p384.pem"], "P-384", make_p256),
        (
            vec!["pubkey", "--in", "p384-private.pem"],
            "P-384",
            make_p256,
        ),
        (install("p384-private.pem"), "P-384", make_p256),
        (vec!["fingerprint", "rsa.pem"], "RSA", make_p256),
        (
            install("public_key.pem"),
            "found a public key where a private key is expected",
            "hint: pass the private key file",
        ),
        (
            vec!["fingerprint", "missing.pem"],
            "missing.pem",
            "hint: check the path",
        ),
    ];
    for (args, message, hint) in cases {
        let output = dir.altdist(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = stderr(&output);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {stderr}");
        assert!(
            lines[0].starts_with("error: ") && lines[0].contains(message),
            "{args:?}: {stderr}"
        );
        assert!(lines[1].starts_with(hint), "{args:?}: {stderr}");
    }
    // The file is named once, in front of what is wrong with it.
    let output = dir.altdist(&["fingerprint", "p384.pem"]);
    assert!(
        stderr(&output).starts_with("error: p384.pem: found an EC key on the P-384"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = Dir::new();
    for args in [
        vec!["token", "install"],
        vec!["no-such-command"],
        vec!["token", "verify"],
    ] {
        assert_eq!(dir.altdist(&args).status.code(), Some(2), "{args:?}");
    }
    let output = dir.altdist(&[
        "token",
        "install",
        "--kid",
        "k",
        "--iss",
        "1",
        "--bid",
        "not a bundle",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("is not a bundle id"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn install_token_has_the_contract_claims() {
    let dir = Dir::new();
    dir.write("private_key.pem", test_keys::SEC1_PRIVATE);
    let nonce = "0d3a4b1c-7d2e-4f61-9a8b-3c4d5e6f7a8b";
    let out = json(&dir.altdist_ok(&[
        "token",
        "install",
        "--kid",
        "KEY",
        "--iss",
        "6476788026",
        "--bid",
        "com.example.app",
        "--dtype",
        "redownload",
        "--nonce",
        nonce,
        "--iid",
        "6476788026",
        "--vid",
        "123",
        "--ttl",
        "120",
        "--json",
    ]));
    assert_eq!(
        out["header"],
        serde_json::json!({"alg": "ES256", "kid": "KEY", "typ": "JWT"})
    );
    let claims = &out["claims"];
    assert_eq!(claims["aud"], "AppleDownloadVerification-v1");
    assert_eq!(claims["dtype"], "redownload");
    assert_eq!(claims["nonce"], nonce);
    assert_eq!(claims["vid"], "123");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );

    let fresh = json(&dir.altdist_ok(&[
        "token", "install", "--kid", "K", "--iss", "1", "--bid", "a.b", "--json",
    ]));
    let fresh_nonce = fresh["claims"]["nonce"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(fresh_nonce).is_ok() && fresh_nonce != nonce);
}

#[test]
fn verify_exits_0_when_valid_and_1_listing_every_failure() {
    let dir = Dir::new();
    dir.write("private_key.pem", test_keys::SEC1_PRIVATE);
    dir.write("public_key.pem", test_keys::PUBLIC);
    let token = dir.altdist_ok(&[
        "token",
        "install",
        "--kid",
        "K",
        "--iss",
        "6476788026",
        "--bid",
        "com.example.app",
    ]);
    let token = token.trim();
    dir.altdist_ok(&["token", "verify", token, "--bid", "com.example.app"]);

    let output = dir.altdist(&[
        "token",
        "verify",
        token,
        "--bid",
        "com.other.app",
        "--iss",
        "1",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let report = json(&util::stdout(&output));
    assert_eq!(report["valid"], false);
    assert_eq!(report["kind"], "install");
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|check| check["ok"] == false)
        .map(|check| check["name"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["iss", "bid"]);

    dir.altdist_ok(&["keygen", "--out", "other.pem"]);
    let output = dir.altdist(&["token", "verify", token, "--public-key", "other.pem"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        util::stdout(&output).contains("FAIL signature"),
        "{}",
        util::stdout(&output)
    );
}

#[test]
fn marketplace_token_without_kid_and_with_lifetime_limit() {
    let dir = Dir::new();
    dir.write("private_key.pem", test_keys::SEC1_PRIVATE);
    let out = json(&dir.altdist_ok(&[
        "token",
        "marketplace",
        "--iss",
        "6476788026",
        "--pid",
        "DEV123",
        "--json",
    ]));
    assert_eq!(
        out["header"],
        serde_json::json!({"alg": "ES256", "typ": "JWT"})
    );
    assert_eq!(out["claims"]["aud"], "appstoreconnect-v1");
    let token = out["token"].as_str().unwrap();
    dir.write("public_key.pem", test_keys::PUBLIC);
    let report = dir.altdist_ok(&["token", "verify", token]);
    assert!(report.contains("valid marketplace token"), "{report}");

    let output = dir.altdist(&[
        "token",
        "marketplace",
        "--iss",
        "1",
        "--pid",
        "D",
        "--ttl",
        "604800",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("less than 604800 seconds"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn api_token_from_a_credentials_file_flags_or_environment() {
    let dir = Dir::new();
    dir.write("AuthKey_2X9R4HXF34.p8", test_keys::PKCS8_PRIVATE);
    dir.write("public_key.pem", test_keys::PUBLIC);
    let issuer = "57246542-96fe-1a63-e053-0824d011072a";
    dir.write(
        "credentials.json",
        format!(
            r#"{{"issuer_id":"{issuer}","key_id":"2X9R4HXF34","private_key_path":"AuthKey_2X9R4HXF34.p8","base_url":"http://127.0.0.1:8080"}}"#
        ),
    );
    let out = json(&dir.altdist_ok(&[
        "token",
        "api",
        "--credentials",
        "credentials.json",
        "--json",
    ]));
    assert_eq!(out["header"]["kid"], "2X9R4HXF34");
    assert_eq!(out["claims"]["iss"], issuer);
    assert_eq!(out["claims"]["aud"], "appstoreconnect-v1");
    assert_eq!(
        out["claims"]["exp"].as_i64().unwrap() - out["claims"]["iat"].as_i64().unwrap(),
        1200
    );
    let token = out["token"].as_str().unwrap();
    dir.altdist_ok(&["token", "verify", token, "--kind", "api", "--iss", issuer]);

    let individual = json(&dir.altdist_ok(&[
        "token",
        "api",
        "--key-id",
        "2X9R4HXF34",
        "--private-key",
        "AuthKey_2X9R4HXF34.p8",
        "--individual",
        "--scope",
        "GET /v1/apps",
        "--json",
    ]));
    assert_eq!(individual["claims"]["sub"], "user");
    assert!(individual["claims"].get("iss").is_none());
    assert_eq!(
        individual["claims"]["scope"],
        serde_json::json!(["GET /v1/apps"])
    );

    let too_long = dir.altdist(&[
        "token",
        "api",
        "--credentials",
        "credentials.json",
        "--ttl",
        "1201",
    ]);
    assert_eq!(too_long.status.code(), Some(2));
    assert!(
        stderr(&too_long).contains("at most 1200 seconds"),
        "{}",
        stderr(&too_long)
    );

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_altdist"))
        .args(["token", "api"])
        .current_dir(dir.path())
        .env("ASC_KEY_ID", "2X9R4HXF34")
        .env("ASC_ISSUER_ID", issuer)
        .env("ASC_PRIVATE_KEY", test_keys::PKCS8_PRIVATE)
        .env_remove("ASC_PRIVATE_KEY_PATH")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", util::describe(&output));
}

/// A token shaped as ruby-jwt writes it for fastlane (no `typ`, no `iat`): App Store Connect
/// takes it, so `token verify --kind api` must too, and still hold it to the 20-minute rule.
#[test]
fn api_token_without_iat_or_typ_verifies_and_exp_alone_bounds_it() {
    let dir = Dir::new();
    dir.write("public_key.pem", test_keys::PUBLIC);
    let key = altdist::PrivateKey::from_pem(test_keys::SEC1_PRIVATE).unwrap();
    let mint = |exp_in: i64| {
        let claims = serde_json::json!({
            "iss": "57246542-96fe-1a63-e053-0824d011072a",
            "exp": altdist::jwt::unix_now() + exp_in,
            "aud": "appstoreconnect-v1",
        });
        let header = serde_json::json!({"alg": "ES256", "kid": "2X9R4HXF34"});
        test_keys::sign_raw(&key, &header, &claims)
    };
    let report = dir.altdist_ok(&["token", "verify", "--kind", "api", &mint(1200)]);
    assert!(
        report.contains("valid App Store Connect API token"),
        "{report}"
    );
    let output = dir.altdist(&["token", "verify", "--kind", "api", &mint(3600)]);
    assert_eq!(output.status.code(), Some(1), "{}", util::describe(&output));
    assert!(
        util::stdout(&output).contains("FAIL lifetime  the token expires"),
        "{}",
        util::stdout(&output)
    );
}

/// aws-lc's CPU jitter entropy collector runs on a process's first random number and costs it
/// ~25 ms (issue #14): the workspace builds aws-lc without it (`.cargo/config.toml`), so the
/// operating system seeds its DRBG (docs/SECURITY.md). Without that setting the collector's
/// functions are linked into the binary and this fails.
#[test]
fn the_binary_seeds_randomness_from_the_os_not_a_cpu_jitter_collector() {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_altdist")).unwrap();
    assert!(
        memchr::memmem::find(&binary, b"jent_read_entropy").is_none(),
        "the altdist binary links aws-lc's CPU jitter entropy collector; build it from the repository root so that .cargo/config.toml sets AWS_LC_SYS_NO_JITTER_ENTROPY=1"
    );
}

#[test]
fn serve_takes_download_url_ttl_and_still_its_older_names() {
    let dir = Dir::new();
    let help = dir.altdist(&["serve", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("--download-url-ttl <SECONDS>") && text.contains("ALTDIST_DOWNLOAD_URL_TTL"),
        "{text}"
    );
    assert!(
        !text.contains("lifetime <"),
        "the older name stays hidden: {text}"
    );
    // The older flag is the same option: its value is checked as --download-url-ttl's.
    for flag in ["--download-url-ttl", "--download-url-lifetime"] {
        let output = dir.altdist(&["serve", flag, "0"]);
        assert_eq!(output.status.code(), Some(2), "{flag}");
        let stderr = stderr(&output);
        assert!(
            stderr.contains("'--download-url-ttl <SECONDS>'")
                && stderr.contains("from 1 to 604800"),
            "{flag}: {stderr}"
        );
    }
    // The older variable is read too, and checked the same way, before anything starts.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_altdist"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.join("data"))
        .env_remove("ALTDIST_DOWNLOAD_URL_TTL")
        .env("ALTDIST_DOWNLOAD_URL_LIFETIME", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("invalid ALTDIST_DOWNLOAD_URL_LIFETIME '0'"),
        "{}",
        stderr(&output)
    );
}
