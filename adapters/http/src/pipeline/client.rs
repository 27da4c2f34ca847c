//! Who the client is: its address (the TCP peer, or the first
//! `X-Forwarded-For` hop behind a trusted proxy) and its `User-Agent`.

use poem::http::header;
use poem::{Addr, Request};
use std::net::{IpAddr, SocketAddr};

use domain::ClientInfo;

/// Where the client's address is read from.
pub(super) struct ClientAddress {
    /// Whether the first `X-Forwarded-For` entry is the client's address.
    trust_forwarded_for: bool,
}

impl ClientAddress {
    /// `X-Forwarded-For` is only believed when `trust_forwarded_for`:
    /// without a proxy that sets it, any client could claim any address and
    /// escape the per-address throttle.
    pub(super) fn new(trust_forwarded_for: bool) -> Self {
        Self {
            trust_forwarded_for,
        }
    }

    /// The client's IP address, if it has one.
    pub(super) fn ip(&self, req: &Request) -> Option<IpAddr> {
        let forwarded_for = if self.trust_forwarded_for {
            req.headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
        } else {
            None
        };
        client_ip(req.remote_addr(), forwarded_for)
    }
}

/// The client as the domain knows it: the address `ip` and the request's
/// `User-Agent`.
pub(super) fn client_info(req: &Request, ip: Option<IpAddr>, request_id: &str) -> ClientInfo {
    ClientInfo {
        address: ip.map(|ip| ip.to_string()),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
        request_id: Some(request_id.to_owned()),
    }
}

/// The client's address: the first `X-Forwarded-For` entry when one is
/// given (only when the proxy is trusted) and is an IP address, else the
/// TCP peer's IP. Ports are dropped: they change with every connection and
/// would split one client into many for the throttle.
fn client_ip(peer: &Addr, forwarded_for: Option<&str>) -> Option<IpAddr> {
    forwarded_for
        .and_then(first_forwarded_ip)
        .or_else(|| peer.as_socket_addr().map(SocketAddr::ip))
        .map(|ip| ip.to_canonical())
}

/// The first hop of `X-Forwarded-For`: a bare IP, `ip:port`, `[v6]` or
/// `[v6]:port`. Anything else (`unknown`, a name) is no address.
fn first_forwarded_ip(header: &str) -> Option<IpAddr> {
    let first = header.split(',').next()?.trim();
    first
        .parse::<IpAddr>()
        .ok()
        .or_else(|| first.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            first
                .strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Addr {
        Addr::SocketAddr(SocketAddr::from(([10, 0, 0, 7], 51234)))
    }

    fn client_address(peer: &Addr, forwarded_for: Option<&str>) -> Option<String> {
        client_ip(peer, forwarded_for).map(|ip| ip.to_string())
    }

    #[test]
    fn the_address_is_the_peer_ip_without_its_port() {
        assert_eq!(client_address(&peer(), None).as_deref(), Some("10.0.0.7"));
    }

    #[test]
    fn the_first_forwarded_entry_wins_over_the_peer() {
        let forwarded = Some("203.0.113.9, 10.0.0.1");
        assert_eq!(
            client_address(&peer(), forwarded).as_deref(),
            Some("203.0.113.9")
        );
    }

    #[test]
    fn forwarded_entries_with_ports_or_brackets_are_read() {
        assert_eq!(
            first_forwarded_ip("203.0.113.9:443"),
            "203.0.113.9".parse().ok()
        );
        assert_eq!(
            first_forwarded_ip("[2001:db8::1]:80"),
            "2001:db8::1".parse().ok()
        );
        assert_eq!(
            first_forwarded_ip("[2001:db8::1]"),
            "2001:db8::1".parse().ok()
        );
    }

    #[test]
    fn a_forwarded_entry_that_is_no_ip_falls_back_to_the_peer() {
        assert_eq!(
            client_address(&peer(), Some("unknown, 203.0.113.9")).as_deref(),
            Some("10.0.0.7")
        );
        assert_eq!(
            client_address(&peer(), Some("")).as_deref(),
            Some("10.0.0.7")
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_peers_read_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:192.0.2.1]:80".parse().unwrap();
        assert_eq!(
            client_address(&Addr::SocketAddr(mapped), None).as_deref(),
            Some("192.0.2.1")
        );
    }

    #[test]
    fn a_peer_without_an_ip_has_no_address() {
        assert_eq!(client_address(&Addr::default(), None), None);
    }
}
