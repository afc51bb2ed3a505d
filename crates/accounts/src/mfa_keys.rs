//! TOTP secrets at rest (issue #17): sealed with AES-256-GCM under a key
//! from configuration, the key's id stored beside each value so that keys
//! can rotate (`dentex admin rotate-mfa-key` reseals every secret under the
//! current key; the previous keys still open what they sealed meanwhile).
//! The user's id is the associated data: a sealed secret copied to another
//! row does not open.
//!
//! Stored form: `enc1:{key id}:{base64(nonce ‖ ciphertext ‖ tag)}`. A value
//! without the prefix is a secret stored before this existed: it opens as
//! itself, and the rotation reseals it.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use uuid::Uuid;

const PREFIX: &str = "enc1:";

struct Key {
    id: String,
    key: LessSafeKey,
}

/// The current key and the previous ones.
pub struct MfaKeys {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for MfaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaKeys")
            .field("current", &self.current.id)
            .field("previous", &self.previous.iter().map(|k| &k.id).collect::<Vec<_>>())
            .finish()
    }
}

/// Why a stored secret does not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the secret was sealed with key `{0}`, which is not configured")]
    UnknownKey(String),
    #[error("the sealed secret is damaged or belongs to another account")]
    Damaged,
}

fn key(id: &str, b64: &str) -> Result<Key, String> {
    if id.is_empty() || id.contains(':') {
        return Err(format!("key id `{id}`: 1 or more characters, no `:`"));
    }
    let raw = STANDARD
        .decode(b64.trim())
        .map_err(|_| format!("key `{id}`: not base64"))?;
    if raw.len() != 32 {
        return Err(format!(
            "key `{id}`: 32 bytes (base64 of 32 random bytes), not {}",
            raw.len()
        ));
    }
    let unbound = UnboundKey::new(&AES_256_GCM, &raw).map_err(|_| format!("key `{id}`: refused"))?;
    Ok(Key {
        id: id.to_owned(),
        key: LessSafeKey::new(unbound),
    })
}

/// `{id}:{base64}`, as the key file and the previous keys are written.
pub fn parse_pair(s: &str) -> Result<(String, String), String> {
    let (id, b64) = s
        .trim()
        .split_once(':')
        .ok_or_else(|| "a key is written `{id}:{base64 of 32 bytes}`".to_owned())?;
    Ok((id.to_owned(), b64.to_owned()))
}

/// A new key under a random id (`k` and 8 hex digits), written `{id}:{base64}`.
pub fn generate_new() -> String {
    generate(&format!("k{:08x}", rand::rng().random::<u32>()))
}

/// A new key, written `{id}:{base64}`.
pub fn generate(id: &str) -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill(&mut raw);
    format!("{id}:{}", STANDARD.encode(raw))
}

/// The column a sealed value belongs to (part of the associated data: a
/// value moved to the other column, or another account's row, does not open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Secret,
    Pending,
}

fn aad(user: Uuid, column: Column) -> Vec<u8> {
    let name = match column {
        Column::Secret => "mfa_secret",
        Column::Pending => "mfa_pending_secret",
    };
    format!("users.{name}:{user}").into_bytes()
}

impl MfaKeys {
    /// The current key (`id`, base64 of 32 bytes) and the previous ones.
    pub fn new(current: (&str, &str), previous: &[(String, String)]) -> Result<Self, String> {
        let current = key(current.0, current.1)?;
        let previous = previous
            .iter()
            .map(|(id, b64)| key(id, b64))
            .collect::<Result<Vec<_>, _>>()?;
        let mut ids = std::collections::HashSet::new();
        for id in std::iter::once(&current.id).chain(previous.iter().map(|k| &k.id)) {
            if !ids.insert(id.clone()) {
                return Err(format!("key id `{id}` is given twice: each key needs its own id"));
            }
        }
        Ok(Self { current, previous })
    }

