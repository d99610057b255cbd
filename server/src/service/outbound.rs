//! Outbound HTTP to addresses that users choose (webhooks), so a signed-in user cannot make
//! Uplift reach what only Uplift can reach (the cloud metadata service, the database's host,
//! loopback ports): server-side request forgery.
//!
//! A webhook's host is resolved once, by [`CheckedResolver`]; addresses that are not public
//! are dropped unless an admin allowed their network in `WebhookAllowedNetworks`, and the
//! connection goes to an address that passed. An address in the URL itself is checked by
//! [`check_url`]. No redirect is followed and no proxy from the environment is used. The
//! error a delivery records says what kind of failure it was (refused address, no connection,
//! timeout, HTTP status), never what answered inside.
//!
//! Not here: what is sent and when (`notify`), the engine feed (admin-chosen; `engine`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

/// Whether an address is on the public internet: not loopback, private, link-local, shared
/// (CGNAT), multicast, documentation, benchmarking, reserved or unspecified. An IPv4 address
/// inside IPv6 (mapped, NAT64) is judged as IPv4.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [first, second, third, _] = a.octets();
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_multicast()
        || a.is_broadcast()
        || a.is_documentation()
        || first == 0
        || first >= 240
        // 100.64.0.0/10, shared address space (carrier-grade NAT)
        || (first == 100 && (64..128).contains(&second))
        // 192.0.0.0/24, IETF protocol assignments
        || (first == 192 && second == 0 && third == 0)
        // 198.18.0.0/15, benchmarking
        || (first == 198 && (18..20).contains(&second)))
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    if let Some(v4) = a.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = a.segments();
    // 64:ff9b::/96, NAT64: the IPv4 address in its last 32 bits decides.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [.., a, b, c, d] = a.octets();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(a.is_unspecified()
        || a.is_loopback()
        || a.is_multicast()
        // fc00::/7, unique local
        || (segments[0] & 0xfe00) == 0xfc00
        // fe80::/10, link-local
        || (segments[0] & 0xffc0) == 0xfe80
        // 2001:db8::/32, documentation
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)
        // ::/96, IPv4-compatible (deprecated) and other reserved low addresses
        || segments[..6] == [0, 0, 0, 0, 0, 0])
}

/// The networks an admin allowed beyond the public internet (`WebhookAllowedNetworks`).
#[derive(Clone, Debug, Default)]
pub struct Allowed(pub Vec<IpNet>);

impl Allowed {
    pub fn permits(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        is_public(address) || self.0.iter().any(|network| network.contains(&address))
    }
}

/// Why a webhook was not sent or not accepted; the text is what the delivery records.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("{0:?} is not an http:// or https:// URL with a host")]
    BadUrl(String),
    #[error(
        "refused: {host} is not a public address; an admin can allow its network in \
         WebhookAllowedNetworks"
    )]
    NotAllowed { host: String },
    #[error("the webhook's host name does not resolve")]
    Unresolved,
    #[error("the webhook could not be connected to")]
    Connect,
    #[error("the webhook did not answer in time")]
    Timeout,
    #[error("the webhook answered HTTP {0}")]
    Status(u16),
    #[error("the webhook answered HTTP {0}; redirects are not followed")]
    Redirect(u16),
    #[error("the request to the webhook failed")]
    Other,
    #[error("no HTTP client: {0}")]
    Client(String),
}

/// The host of an http(s) URL, and the address when the host is one.
fn host_of(url: &str) -> Result<(String, Option<IpAddr>), OutboundError> {
    let bad = || OutboundError::BadUrl(url.to_string());
    let parsed = reqwest::Url::parse(url).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad());
    }
    match parsed.host().ok_or_else(bad)? {
        url::Host::Domain(name) => Ok((name.to_string(), None)),
        url::Host::Ipv4(v4) => Ok((v4.to_string(), Some(IpAddr::V4(v4)))),
        url::Host::Ipv6(v6) => Ok((v6.to_string(), Some(IpAddr::V6(v6)))),
    }
}

