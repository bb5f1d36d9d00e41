//! `GET /console`: the web console, a client of the public API that runs in the browser.
//!
//! The assets (`crates/altdist-server/console/`) are embedded in the binary: no build step, no
//! CDN. Each is served with a strict Content-Security-Policy (no inline script or style, no
//! other origin), `nosniff`, no referrer, an `ETag` (`no-cache`: the browser revalidates, a
//! `304` costs nothing) and, to clients that take it, gzipped once in memory. The console signs
//! its own API tokens in the browser; the server sees only bearer tokens, as from any client
//! (docs/CONSOLE.md).

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Where the console lives; the JSON `Accept` check lets these paths through.
pub const CONSOLE_PATH: &str = "/console";

/// The policy of every console response: this origin's scripts, styles and API, nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/// The pages of the console's hash router: `/console/keys` redirects to `/console#/keys`.
pub const PAGES: [&str; 6] = ["apps", "keys", "domains", "setup", "inspect", "sign-in"];

/// One embedded file, by its path under `/console/`.
#[derive(Debug)]
pub struct Asset {
    /// The path under `/console/`: `app.js`, `pages/keys.js`.
    pub path: &'static str,
    /// The bytes as written in the repository.
    pub body: &'static [u8],
}

macro_rules! assets {
    ($($path:literal),* $(,)?) => {
        &[$(Asset { path: $path, body: include_bytes!(concat!("../../console/", $path)) }),*]
    };
}

/// Every file of the console; `index.html` is served at `/console` itself.
pub const ASSETS: &[Asset] = assets![
    "index.html",
    "console.css",
    "app.js",
    "api.js",
    "crypto.js",
    "store.js",
    "ui.js",
    "pages/apps.js",
    "pages/domains.js",
    "pages/inspect.js",
    "pages/keys.js",
    "pages/paged.js",
    "pages/setup.js",
    "pages/sign-in.js",
];

impl Asset {
    /// The `Content-Type` its extension calls for.
    pub fn content_type(&self) -> &'static str {
        match self.path.rsplit_once('.').map(|(_, ext)| ext) {
            Some("html") => "text/html; charset=utf-8",
            Some("css") => "text/css; charset=utf-8",
            Some("js") => "text/javascript; charset=utf-8",
            Some("png") => "image/png",
            _ => "application/octet-stream",
        }
    }
}

/// An asset ready to send: its gzip form and the two `ETag`s, computed once.
struct Prepared {
    asset: &'static Asset,
    etag: String,
    gzip: Option<(Vec<u8>, String)>,
}

static PREPARED: LazyLock<Vec<Prepared>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, asset.body);
            let tag: String = digest.as_ref()[..12]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            let gzipped = gzip(asset.body);
            Prepared {
                asset,
                etag: format!("\"{tag}\""),
                // Only where it saves something (a PNG is compressed already).
                gzip: (gzipped.len() < asset.body.len())
                    .then(|| (gzipped, format!("\"{tag}-gz\""))),
            }
        })
        .collect()
});

/// `bytes` gzipped at the best level.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// `GET /console` and `GET /console/`: the page.
pub async fn find_console(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

/// `GET /console/{*path}`: an asset, or a page's deep link redirected to its hash route.
pub async fn find_console_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if PAGES.contains(&path.trim_end_matches('/')) {
        let location = format!("{CONSOLE_PATH}#/{}", path.trim_end_matches('/'));
        return with_console_headers(
            (
                StatusCode::TEMPORARY_REDIRECT,
                [(header::LOCATION, location)],
            )
                .into_response(),
        );
    }
    serve(&path, &headers)
}

