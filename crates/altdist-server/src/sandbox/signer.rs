//! Which app a token speaks for: the key's app, the request's `appId`, or the app its `iss`
//! names; and whether that makes it a web-distribution or a marketplace install.

use altdist::TokenKind;
use altdist::resource::{AppId, IssuerId};

use super::keys::CachedKey;
use crate::db::{self, Db};

/// An app as the checks need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AppInfo {
    pub(super) id: String,
    pub(super) bundle_id: String,
    pub(super) marketplace: bool,
}

impl From<db::apps::AppRow> for AppInfo {
    fn from(row: db::apps::AppRow) -> Self {
        Self {
            id: row.id,
            bundle_id: row.bundle_id,
            marketplace: row.marketplace,
        }
    }
}

/// Which app a token is checked against, or why there is none.
pub(super) enum Signer {
    /// Web distribution: `iss` and `bid` must be this app's.
    Web(AppInfo),
    /// Alternative marketplace: `iss` must be this marketplace app; `bid` only well-formed.
    Marketplace(AppInfo),
    /// No app to check against; the `app` check fails with this reason.
    Unknown(String),
}

impl Signer {
    pub(super) fn app(&self) -> Option<&AppInfo> {
        match self {
            Self::Web(app) | Self::Marketplace(app) => Some(app),
            Self::Unknown(_) => None,
        }
    }
}

/// The app the token speaks for: the key's app when the key is app-specific, else `appId`, else
/// the app the token's `iss` names.
pub(super) async fn find_signer(
    db: &Db,
    account: &IssuerId,
    key: Option<&CachedKey>,
    app_id: Option<&str>,
    iss: Option<&str>,
    kind: TokenKind,
) -> db::Result<(Signer, Option<String>)> {
    let mut app_id_problem = None;
    let app = if let Some(app) = key.and_then(|key| key.app.clone()) {
        if let Some(requested) = app_id.filter(|requested| *requested != app.id) {
            app_id_problem = Some(format!(
                "appId is {requested}, but the key is specific to the app {}; an app-specific key signs for its app only",
                app.id
            ));
        }
        Some(app)
    } else if let Some(requested) = app_id {
        let found = if AppId::is_well_formed(requested) {
            db::apps::find(db, account, requested)
                .await?
                .map(AppInfo::from)
        } else {
            None
        };
        if found.is_none() {
            app_id_problem = Some(format!(
                "there is no app {requested:?} in your account; list your apps with GET /v1/apps"
            ));
        }
        found
    } else {
        match iss.filter(|iss| AppId::is_well_formed(iss)) {
            Some(iss) => db::apps::find(db, account, iss).await?.map(AppInfo::from),
            None => None,
        }
    };
    let key_scope = match key {
        Some(key) if key.app.is_some() => "app-specific key",
        Some(_) => "account-wide key",
        None => "key unknown",
    };
    let signer = match app {
        None if app_id_problem.is_some() => {
            Signer::Unknown("no app to check bid and iss against (see the appId check)".to_owned())
        }
        None => Signer::Unknown(format!(
            "the token's iss ({}) names no app of your account{}; send appId, the Apple id of the app, to say which app the token is for",
            iss.unwrap_or("missing"),
            if key.is_some() {
                " and the key is account-wide"
            } else {
                ""
            }
        )),
        Some(app) if app.marketplace => Signer::Marketplace(app),
        Some(app) if kind == TokenKind::Marketplace => Signer::Unknown(format!(
            "the app {} ({}) is not a marketplace app; marketplace tokens are signed for a marketplace app (altdist admin app create --marketplace) [{key_scope}]",
            app.id, app.bundle_id
        )),
        Some(app) => Signer::Web(app),
    };
    Ok((signer, app_id_problem))
}

pub(super) fn describe_signer(signer: &Signer, key: Option<&CachedKey>) -> Result<String, String> {
    let scope = match key {
        Some(key) if key.app.is_some() => "the key is app-specific",
        Some(_) => "the key is account-wide",
        None => "the key is unknown",
    };
    match signer {
        Signer::Web(app) => Ok(format!(
            "web distribution: app {} ({}); {scope}; iss and bid must be this app's",
            app.id, app.bundle_id
        )),
        Signer::Marketplace(app) => Ok(format!(
            "alternative marketplace: marketplace app {} ({}); {scope}; iss must be this app, bid only a well-formed bundle id",
            app.id, app.bundle_id
        )),
        Signer::Unknown(reason) => Err(reason.clone()),
    }
}
