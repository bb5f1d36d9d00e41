//! Who a request acts as: the API key, its account and its role.

use altdist::resource::{ApiKeyId, IssuerId};

use crate::error::ApiError;

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Read everything, create and delete keys and domains.
    Admin,
    /// Read everything (see docs/API.md for why it may not write keys).
    AppManager,
    /// Read everything.
    Developer,
}

impl Role {
    /// The stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "ADMIN",
            Self::AppManager => "APP_MANAGER",
            Self::Developer => "DEVELOPER",
        }
    }

    /// Every role, in the order of their power.
    pub const ALL: [Self; 3] = [Self::Admin, Self::AppManager, Self::Developer];

    /// Parses a stored or typed name (`ADMIN`, `APP_MANAGER`, `DEVELOPER`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ADMIN" => Some(Self::Admin),
            "APP_MANAGER" => Some(Self::AppManager),
            "DEVELOPER" => Some(Self::Developer),
            _ => None,
        }
    }

    /// Whether the role may create and delete alternative distribution keys and domains.
    pub fn may_manage_keys(self) -> bool {
        matches!(self, Self::Admin)
    }
}

/// The authenticated API key a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The API key.
    pub api_key: ApiKeyId,
    /// Its account: every query is limited to it.
    pub account: IssuerId,
    /// Its role.
    pub role: Role,
}

impl Caller {
    /// Refuses with 403 unless the role may create and delete keys and domains.
    pub fn require_key_management(&self, what: &str) -> Result<(), ApiError> {
        if self.role.may_manage_keys() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the API key {} has the role {}; {what} needs the role ADMIN",
                self.api_key,
                self.role.as_str()
            )))
        }
    }
}
