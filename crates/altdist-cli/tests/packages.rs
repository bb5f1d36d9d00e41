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
    /// Version 1.1.0's build.
    earlier: Vec<u8>,
    /// Version 1.2.0's build: 1.1.0's with changes.
    phone: Vec<u8>,
}

/// A server with an app, its key, a version 1.1.0, a version 1.2.0 of one variant with a delta
/// from 1.1.0 (computed by altdist), and 1.2.0's package.
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
    let earlier = app_bytes(3_000_000, 1);
    let mut phone = earlier.clone();
    phone[100_000..100_400].copy_from_slice(&app_bytes(400, 2));
    phone.extend_from_slice(&app_bytes(50_000, 3));
    let earlier_path = dir.write("Phone-1.1.0.ipa", &earlier);
    let phone_path = dir.write("Phone.ipa", &phone);
    server.admin(
        &dir,
        &[
            "app",
            "version",
            "create",
            "--app",
            &app,
            "--version",
            "1.1.0",
            "--package",
            &earlier_path.display().to_string(),
        ],
    );
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
        earlier,
        phone,
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

/// The standard `bspatch` (Debian's `bsdiff` package) applies altdist's deltas too; skipped
/// with a notice where it is not installed.
fn bspatch_agrees(setup: &Setup, delta: &std::path::Path) {
    let Ok(found) = std::process::Command::new("sh")
        .args(["-c", "command -v bspatch"])
        .output()
    else {
        return;
    };
    if !found.status.success() {
        eprintln!("NOTICE: bspatch not found (apt-get install bsdiff); checked with qbsdiff only");
        return;
    }
    let old = setup.dir.write("bspatch-old.ipa", &setup.earlier);
    let new = setup.dir.join("bspatch-new.ipa");
    let status = std::process::Command::new("bspatch")
        .arg(&old)
        .arg(&new)
        .arg(delta)
        .status()
        .unwrap();
    assert!(status.success(), "bspatch failed: {status}");
    assert_eq!(std::fs::read(&new).unwrap(), setup.phone);
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
    // The delta altdist computed from 1.1.0's stored file: a bsdiff patch, small, that turns
    // 1.1.0's build into 1.2.0's.
    let delta = file_of(&report, "delta");
    let delta_path = out.join(delta["path"].as_str().unwrap());
    let patch = std::fs::read(&delta_path).unwrap();
    assert!(patch.starts_with(b"BSDIFF40"));
    assert!(
        patch.len() < setup.phone.len() / 10,
        "{} bytes",
        patch.len()
    );
    assert_eq!(
        altdist_server::delta::apply(&setup.earlier, &patch).unwrap(),
        setup.phone
    );
    bspatch_agrees(&setup, &delta_path);
    // The manifest places each file where the package layout says.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["variants"][0]["path"], variant["path"]);
    assert_eq!(manifest["deltas"][0]["fromVersion"], "1.1.0");
    assert_eq!(manifest["deltas"][0]["format"], "BSDIFF40");
    assert_eq!(manifest["deltas"][0]["toSha256"], variant["fileChecksum"]);
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
    let mut damaged = patch.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    std::fs::write(&delta_path, damaged).unwrap();

    let again = fetch(&setup, "site");
    assert_eq!(std::fs::read(&variant_path).unwrap(), setup.phone);
    assert!(!part.exists(), "the .part is renamed into place");
    assert_eq!(std::fs::read(&delta_path).unwrap(), patch);
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
    let setup = setup(&["--download-url-ttl", "10"]);
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

#[test]
fn delta_from_takes_an_earlier_version_and_says_which_exist() {
    let setup = setup(&[]);
    let package = setup.dir.write("Later.ipa", &setup.phone);
    let create = |version: &str, from: &str| {
        setup.dir.altdist(&[
            "admin",
            "--data-dir",
            &setup.server.data_dir.display().to_string(),
            "app",
            "version",
            "create",
            "--app",
            &setup.app,
            "--version",
            version,
            "--package",
            &package.display().to_string(),
            "--delta-from",
            from,
        ])
    };
    let unknown = create("1.3.0", "1.0.0");
    assert!(!unknown.status.success());
    let stderr = util::stderr(&unknown);
    assert!(
        stderr.contains("has no IOS version 1.0.0")
            && stderr.contains("its IOS versions: 1.1.0, 1.2.0"),
        "{stderr}"
    );
    let itself = create("1.3.0", "1.3.0");
    assert!(!itself.status.success());
    assert!(
        util::stderr(&itself).contains("is the version being created"),
        "{}",
        util::describe(&itself)
    );
    // The form that took a file is gone: the file is refused, not taken for a version.
    let old_form = setup.dir.altdist(&[
        "admin",
        "--data-dir",
        &setup.server.data_dir.display().to_string(),
        "app",
        "version",
        "create",
        "--app",
        &setup.app,
        "--version",
        "1.3.0",
        "--package",
        &package.display().to_string(),
        "--delta-from",
        "1.1.0",
        &package.display().to_string(),
    ]);
    assert_eq!(
        old_form.status.code(),
        Some(2),
        "{}",
        util::describe(&old_form)
    );
    assert!(create("1.3.0", "1.2.0").status.success());
}