/// Checks a webhook URL before it is stored or sent: http(s), a host, and when the host is an
/// address, an allowed one. Names are checked when they are resolved, at each delivery.
pub fn check_url(url: &str, allowed: &Allowed) -> Result<(), OutboundError> {
    match host_of(url)? {
        (host, Some(address)) if !allowed.permits(address) => {
            Err(OutboundError::NotAllowed { host })
        }
        _ => Ok(()),
    }
}

/// Resolves a webhook's host name and keeps only allowed addresses: the client connects to
/// one of those, never to an address it did not check.
struct CheckedResolver {
    allowed: Arc<Allowed>,
}

/// A name whose every address was refused (found again in the error's sources).
#[derive(Debug, thiserror::Error)]
#[error("{0} resolves to no allowed address")]
struct Refused(String);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|address| allowed.permits(address.ip()))
                .collect();
            if kept.is_empty() {
                return Err(Box::new(Refused(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The client webhooks are sent with: the checked resolver, no redirects, no proxy.
pub struct WebhookClient {
    client: reqwest::Client,
    allowed: Arc<Allowed>,
}

impl WebhookClient {
    pub fn new(allowed: Allowed, timeout: Duration) -> Result<WebhookClient, OutboundError> {
        let allowed = Arc::new(allowed);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(CheckedResolver {
                allowed: allowed.clone(),
            }))
            .build()
            .map_err(|e| OutboundError::Client(e.to_string()))?;
        Ok(WebhookClient { client, allowed })
    }

    /// POSTs a JSON `body` with the given headers; `Ok` only for a 2xx answer.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: String,
    ) -> Result<(), OutboundError> {
        // An address in the URL is never resolved: check it here (names: the resolver).
        check_url(url, &self.allowed)?;
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|e| classify(&e, url))?;
        outcome(response.status())
    }
}

/// What kind of failure a request error was, without what answered.
fn classify(error: &reqwest::Error, url: &str) -> OutboundError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if cause.downcast_ref::<Refused>().is_some() {
            let host = host_of(url).map(|(host, _)| host).unwrap_or_default();
            return OutboundError::NotAllowed { host };
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::NotFound
                || io.to_string().contains("failed to lookup")
            {
                return OutboundError::Unresolved;
            }
        }
        source = cause.source();
    }
    if error.is_timeout() {
        OutboundError::Timeout
    } else if error.is_connect() {
        OutboundError::Connect
    } else {
        OutboundError::Other
    }
}

/// An answer's status as the delivery's outcome.
fn outcome(status: reqwest::StatusCode) -> Result<(), OutboundError> {
    if status.is_success() {
        Ok(())
    } else if status.is_redirection() {
        Err(OutboundError::Redirect(status.as_u16()))
    } else {
        Err(OutboundError::Status(status.as_u16()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "127.8.9.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "::127.0.0.1",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip(internal)), "{internal}");
        }
        for public in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn allowed_networks_open_only_themselves() {
        let allowed = Allowed(vec!["10.20.0.0/16".parse().unwrap()]);
        assert!(allowed.permits(ip("10.20.3.4")));
        assert!(allowed.permits(ip("::ffff:10.20.3.4")));
        assert!(!allowed.permits(ip("10.21.0.1")));
        assert!(!allowed.permits(ip("127.0.0.1")));
        assert!(allowed.permits(ip("8.8.8.8")));
    }

    #[test]
    fn urls_with_internal_addresses_are_refused_and_names_wait_for_resolution() {
        let none = Allowed::default();
        for url in [
            "http://127.0.0.1:9/x",
            "http://10.0.0.1/",
            "http://172.16.0.1/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/",
            "http://[::ffff:7f00:1]/",
            "http://0x7f000001/",
            "http://2130706433/",
        ] {
            assert!(
                matches!(check_url(url, &none), Err(OutboundError::NotAllowed { .. })),
                "{url}"
            );
        }
        assert!(check_url("https://hooks.example.com/x", &none).is_ok());
        assert!(matches!(
            check_url("ftp://example.com/", &none),
            Err(OutboundError::BadUrl(_))
        ));
        let loopback = Allowed(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(check_url("http://127.0.0.1:9/x", &loopback).is_ok());
    }
}
