//! `altdist admin app version create` and `altdist packages fetch` against a real `altdist
//! serve`: the newcomer's flow of issue #16, an interrupted fetch resumed, a damaged file
//! fetched again, and an expiring URL read again.

mod util;

use std::os::unix::fs::PermissionsExt as _;

use altdist::test_keys;
use serde_json::Value;
use util::{Dir, TestServer};

/// Distinct bytes standing in for an app build.
fn app_bytes(size: usize, seed: u8) -> Vec<u8> {
    let mut state = u32::from(seed) | 1;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

struct Setup {
    dir: Dir,
    server: TestServer,
    app: String,
    phone: Vec<u8>,
    delta: Vec<u8>,
}

/// A server with an app, its key, a version of one variant and one delta, and its package.
fn setup(extra: &[&str]) -> Setup {
    let dir = Dir::new();
    let server = TestServer::start(&dir, extra);
    let app = server.create_app(&dir, "Packaged", "com.example.packaged");
    dir.write("public_key.pem", test_keys::PUBLIC);
    dir.altdist_ok(&[
        "keys",
        "create",
        "--app",
        &app,
        "--credentials",
        &server.credentials(),
        "--output",
        "json",
    ]);
    let phone = app_bytes(3_000_000, 1);
    let delta = app_bytes(400_000, 2);
    let phone_path = dir.write("Phone.ipa", &phone);
    let delta_path = dir.write("Delta.ipa", &delta);
    let created = server.admin(
        &dir,
        &[
            "app",
            "version",
            "create",
            "--app",
            &app,
            "--version",
            "1.2.0",
            "--package",
            &phone_path.display().to_string(),
            "--delta-from",
            "1.1.0",
            &delta_path.display().to_string(),
            "--json",
        ],
    );
    let version: Value = serde_json::from_str(&created).expect("version JSON");
    assert_eq!(version["appVersionState"], "READY_FOR_DISTRIBUTION");
    let version_id = version["id"].as_str().expect("version id").to_owned();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime
        .block_on(server.client().create_package(&version_id))
        .expect("POST /v1/alternativeDistributionPackages");
    Setup {
        dir,
        server,
        app,
        phone,
        delta,
    }
}

fn fetch(setup: &Setup, out: &str) -> Value {
    let report = setup.dir.altdist_ok(&[
        "packages",
        "fetch",
        "--app",
        &setup.app,
        "--out",
        &setup.dir.join(out).display().to_string(),
        "--credentials",
        &setup.server.credentials(),
        "--output",
        "json",
    ]);
    serde_json::from_str(&report).expect("fetch report JSON")
}

fn file_of<'a>(report: &'a Value, kind: &str) -> &'a Value {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|file| file["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {report}"))
}

#[test]
fn fetch_lays_out_a_verified_package_and_resumes() {
    let setup = setup(&[]);
    let report = fetch(&setup, "site");
    assert_eq!(report["version"], "1.2.0");
    assert_eq!(report["files"].as_array().unwrap().len(), 3, "{report}");
    let out = setup.dir.join("site");

    let variant = file_of(&report, "variant");
    let variant_path = out.join(variant["path"].as_str().unwrap());
    assert_eq!(std::fs::read(&variant_path).unwrap(), setup.phone);
    let delta = file_of(&report, "delta");
    assert_eq!(
        std::fs::read(out.join(delta["path"].as_str().unwrap())).unwrap(),
        setup.delta
    );
    // The manifest places each file where the package layout says.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["variants"][0]["path"], variant["path"]);
    assert_eq!(manifest["deltas"][0]["fromVersion"], "1.1.0");
    let summary: Value =
        serde_json::from_slice(&std::fs::read(out.join("package.json")).unwrap()).unwrap();
    assert_eq!(summary, report);
    // Key blobs for the license server, readable by their owner only.
    let blob = out.join(variant["keyBlob"].as_str().unwrap());
    assert!(!std::fs::read_to_string(&blob).unwrap().is_empty());
    assert_eq!(
        std::fs::metadata(&blob).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // An interrupted download: half the variant in a .part file, none in place.
    let part = variant_path.with_extension("ipa.part");
    std::fs::write(&part, &setup.phone[..1_500_000]).unwrap();
    std::fs::remove_file(&variant_path).unwrap();
    // A damaged delta.
    let delta_path = out.join(delta["path"].as_str().unwrap());
    let mut damaged = setup.delta.clone();
    damaged[1000] ^= 0xff;
    std::fs::write(&delta_path, damaged).unwrap();

    let again = fetch(&setup, "site");
    assert_eq!(std::fs::read(&variant_path).unwrap(), setup.phone);
    assert!(!part.exists(), "the .part is renamed into place");
    assert_eq!(std::fs::read(&delta_path).unwrap(), setup.delta);
    assert_eq!(again["files"], report["files"]);

    // Run once more: every file is in place and verified, and the run says so.
    let output = setup.dir.altdist(&[
        "packages",
        "fetch",
        "--app",
        &setup.app,
        "--version",
        "1.2.0",
        "--out",
        &out.display().to_string(),
        "--credentials",
        &setup.server.credentials(),
        "--output",
        "table",
    ]);
    assert!(output.status.success(), "{}", util::describe(&output));
    let stdout = util::stdout(&output);
    assert!(stdout.contains("(3 already in place)"), "{stdout}");
}

#[test]
fn fetch_reads_an_expiring_url_again_and_explains_what_is_missing() {
    let setup = setup(&["--download-url-lifetime", "10"]);
    let output = setup.dir.altdist(&[
        "packages",
        "fetch",
        "--app",
        &setup.app,
        "--out",
        &setup.dir.join("site").display().to_string(),
        "--credentials",
        &setup.server.credentials(),
        "--output",
        "json",
    ]);
    assert!(output.status.success(), "{}", util::describe(&output));
    assert!(
        util::stderr(&output).contains("the URL expired; read it again"),
        "{}",
        util::describe(&output)
    );

    let missing = setup.dir.altdist(&[
        "packages",
        "fetch",
        "--app",
        &setup.app,
        "--version",
        "9.9.9",
        "--out",
        &setup.dir.join("other").display().to_string(),
        "--credentials",
        &setup.server.credentials(),
    ]);
    assert!(!missing.status.success());
    assert!(
        util::stderr(&missing).contains("has no App Store version 9.9.9"),
        "{}",
        util::describe(&missing)
    );
}
