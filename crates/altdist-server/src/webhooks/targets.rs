//! Where deliveries may go: the server posts to URLs its callers choose, so it must not become a
//! way into its own machine or network (server-side request forgery).
//!
//! The rule ([`TargetPolicy`]): by default, only public addresses, over HTTPS; with
//! `--allow-private-targets` (`ALTDIST_ALLOW_PRIVATE_TARGETS=1`), any address (loopback and
//! private ranges) and `http://` too, for local development and tests. Nothing else opens a
//! way in: not even a server that listens on loopback reaches loopback without the flag, since
//! whoever creates a webhook need not be on the machine (a proxy in front, a forwarded port).
//!
//! A webhook's URL is checked when it is created or changed (a name is resolved, and every
//! address must be allowed), and again on every delivery: the connection goes only to resolved
//! addresses the policy allows, so a name that later resolves elsewhere (DNS rebinding) is not
//! followed.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use altdist::site_check::is_public;
use url::{Host, Url};

/// How long a create or update waits for the URL's name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Which addresses deliveries may reach, besides public ones over HTTPS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Loopback, private and link-local addresses, over `http://` too (`--allow-private-targets`).
    pub private: bool,
}

/// What every refusal ends with: the way out, for local development and tests.
const ALLOW_HINT: &str = "webhooks post to public addresses over https:// only, unless the \
     server is started with --allow-private-targets (ALTDIST_ALLOW_PRIVATE_TARGETS=1), which also \
     permits loopback, private ranges and http://";

impl TargetPolicy {
    /// Whether a delivery may connect to `ip`.
    pub fn permits(self, ip: IpAddr) -> bool {
        self.private || is_public(ip)
    }

    /// Checks `url` as a webhook's URL, resolving its host: `Err` says why it is refused.
    pub async fn check_url(self, url: &str) -> Result<Url, String> {
        let parsed = self.check_literal(url)?;
        let Some(Host::Domain(name)) = parsed.host() else {
            return Ok(parsed);
        };
        let port = parsed.port_or_known_default().unwrap_or(443);
        let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, port)));
        // A name that does not resolve now may later: its deliveries fail and say so.
        let Ok(Ok(addresses)) = lookup.await else {
            return Ok(parsed);
        };
        let addresses: Vec<SocketAddr> = addresses.collect();
        if let Some(refused) = addresses.iter().find(|address| !self.permits(address.ip())) {
            return Err(format!(
                "{name} resolves to {}, a loopback, private or link-local address; {ALLOW_HINT}",
                refused.ip()
            ));
        }
        Ok(parsed)
    }

    /// The checks that need no name resolution: the URL's shape and scheme, and its host when
    /// that is an address. Deliveries make them again before each request.
    pub fn check_literal(self, url: &str) -> Result<Url, String> {
        let parsed = Url::parse(url).map_err(|err| {
            format!(
                "'{url}' is not an absolute URL ({err}); give one like https://example.com/webhooks"
            )
        })?;
        let host = match parsed.host() {
            Some(host) if matches!(parsed.scheme(), "http" | "https") => host,
            _ => {
                return Err(format!(
                    "'{url}' is not an http(s) URL with a host; give one like https://example.com/webhooks"
                ));
            }
        };
        let address = match host {
            Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
            Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
            Host::Domain(_) => None,
        };
        if let Some(ip) = address
            && !self.permits(ip)
        {
            return Err(format!(
                "{ip} is a loopback, private or link-local address; {ALLOW_HINT}"
            ));
        }
        if parsed.scheme() == "http" && !self.private {
            return Err(format!("'{url}' is http://; {ALLOW_HINT}"));
        }
        Ok(parsed)
    }
}

/// Resolves names to the addresses the policy allows, for the delivery client: the connection
/// goes only to addresses checked here.
#[derive(Debug, Clone, Copy)]
pub(super) struct Resolver(pub TargetPolicy);

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|address| policy.permits(address.ip()))
                .collect();
            if allowed.is_empty() && !all.is_empty() {
                return Err(format!(
                    "{host} resolves only to loopback, private or link-local addresses; {ALLOW_HINT}"
                )
                .into());
            }
            let addresses: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC: TargetPolicy = TargetPolicy { private: false };
    const ANY: TargetPolicy = TargetPolicy { private: true };

    #[test]
    fn by_default_only_public_https_targets() {
        for url in [
            "https://127.0.0.1/hook",
            "http://127.0.0.1:9000/hook",
            "http://localhost:9000/hook",
            "http://[::1]:9000/",
            "https://10.1.2.3/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest",
            "http://93.184.216.34/hook",
            "http://example.com/hook",
            "ftp://example.com/x",
            "not a url",
        ] {
            let refused = PUBLIC.check_literal(url).unwrap_err();
            if url.starts_with("http") {
                assert!(
                    refused.contains("--allow-private-targets"),
                    "{url}: {refused}"
                );
            }
        }
        assert!(PUBLIC.check_literal("https://93.184.216.34/hook").is_ok());
        assert!(PUBLIC.check_literal("https://example.com/hook").is_ok());
    }

    #[test]
    fn allowing_private_targets_allows_every_address_and_http() {
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://localhost:9000/hook",
            "http://[::1]:9000/",
            "http://10.0.0.1/hook",
            "https://192.168.1.1/hook",
            "http://example.com/hook",
        ] {
            assert!(ANY.check_literal(url).is_ok(), "{url}");
        }
        assert!(ANY.check_literal("ftp://example.com/x").is_err());
    }

    #[tokio::test]
    async fn names_are_checked_by_their_addresses() {
        let refused = PUBLIC
            .check_url("https://localhost/hook")
            .await
            .unwrap_err();
        assert!(refused.contains("resolves to"), "{refused}");
        assert!(refused.contains("--allow-private-targets"), "{refused}");
        assert!(ANY.check_url("https://localhost:1/hook").await.is_ok());
    }
}
