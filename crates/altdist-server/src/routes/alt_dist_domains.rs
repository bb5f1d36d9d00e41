//! `/v1/alternativeDistributionDomains`: see Apple's
//! [Add an alternative distribution domain](https://developer.apple.com/documentation/appstoreconnectapi/post-v1-alternativedistributiondomains).

use crate::jsonapi::Json;
use altdist::resource::{
    AltDistDomain, AltDistDomainAttributes, AltDistDomainCreateRequest, AltDistDomainId,
    AltDistDomainType, CollectionDocument, Document, DocumentLinks, ResourceLinks,
};
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;

use super::created;
use crate::app::AppState;
use crate::auth::Caller;
use crate::db;
use crate::db::alt_dist_domains::AltDistDomainRow;
use crate::error::ApiError;
use crate::extract::{IdPath, JsonBody};
use crate::jsonapi::{self, Param, Params};

const FIELDS: Param = Param::one_of(
    "fields[alternativeDistributionDomains]",
    &["domain", "referenceName", "createdDate"],
);
/// What `GET /v1/alternativeDistributionDomains` takes.
pub const LIST_PARAMS: &[Param] = &[FIELDS, Param::LIMIT, Param::CURSOR];
/// What `GET /v1/alternativeDistributionDomains/{id}` takes.
pub const FIND_PARAMS: &[Param] = &[FIELDS];
const MAX_REFERENCE_NAME: usize = 255;

fn path(id: &str) -> String {
    format!("/v1/alternativeDistributionDomains/{id}")
}

fn resource(state: &AppState, row: AltDistDomainRow, fields: Option<&[String]>) -> AltDistDomain {
    let wants = |field| jsonapi::wants(fields, field);
    let attributes = AltDistDomainAttributes {
        domain: wants("domain").then_some(row.domain),
        reference_name: wants("referenceName").then_some(row.reference_name),
        created_date: wants("createdDate").then_some(row.created_at),
    };
    let any = attributes.domain.is_some()
        || attributes.reference_name.is_some()
        || attributes.created_date.is_some();
    AltDistDomain {
        kind: AltDistDomainType::Value,
        links: Some(ResourceLinks {
            self_link: Some(state.url(&path(&row.id))),
        }),
        id: AltDistDomainId(row.id),
        attributes: any.then_some(attributes),
    }
}

/// `GET /v1/alternativeDistributionDomains`
pub async fn list_alt_dist_domains(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
) -> Result<Json<CollectionDocument<AltDistDomain>>, ApiError> {
    let params = Params::parse(&uri, LIST_PARAMS)?;
    let page = params.page_after()?;
    let fields = params.list(FIELDS.name);
    let total = db::alt_dist_domains::count(&state.db, &caller.account).await?;
    let (rows, next) = db::split_page(
        db::alt_dist_domains::list(&state.db, &caller.account, page).await?,
        page,
    );
    let (links, meta) = jsonapi::paging_after(&state, uri.path(), &params, page, next, total);
    Ok(Json(CollectionDocument {
        data: rows
            .into_iter()
            .map(|row| resource(&state, row, fields.as_deref()))
            .collect(),
        links,
        meta: Some(meta),
    }))
}

