//! Query strings against each endpoint's declared parameters, cursors, and API token scopes.
//! A refusal is a 400 naming the parameter; the links the server writes read back as the same
//! parameters; a cursor reads back as the position it was written for.
#![no_main]

use altdist_fuzz::assert_client_error;
use altdist_server::ApiError;
use altdist_server::auth::scope_allows;
use altdist_server::jsonapi::paging::CursorKind;
use altdist_server::jsonapi::{Param, ParamKind, Params};
use altdist_server::routes::declared_parameters;
use arbitrary::Arbitrary;
use axum::http::{Method, Uri};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    /// Which endpoint's declaration (one past the last: an endpoint that takes none).
    endpoint: u8,
    position: i64,
    query: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    let declared = declared_parameters();
    let takes: &[Param] = declared
        .get(usize::from(input.endpoint) % (declared.len() + 1))
        .map_or(&[], |(_, _, takes)| takes);
    for kind in [CursorKind::Offset, CursorKind::After] {
        let decoded = kind.decode(&kind.encode(input.position));
        assert_eq!(decoded, (input.position >= 0).then_some(input.position));
        assert!(
            kind.decode(input.query)
                .is_none_or(|position| position >= 0)
        );
    }
    // A request line that is no URI never reaches a handler: hyper answers 400 itself.
    let Ok(uri) = format!("/x?{}", input.query).parse::<Uri>() else {
        return;
    };
    check_scope(&uri);
    let params = match Params::parse(&uri, takes) {
        Ok(params) => params,
        Err(err) => {
            assert_client_error(&err, &["PARAMETER_ERROR"]);
            // `source.parameter` names a parameter of the request, as sent (decoded).
            let (ApiError::ParameterIllegal { parameter, .. }
            | ApiError::ParameterInvalid { parameter, .. }) = &err
            else {
                panic!("not a parameter error: {err:?}");
            };
            assert!(
                form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                    .any(|(name, _)| name == *parameter),
                "{parameter:?} is not a parameter of {uri}"
            );
            return;
        }
    };
    let page = params.page();
    let page_after = params.page_after();
    for err in [page.as_ref().err(), page_after.as_ref().err()]
        .into_iter()
        .flatten()
    {
        assert_client_error(err, &["PARAMETER_ERROR.INVALID"]);
    }
    // The query the server writes in links reads back as the same parameters.
    let link = params.encode(None);
    let again = reparse(&link, takes);
    assert_eq!(again.encode(None), link);
    for param in takes {
        assert_eq!(again.get(param.name), params.get(param.name), "{link}");
    }
    assert_eq!(again.page().ok(), page.ok());
    assert_eq!(again.page_after().ok(), page_after.ok());
    // A next link carries a cursor the same endpoint reads as the position it was written for.
    if takes.iter().any(|param| param.kind == ParamKind::Cursor) {
        let position = input.position.checked_abs().unwrap_or(0);
        let next = reparse(
            &params.encode(Some(&CursorKind::Offset.encode(position))),
            takes,
        );
        if let Ok(page) = next.page() {
            assert_eq!(page.offset, position);
        }
        let next = reparse(
            &params.encode(Some(&CursorKind::After.encode(position))),
            takes,
        );
        if let Ok(page) = next.page_after() {
            assert_eq!(page.after, position);
        }
    }
});

fn reparse(query: &str, takes: &[Param]) -> Params {
    let uri: Uri = format!("/x?{query}")
        .parse()
        .unwrap_or_else(|err| panic!("a link the server writes is a URI ({err}): {query}"));
    Params::parse(&uri, takes)
        .unwrap_or_else(|err| panic!("a link the server writes is accepted ({err}): {query}"))
}

/// A scope entry written by hand, its parameters in another order and encoded another way,
/// covers the request it describes.
fn check_scope(uri: &Uri) {
    let query = uri.query().unwrap_or("");
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    pairs.reverse();
    let rewritten = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let entry = format!("GET {}?{rewritten}", uri.path());
    assert!(
        scope_allows(&[entry.clone()], &Method::GET, uri.path(), uri.query()),
        "{entry} does not cover GET {uri}"
    );
    assert!(!scope_allows(
        &[entry],
        &Method::DELETE,
        uri.path(),
        uri.query()
    ));
}
