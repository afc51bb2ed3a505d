//! Keyed pseudonyms (HMAC-SHA256, issue #17): one value gives one pseudonym
//! under one key, so records stay linkable (the same client address, the
//! same erased patient), and no one without the key can tell what a
//! pseudonym stands for, not even by trying every IPv4 address.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;

#[derive(Clone)]
pub struct Pseudonyms {
    key: Arc<[u8; 32]>,
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonyms(..)")
    }
}

impl Pseudonyms {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key: Arc::new(key) }
    }

    /// The pseudonym of `value` for `purpose` (a purpose separates uses of
    /// the key: a client address and a patient reference never collide):
    /// 24 hex digits (96 bits).
    pub fn of(&self, purpose: &str, value: &str) -> String {
        // HMAC pads a key to the block size with zeros: the 32 bytes in a
        // 64-byte block are the same key, taken without a fallible call.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&self.key[..]);
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..12])
    }

    /// How a client address is stored (audit rows, throttles): `ip:` and
    /// its pseudonym.
    pub fn client_addr(&self, ip: &str) -> String {
        format!("ip:{}", self.of("client-addr", ip))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;

    #[test]
    fn one_value_one_pseudonym_per_key_and_purpose() {
        let a = Pseudonyms::new([1; 32]);
        let b = Pseudonyms::new([2; 32]);
        assert_eq!(a.of("p", "203.0.113.7"), a.of("p", "203.0.113.7"));
        assert_ne!(a.of("p", "203.0.113.7"), a.of("p", "203.0.113.8"));
        assert_ne!(a.of("p", "203.0.113.7"), a.of("q", "203.0.113.7"));
        assert_ne!(a.of("p", "203.0.113.7"), b.of("p", "203.0.113.7"));
        let c = a.client_addr("203.0.113.7");
        assert!(c.starts_with("ip:") && c.len() == 27 && !c.contains("203"), "{c}");
        // The same as HMAC-SHA256 keyed with the 32 bytes as they are.
        let mut m = Hmac::<Sha256>::new_from_slice(&[1; 32]).unwrap();
        m.update(b"p\x00203.0.113.7");
        assert_eq!(a.of("p", "203.0.113.7"), hex::encode(&m.finalize().into_bytes()[..12]));
    }
}