    /// The id of the key new secrets are sealed with.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// Seals `secret` for `user`'s `column` under the current key.
    pub fn seal(&self, user: Uuid, column: Column, secret: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill(&mut nonce);
        let mut buf = secret.as_bytes().to_vec();
        // Sealing in place with a fresh 96-bit nonce cannot fail for a
        // secret of a few bytes; an error here is a broken library.
        #[allow(clippy::expect_used, reason = "AES-GCM sealing of a short value does not fail")]
        self.current
            .key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(user, column)),
                &mut buf,
            )
            .expect("AES-256-GCM seal");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        format!("{PREFIX}{}:{}", self.current.id, STANDARD.encode(out))
    }

    /// Opens a stored secret of `user`'s `column` (a value from before
    /// sealing opens as itself).
    pub fn open(&self, user: Uuid, column: Column, stored: &str) -> Result<String, OpenError> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_owned());
        };
        let (id, b64) = rest.split_once(':').ok_or(OpenError::Damaged)?;
        let k = std::iter::once(&self.current)
            .chain(self.previous.iter())
            .find(|k| k.id == id)
            .ok_or_else(|| OpenError::UnknownKey(id.to_owned()))?;
        let raw = STANDARD.decode(b64).map_err(|_| OpenError::Damaged)?;
        if raw.len() < NONCE_LEN {
            return Err(OpenError::Damaged);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Damaged)?;
        let mut buf = sealed.to_vec();
        let plain = k
            .key
            .open_in_place(nonce, Aad::from(aad(user, column)), &mut buf)
            .map_err(|_| OpenError::Damaged)?;
        String::from_utf8(plain.to_vec()).map_err(|_| OpenError::Damaged)
    }

    /// Whether `stored` is sealed under the current key (nothing to reseal).
    pub fn is_current(&self, stored: &str) -> bool {
        stored
            .strip_prefix(PREFIX)
            .and_then(|r| r.split_once(':'))
            .is_some_and(|(id, _)| id == self.current.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(current: &str, previous: &[&str]) -> MfaKeys {
        let (id, b64) = parse_pair(current).expect("pair");
        let prev: Vec<(String, String)> = previous.iter().map(|p| parse_pair(p).expect("pair")).collect();
        MfaKeys::new((&id, &b64), &prev).expect("keys")
    }

    #[test]
    fn sealed_secrets_open_for_their_account_only_and_across_a_rotation() {
        let (a, b) = (generate("k1"), generate("k2"));
        let one = keys(&a, &[]);
        let user = Uuid::now_v7();
        let sealed = one.seal(user, Column::Secret, "JBSWY3DPEHPK3PXP");
        assert!(sealed.starts_with("enc1:k1:"));
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(
            one.open(user, Column::Secret, &sealed).expect("opens"),
            "JBSWY3DPEHPK3PXP"
        );
        // The other column of the same row: it does not open.
        assert!(one.open(user, Column::Pending, &sealed).is_err());
        // Another account's row: it does not open.
        assert!(matches!(
            one.open(Uuid::now_v7(), Column::Secret, &sealed),
            Err(OpenError::Damaged)
        ));
        // Tampered: it does not open.
        let mut bad = sealed.clone();
        bad.pop();
        bad.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(one.open(user, Column::Secret, &bad).is_err());
        // Rotated: k2 current, k1 previous; the old value opens, is not current.
        let two = keys(&b, &[&a]);
        assert_eq!(
            two.open(user, Column::Secret, &sealed).expect("opens"),
            "JBSWY3DPEHPK3PXP"
        );
        assert!(!two.is_current(&sealed));
        assert!(two.is_current(&two.seal(user, Column::Secret, "x")));
        // Without k1 it is an unknown key, said so.
        assert!(
            matches!(keys(&b, &[]).open(user, Column::Secret, &sealed), Err(OpenError::UnknownKey(k)) if k == "k1")
        );
        // A value stored before sealing opens as itself.
        assert_eq!(
            two.open(user, Column::Secret, "JBSWY3DPEHPK3PXP").expect("legacy"),
            "JBSWY3DPEHPK3PXP"
        );
        assert!(!two.is_current("JBSWY3DPEHPK3PXP"));
        // Bad keys are refused with a reason.
        assert!(MfaKeys::new(("k1", "c2hvcnQ="), &[]).is_err());
        assert!(MfaKeys::new(("a:b", &STANDARD.encode([0u8; 32])), &[]).is_err());
        let (id, k) = parse_pair(&a).expect("pair");
        assert!(
            MfaKeys::new((&id, &k), &[(id.clone(), k.clone())]).is_err(),
            "one id twice"
        );
        assert!(generate_new().starts_with('k') && generate_new() != generate_new());
    }
}
