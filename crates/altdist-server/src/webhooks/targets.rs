//! Where deliveries may go: the server posts to URLs its callers choose, so it must not become a
//! way into its own machine or network (server-side request forgery).
//!
//! The rule ([`TargetPolicy`]):
//!
//! * by default, only public addresses, over HTTPS;
//! * with `--allow-private-targets`, any address (loopback and private ranges) and `http://`;
//! * a server that listens on loopback only and whose public URL is loopback too (the default
//!   `altdist serve`, `altdist webhooks listen` against it) may also post to loopback addresses,
//!   over `http://` when the host is a loopback address or `localhost`: whoever can reach such a
//!   server is on the machine already. A server behind a proxy has a public URL of its own
//!   (`--public-url`), and so does not.
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

/// Which addresses deliveries may reach, besides public ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Loopback, private and link-local addresses, over `http://` too (`--allow-private-targets`).
    pub private: bool,
    /// Loopback addresses (a server on loopback for local development).
    pub loopback: bool,
}

impl TargetPolicy {
    /// Whether a delivery may connect to `ip`.
    pub fn permits(self, ip: IpAddr) -> bool {
        self.private || is_public(ip) || (self.loopback && is_loopback(ip))
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
                "{name} resolves to {}, a loopback, private or link-local address; webhooks post \
                 to public addresses only unless the server runs with --allow-private-targets",
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
                "{ip} is a loopback, private or link-local address; webhooks post to public \
                 addresses only unless the server runs with --allow-private-targets"
            ));
        }
        if parsed.scheme() == "http" && !self.private {
            let local = match host {
                Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
                _ => address.is_some_and(is_loopback),
            };
            if !(self.loopback && local) {
                return Err(format!(
                    "'{url}' is http://; webhooks are posted over https:// (http:// only to \
                     loopback on a local server, or with --allow-private-targets)"
                ));
            }
        }
        Ok(parsed)
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
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
                    "{host} resolves only to addresses webhooks may not reach (loopback, private \
                     or link-local)"
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

    const PUBLIC: TargetPolicy = TargetPolicy {
        private: false,
        loopback: false,
    };
    const LOCAL: TargetPolicy = TargetPolicy {
        private: false,
        loopback: true,
    };
    const ANY: TargetPolicy = TargetPolicy {
        private: true,
        loopback: false,
    };

    #[test]
    fn public_servers_refuse_local_and_plain_http_targets() {
        for url in [
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://[::1]/hook",
            "https://169.254.169.254/latest",
            "http://93.184.216.34/hook",
            "ftp://example.com/x",
            "not a url",
        ] {
            assert!(PUBLIC.check_literal(url).is_err(), "{url}");
        }
        assert!(PUBLIC.check_literal("https://93.184.216.34/hook").is_ok());
        assert!(PUBLIC.check_literal("https://example.com/hook").is_ok());
    }

    #[test]
    fn a_local_server_reaches_loopback_only() {
        assert!(LOCAL.check_literal("http://127.0.0.1:9000/hook").is_ok());
        assert!(LOCAL.check_literal("http://localhost:9000/hook").is_ok());
        assert!(LOCAL.check_literal("http://[::1]:9000/").is_ok());
        assert!(LOCAL.check_literal("https://10.0.0.1/hook").is_err());
        assert!(LOCAL.check_literal("http://example.com/hook").is_err());
        assert!(ANY.check_literal("http://10.0.0.1/hook").is_ok());
        assert!(ANY.check_literal("http://example.com/hook").is_ok());
    }

    #[tokio::test]
    async fn names_are_checked_by_their_addresses() {
        assert!(PUBLIC.check_url("https://localhost/hook").await.is_err());
        assert!(LOCAL.check_url("https://localhost:1/hook").await.is_ok());
    }
}
