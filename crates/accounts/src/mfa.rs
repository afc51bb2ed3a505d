//! TOTP (RFC 6238: SHA-1, 6 digits, 30-second steps, one step of skew either
//! way) and single-use recovery codes. A code is accepted once: the step it
//! matched is stored and only later steps pass afterwards.

use rand::Rng;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, Builder, Secret, Totp};

pub const ISSUER: &str = "Dentex";
pub const RECOVERY_CODES: usize = 10;

/// A new random 160-bit secret, base32-encoded.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill(&mut bytes);
    Secret::from(bytes).to_base32()
}

fn totp(secret_b32: &str, account: &str) -> Option<Totp> {
    let secret = Secret::try_from_base32(secret_b32).ok()?;
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some(ISSUER))
        .build()
        .ok()
}

/// The `otpauth://` URI an authenticator app scans.
pub fn otpauth_uri(secret_b32: &str, account: &str) -> Option<String> {
    totp(secret_b32, account)?.to_url().ok()
}

/// The step `code` matches now, if it is later than `last_step`.
pub fn check(secret_b32: &str, code: &str, last_step: Option<i64>) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = i64::try_from(totp(secret_b32, "x")?.check_current(&code)?).ok()?;
    match last_step {
        Some(last) if step <= last => None,
        _ => Some(step),
    }
}

/// Ten codes like `k7d2-9xqa-m4ht` (60 bits each), shown to the user once.
pub fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw: String = (0..12)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect();
            format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12])
        })
        .collect()
}

/// How a recovery code is stored: SHA-256 of its normalised form (the codes
/// carry 60 random bits, so a fast hash is enough).
pub fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(norm.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_verify_once_and_uris_name_the_issuer() {
        let s = new_secret();
        let t = totp(&s, "ann@clinic.example").unwrap();
        let code = t.generate_current().to_string();
        let step = check(&s, &code, None).expect("current code passes");
        assert_eq!(
            check(&s, &code, Some(step)),
            None,
            "the same code is not accepted twice"
        );
        assert_eq!(check(&s, "12345", None), None);
        assert_eq!(check(&s, "abcdef", None), None);
        let uri = otpauth_uri(&s, "ann@clinic.example").unwrap();
        assert!(uri.starts_with("otpauth://totp/Dentex:") && uri.contains(&s), "{uri}");
    }

    #[test]
    fn recovery_codes_are_distinct_and_normalised_for_hashing() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let mut uniq = codes.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), 10);
        let c = &codes[0];
        assert_eq!(recovery_hash(c), recovery_hash(&c.to_uppercase().replace('-', " ")));
    }
}
