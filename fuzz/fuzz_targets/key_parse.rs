//! Every spelling `PublicKey` and `PrivateKey` read: PEM (lenient), DER SPKI, SEC1, PKCS#8, the
//! bare point, and the file readers that tell PEM from DER. Whatever parses writes back in its
//! canonical forms, which read back as the same key, in every spelling clients send.
#![no_main]

use altdist::{PrivateKey, PublicKey, pem};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(blocks) = pem::parse_all(&text) {
        for block in &blocks {
            let canonical = pem::encode(&block.label, &block.der);
            let again = pem::parse_all(&canonical).expect("a canonical PEM block reads back");
            assert_eq!(again, [block.clone()], "{canonical}");
        }
    }
    for key in [
        PublicKey::from_pem(&text),
        PublicKey::from_spki_der(data),
        PublicKey::from_uncompressed_point(data),
        PublicKey::from_public_or_private_bytes(data),
    ]
    .into_iter()
    .flatten()
    {
        check_public(&key);
    }
    for key in [PrivateKey::from_pem(&text), PrivateKey::from_der(data)]
        .into_iter()
        .flatten()
    {
        check_private(&key);
    }
    if let Ok(key) = PrivateKey::from_bytes(data) {
        check_private(&key);
        // A key file holding a private key is read for its public half too.
        let public = PublicKey::from_public_or_private_bytes(data)
            .expect("a private key file reads as its public half");
        assert_eq!(&public, key.public_key());
    }
});

fn check_public(key: &PublicKey) {
    let pem = key.to_pem();
    for spelling in [
        pem.clone(),
        pem.replace('\n', ""),
        pem.replace('\n', "\r\n"),
        pem.replace('\n', "\\n"),
        format!("\"{}\"", pem.trim_end()),
    ] {
        assert_eq!(
            PublicKey::from_pem(&spelling).ok().as_ref(),
            Some(key),
            "{spelling:?}"
        );
    }
    assert_eq!(
        PublicKey::from_spki_der(key.spki_der()).ok().as_ref(),
        Some(key)
    );
    assert_eq!(
        PublicKey::from_uncompressed_point(key.uncompressed_point())
            .ok()
            .as_ref(),
        Some(key)
    );
    assert_eq!(
        PublicKey::from_public_or_private_bytes(key.spki_der())
            .ok()
            .as_ref(),
        Some(key)
    );
    assert!(
        PrivateKey::from_pem(&pem).is_err(),
        "a public key is no private key"
    );
}

fn check_private(key: &PrivateKey) {
    let sec1 = key.to_sec1_pem().expect("a parsed key exports as SEC1");
    let pkcs8 = key.to_pkcs8_pem().expect("a parsed key exports as PKCS#8");
    for pem in [&sec1, &pkcs8] {
        let again = PrivateKey::from_pem(pem).expect("an exported key reads back");
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(
            again.to_sec1_pem().ok().as_ref(),
            Some(&sec1),
            "one SEC1 form"
        );
        assert!(
            PublicKey::from_pem(pem).is_err(),
            "a private key is no public key"
        );
    }
    let signature = key.sign(b"altdist").expect("a parsed key signs");
    assert!(key.public_key().verify(b"altdist", &signature));
    check_public(key.public_key());
}
