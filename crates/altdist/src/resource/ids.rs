//! One newtype per kind of id, so that an app id is never passed where a key id belongs, and
//! one rule per kind of id: `is_well_formed` is what the server's resources, the token checks
//! ([`crate::jwt::verify`]) and the command line all check an id against.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The id as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }
    };
}

id_type!(
    /// An alternative distribution key's id: a UUID chosen by the server, the `kid` of every
    /// install verification token, so it never changes.
    AltDistKeyId
);
id_type!(
    /// An alternative distribution domain's id (a UUID).
    AltDistDomainId
);
id_type!(
    /// An app's Apple id, a numeric string such as `6476788026`.
    AppId
);
id_type!(
    /// An App Store Connect API key id: ten upper-case letters and digits, like `2X9R4HXF34`.
    ApiKeyId
);
id_type!(
    /// An account's issuer id (a UUID), the `iss` of its team keys' tokens.
    IssuerId
);
id_type!(
    /// An app's bundle id, reverse-DNS like `com.example.app`: the `bid` of install tokens.
    BundleId
);

impl AppId {
    /// Whether `id` has the shape of an Apple id: 1 to 19 ASCII digits.
    pub fn is_well_formed(id: &str) -> bool {
        (1..=19).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
    }
}

impl BundleId {
    /// Whether `id` has the shape of a bundle id: reverse-DNS of ASCII letters, digits, `-` and
    /// `.`, with no empty segment.
    pub fn is_well_formed(id: &str) -> bool {
        !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            && id.split('.').all(|segment| !segment.is_empty())
    }
}

impl ApiKeyId {
    /// Whether `id` has the shape of an API key id: ten upper-case ASCII letters and digits.
    pub fn is_well_formed(id: &str) -> bool {
        id.len() == 10
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_as_bare_strings() {
        let id = AppId("6476788026".into());
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"6476788026\"");
    }

    #[test]
    fn apple_ids_are_1_to_19_ascii_digits() {
        for good in ["1", "0", "6476788026", "1234567890123456789"] {
            assert!(AppId::is_well_formed(good), "{good:?}");
        }
        for bad in [
            "",
            "12345678901234567890",
            "12a",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1.0",
            "\u{0663}",
        ] {
            assert!(!AppId::is_well_formed(bad), "{bad:?}");
        }
    }

    #[test]
    fn api_key_ids_are_ten_upper_case_letters_and_digits() {
        for good in ["2X9R4HXF34", "ABCDEFGHIJ", "0123456789"] {
            assert!(ApiKeyId::is_well_formed(good), "{good:?}");
        }
        for bad in [
            "",
            "2X9R4HXF3",
            "2X9R4HXF345",
            "2x9r4hxf34",
            "2X9R4HXF3-",
            "2X9R4HXF3\u{00C4}",
        ] {
            assert!(!ApiKeyId::is_well_formed(bad), "{bad:?}");
        }
    }

    #[test]
    fn bundle_ids_are_reverse_dns() {
        for good in ["a", "com.example.app-1", "COM.Example.App", "1.2.3"] {
            assert!(BundleId::is_well_formed(good), "{good:?}");
        }
        for bad in [
            "",
            ".",
            ".com",
            "com.",
            "com..example",
            "com.example app",
            "com/example",
            "com.example_app",
            "com.\u{00E9}xample",
        ] {
            assert!(!BundleId::is_well_formed(bad), "{bad:?}");
        }
    }
}