fn serve(path: &str, headers: &HeaderMap) -> Response {
    let Some(prepared) = PREPARED.iter().find(|prepared| prepared.asset.path == path) else {
        return with_console_headers(
            ApiError::PathNotFound(format!(
                "the console has no file {CONSOLE_PATH}/{path}; open {CONSOLE_PATH}"
            ))
            .into_response(),
        );
    };
    let gzip = prepared.gzip.as_ref().filter(|_| accepts_gzip(headers));
    let (body, etag, encoding): (&[u8], &str, Option<&str>) = match gzip {
        Some((bytes, etag)) => (bytes, etag, Some("gzip")),
        None => (prepared.asset.body, &prepared.etag, None),
    };
    let mut response = if matches(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = (StatusCode::OK, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(prepared.asset.content_type()),
        );
        if let Some(encoding) = encoding {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    };
    let out = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(etag) {
        out.insert(header::ETAG, etag);
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if prepared.gzip.is_some() {
        out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    with_console_headers(response)
}

/// The headers of every console response, errors and redirects included.
fn with_console_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak comparison, as RFC 9110 asks for GET.
fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

/// Whether `Accept-Encoding` takes gzip (and does not refuse it with `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| {
            crate::negotiation::accepted(value).any(|coding| coding == "gzip" || coding == "*")
        })
}

/// Whether `path` is the console's (the JSON `Accept` check does not apply there).
pub fn is_console_path(path: &str) -> bool {
    path == CONSOLE_PATH
        || path
            .strip_prefix(CONSOLE_PATH)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The console must stay small: every asset gzipped, added up, under 150 KB.
    pub const BUDGET: usize = 150 * 1000;

    #[test]
    fn the_assets_fit_the_size_budget() {
        let raw: usize = ASSETS.iter().map(|asset| asset.body.len()).sum();
        let compressed: usize = ASSETS.iter().map(|asset| gzip(asset.body).len()).sum();
        println!("console assets: {raw} bytes, {compressed} bytes gzipped");
        assert!(
            compressed < BUDGET,
            "the console's assets are {compressed} bytes gzipped, over the budget of {BUDGET}"
        );
    }

    /// No asset names another origin: everything comes from, and goes to, the server itself.
    #[test]
    fn no_asset_names_another_origin() {
        for asset in ASSETS {
            let text = String::from_utf8_lossy(asset.body);
            assert!(
                !text.contains("://"),
                "{} names an absolute URL: {}",
                asset.path,
                text.lines().find(|line| line.contains("://")).unwrap_or("")
            );
            // A protocol-relative URL: `//host` right after a quote, `(` or `=`.
            for (at, _) in text.match_indices("//") {
                let before = text[..at].trim_end().chars().last();
                let after = text[at + 2..].chars().next();
                let quoted = matches!(before, Some('"' | '\'' | '`' | '(' | '='));
                assert!(
                    !(quoted && after.is_some_and(|c| c.is_ascii_alphanumeric())),
                    "{} has a protocol-relative URL at byte {at}",
                    asset.path
                );
            }
        }
    }

    #[test]
    fn every_asset_has_a_content_type() {
        for asset in ASSETS {
            assert_ne!(
                asset.content_type(),
                "application/octet-stream",
                "{}",
                asset.path
            );
        }
    }

    #[test]
    fn html_has_no_inline_script_or_style() {
        let html = String::from_utf8_lossy(ASSETS[0].body);
        assert!(!html.contains("<style"), "inline <style>");
        assert!(!html.contains(" style="), "inline style attribute");
        for (at, _) in html.match_indices(" on") {
            let name: String = html[at + 3..]
                .chars()
                .take_while(char::is_ascii_lowercase)
                .collect();
            assert!(
                !html[at + 3 + name.len()..].starts_with('='),
                "an inline event handler: on{name}="
            );
        }
        for script in html.split("<script").skip(1) {
            let tag = &script[..script.find('>').unwrap()];
            assert!(tag.contains("src="), "inline <script{tag}>");
        }
    }

    #[test]
    fn gzip_is_accepted_unless_refused() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            accepts_gzip(&headers)
        };
        assert!(with("gzip, deflate, br"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(with("*"));
        assert!(!with("br"));
        assert!(!with("gzip;q=0"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn console_paths() {
        assert!(is_console_path("/console"));
        assert!(is_console_path("/console/app.js"));
        assert!(!is_console_path("/consoles"));
        assert!(!is_console_path("/v1/console"));
    }
}
