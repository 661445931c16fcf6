//! An IP allowlist entry's network (a CIDR), parsed strictly: a bare address is a single host,
//! host bits must be zero, and an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is IPv4, for the
//! networks people type as for the addresses calls come from.

use std::fmt;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    address: IpAddr,
    prefix_len: u8,
}

impl IpNetwork {
    /// A network no caller is inside (the IPv6 documentation range's last host).
    pub const NOWHERE: IpNetwork = IpNetwork {
        address: IpAddr::V6(std::net::Ipv6Addr::new(
            0x2001, 0xdb8, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff,
        )),
        prefix_len: 128,
    };

    pub fn parse(raw: &str) -> Result<IpNetwork, String> {
        let typed = raw.trim();
        if typed.is_empty() {
            return Err("Enter an address or a network, such as 203.0.113.0/24.".to_owned());
        }
        let (address, prefix) = match typed.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (typed, None),
        };
        let address: IpAddr = address.parse().map_err(|_| {
            "This is not an IPv4 or IPv6 address (for example 203.0.113.7 or 2001:db8::/32)."
                .to_owned()
        })?;
        let max = max_prefix(address);
        let prefix_len = match prefix {
            None => max,
            Some(p) if is_canonical_number(p) => {
                p.parse::<u8>().ok().filter(|n| *n <= max).ok_or_else(|| {
                    format!("The length after “/” is 0 to {max} for this address.")
                })?
            }
            Some(_) => return Err(format!("The length after “/” is a number from 0 to {max}.")),
        };
        let (address, prefix_len) = match address {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) if prefix_len >= 96 => (IpAddr::V4(v4), prefix_len - 96),
                Some(_) => {
                    return Err(
                        "An IPv4-mapped network needs a length of 96 or more: write it as IPv4."
                            .to_owned(),
                    );
                }
                None => (address, prefix_len),
            },
            IpAddr::V4(_) => (address, prefix_len),
        };
        let network = IpNetwork {
            address: masked(address, prefix_len),
            prefix_len,
        };
        if network.address != address {
            return Err(format!(
                "{address} has bits set beyond the first {prefix_len}: did you mean {network}?"
            ));
        }
        Ok(network)
    }

    /// Whether a call from this address is inside the network.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.address.is_ipv4()
            && masked(address, self.prefix_len) == self.address
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

fn max_prefix(address: IpAddr) -> u8 {
    if address.is_ipv4() { 32 } else { 128 }
}

/// No sign, no leading zero, digits only.
fn is_canonical_number(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 3
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'))
}

fn masked(address: IpAddr, prefix_len: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn networks_are_written_back_in_canonical_form() {
        for (typed, canonical) in [
            ("203.0.113.0/24", "203.0.113.0/24"),
            (" 203.0.113.7 ", "203.0.113.7/32"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("2001:DB8::/32", "2001:db8::/32"),
            ("2001:db8:0:0::1", "2001:db8::1/128"),
            ("::ffff:10.0.0.0/104", "10.0.0.0/8"),
            ("::ffff:192.0.2.1", "192.0.2.1/32"),
        ] {
            let parsed = IpNetwork::parse(typed).expect(typed);
            assert_eq!(parsed.to_string(), canonical, "{typed}");
        }
    }

    #[test]
    fn anything_loose_is_refused_with_a_reason() {
        for typed in [
            "",
            "10.0.0.1/8",
            "10.0.0.0/33",
            "10.0.0.0/08",
            "10.0.0.0/+8",
            "10.0.0.0/",
            "010.0.0.1",
            "10.0.0",
            "example.com",
            "fe80::1%eth0",
            "::ffff:10.0.0.0/64",
            "2001:db8::/129",
            "10.0.0.0/8\0",
        ] {
            assert!(IpNetwork::parse(typed).is_err(), "{typed:?}");
        }
        assert_eq!(
            IpNetwork::parse("10.0.0.1/8").expect_err("host bits"),
            "10.0.0.1 has bits set beyond the first 8: did you mean 10.0.0.0/8?"
        );
    }

    #[test]
    fn an_ipv4_mapped_caller_is_matched_as_ipv4() {
        let office = IpNetwork::parse("198.51.100.0/24").expect("parses");
        assert!(office.contains(ip("198.51.100.200")));
        assert!(office.contains(ip("::ffff:198.51.100.200")));
        assert!(!office.contains(ip("198.51.101.1")));
        assert!(!office.contains(ip("2001:db8::1")));
        let v6 = IpNetwork::parse("2001:db8:1::/48").expect("parses");
        assert!(v6.contains(ip("2001:db8:1:ffff::9")));
        assert!(!v6.contains(ip("2001:db8:2::1")));
        assert!(!v6.contains(ip("198.51.100.200")));
        let everyone = IpNetwork::parse("0.0.0.0/0").expect("parses");
        assert!(everyone.contains(ip("8.8.8.8")));
        assert!(!everyone.contains(ip("::1")));
    }
}
