//! The network address a web request came from.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use super::DomainError;

/// The address a request came from, as API Gateway saw the connection. Personal data: logs show
/// [`SourceIp::masked`] (so does `Debug`), and rate limits keep only a hash of
/// [`SourceIp::network`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceIp(IpAddr);

impl SourceIp {
    /// Reads an IPv4 or IPv6 address; an IPv4-mapped IPv6 address is its IPv4 address.
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        raw.trim().parse::<IpAddr>().map(|ip| Self(ip.to_canonical())).map_err(|_| DomainError::InvalidIp)
    }

    /// What one client holds: the address itself in IPv4, its /64 in IPv6 (a home or a phone
    /// gets a whole /64, and could take a new address from it for every request).
    #[must_use]
    pub fn network(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{}/64", Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        }
    }

    /// A log-safe form: `203.0.113.*`, `2001:db8:85a3:*`.
    #[must_use]
    pub fn masked(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                format!("{a}.{b}.{c}.*")
            }
            IpAddr::V6(v6) => {
                let [a, b, c, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:*")
            }
        }
    }
}

impl fmt::Debug for SourceIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceIp({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v4_and_v6() {
        let v4 = SourceIp::parse(" 203.0.113.7 ").unwrap();
        assert_eq!((v4.network(), v4.masked()), ("203.0.113.7".into(), "203.0.113.*".into()));
        assert_eq!(format!("{v4:?}"), "SourceIp(203.0.113.*)");
        assert_eq!(SourceIp::parse("::ffff:203.0.113.7").unwrap(), v4);

        let v6 = SourceIp::parse("2001:db8:85a3:42:1:2:3:4").unwrap();
        assert_eq!(v6.network(), "2001:db8:85a3:42::/64");
        assert_eq!(v6.masked(), "2001:db8:85a3:*");
        // Another address of the same /64 is the same client.
        assert_eq!(SourceIp::parse("2001:db8:85a3:42:ffff::9").unwrap().network(), v6.network());
        assert_ne!(SourceIp::parse("2001:db8:85a3:43::1").unwrap().network(), v6.network());

        for bad in ["", "unknown", "203.0.113", "203.0.113.7, 10.0.0.1", "1.2.3.4:80", "<script>"] {
            assert_eq!(SourceIp::parse(bad), Err(DomainError::InvalidIp), "{bad}");
        }
    }
}
