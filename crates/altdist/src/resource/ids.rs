//! One newtype per kind of id, so that an app id is never passed where a key id belongs.

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

impl AppId {
    /// Whether `id` has the shape of an Apple id: 1 to 19 ASCII digits.
    pub fn is_well_formed(id: &str) -> bool {
        (1..=19).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
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
    fn well_formed_ids() {
        assert!(AppId::is_well_formed("6476788026"));
        assert!(!AppId::is_well_formed("64767880261234567890"));
        assert!(!AppId::is_well_formed("12a"));
        assert!(!AppId::is_well_formed(""));
        assert!(ApiKeyId::is_well_formed("2X9R4HXF34"));
        assert!(!ApiKeyId::is_well_formed("2x9r4hxf34"));
        assert!(!ApiKeyId::is_well_formed("2X9R4HXF3"));
    }
}