/// `GET /v1/alternativeDistributionDomains/{id}`
pub async fn find_alt_dist_domain(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<Json<Document<AltDistDomain>>, ApiError> {
    let params = Params::parse(&uri, FIND_PARAMS)?;
    let fields = params.list(FIELDS.name);
    let row = db::alt_dist_domains::find(&state.db, &caller.account, &id)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(Json(Document {
        data: resource(&state, row, fields.as_deref()),
        links: DocumentLinks {
            self_link: params.self_link(&state, uri.path()),
        },
    }))
}

/// `POST /v1/alternativeDistributionDomains`
pub async fn create_alt_dist_domain(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    Params::parse(&uri, &[])?;
    caller.require_key_management("creating an alternative distribution domain")?;
    let (domain, reference_name) = read_create_request(body)?;
    let id = AltDistDomainId(uuid::Uuid::new_v4().to_string());
    let row = match db::alt_dist_domains::insert(
        &state.db,
        &id,
        &caller.account,
        &domain,
        &reference_name,
    )
    .await
    {
        Ok(row) => row,
        Err(err) if err.is_unique_violation() => {
            let existing =
                db::alt_dist_domains::find_by_domain(&state.db, &caller.account, &domain).await?;
            return Err(ApiError::Conflict {
                code: "ENTITY_ERROR",
                detail: format!(
                    "the domain {domain} is already registered as {}; delete it first to register it again",
                    existing.map_or_else(|| "another domain".to_owned(), |row| row.id)
                ),
                pointer: Some("/data/attributes/domain".to_owned()),
            });
        }
        Err(err) => return Err(err.into()),
    };
    tracing::info!(domain_id = %id, "created an alternative distribution domain");
    let location = state.url(&path(id.as_str()));
    Ok(created(
        &location,
        Document {
            data: resource(&state, row, None),
            links: DocumentLinks {
                self_link: location.clone(),
            },
        },
    ))
}

/// Reads a domain create document: the domain, normalized, and the reference name, trimmed.
pub fn read_create_request(body: Value) -> Result<(String, String), ApiError> {
    let request: AltDistDomainCreateRequest =
        jsonapi::create_document(body, AltDistDomainType::NAME)?;
    let attributes = &request.data.attributes;
    let reference_name = attributes.reference_name.trim();
    let domain = normalize_domain(&attributes.domain)
        .map_err(|why| ApiError::invalid_attribute("/data/attributes/domain", why))?;
    if reference_name.is_empty() || reference_name.chars().count() > MAX_REFERENCE_NAME {
        return Err(ApiError::invalid_attribute(
            "/data/attributes/referenceName",
            format!("referenceName must be 1 to {MAX_REFERENCE_NAME} characters, not blank"),
        ));
    }
    // A name for people has no use for control characters, and a database text column cannot
    // hold NUL.
    if reference_name.chars().any(char::is_control) {
        return Err(ApiError::invalid_attribute(
            "/data/attributes/referenceName",
            "referenceName must not contain control characters (tabs, line breaks, NUL)",
        ));
    }
    Ok((domain, reference_name.to_owned()))
}

/// `DELETE /v1/alternativeDistributionDomains/{id}`
pub async fn delete_alt_dist_domain(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    uri: Uri,
) -> Result<StatusCode, ApiError> {
    Params::parse(&uri, &[])?;
    caller.require_key_management("deleting an alternative distribution domain")?;
    if db::alt_dist_domains::delete(&state.db, &caller.account, &id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&id))
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!(
        "there is no alternative distribution domain with id '{id}' in your account"
    ))
}

/// The domain in lower case, if it is a fully qualified host name: dot-separated labels of
/// letters, digits and inner hyphens, at most 253 characters, with a non-numeric top level.
fn normalize_domain(domain: &str) -> Result<String, String> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let expected = "expected a domain name like example.com";
    if domain.contains("://") || domain.contains('/') {
        return Err(format!(
            "domain '{domain}' looks like a URL; give the host name alone, without scheme or path ({expected})"
        ));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let well_formed = !domain.is_empty()
        && domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
    if well_formed {
        Ok(domain)
    } else {
        Err(format!(
            "domain '{domain}' is not a valid host name; {expected}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_domain;

    #[test]
    fn domains() {
        assert_eq!(normalize_domain("Example.COM").unwrap(), "example.com");
        assert_eq!(
            normalize_domain("apps.example.co.uk.").unwrap(),
            "apps.example.co.uk"
        );
        assert!(normalize_domain("https://example.com").is_err());
        assert!(normalize_domain("localhost").is_err());
        assert!(normalize_domain("-bad.example.com").is_err());
        assert!(normalize_domain("1.2.3.4").is_err());
        assert!(normalize_domain("exa mple.com").is_err());
    }
}
