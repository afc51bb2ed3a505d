//! Password policy and hashing. Hashing runs on the blocking pool: Argon2id is
//! meant to cost tens of milliseconds of CPU and must not stall the async workers.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use dentex_domain::FieldError;
use std::sync::LazyLock;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 1024;

/// Common passwords of 12 characters or more, shipped with the code.
static COMMON: LazyLock<std::collections::HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common_passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// Words that, padded with digits or symbols, make most guessed passwords.
const WEAK_BASES: [&str; 14] = [
    "password",
    "passw0rd",
    "qwerty",
    "letmein",
    "welcome",
    "iloveyou",
    "admin",
    "administrator",
    "dentex",
    "dentist",
    "dental",
    "changeme",
    "secret",
    "abc",
];

/// Whether a password is on the common list or a common word with padding.
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return true;
    }
    let letters: String = lower.chars().filter(char::is_ascii_alphabetic).collect();
    if WEAK_BASES.contains(&letters.as_str()) {
        return true;
    }
    // One character repeated, or the same short block repeated.
    let chars: Vec<char> = lower.chars().collect();
    (1..=4).any(|n| chars.len().is_multiple_of(n) && chars.chunks(n).all(|c| c == &chars[..n]))
}

/// Checks a new password against the policy, naming the field on failure.
/// `context` holds values the password must not be built from (the address).
pub fn check_new(field: &str, password: &str, context: &[&str]) -> Result<(), FieldError> {
    check_policy(field, password)?;
    if is_common(password) {
        return Err(FieldError::new(
            field,
            "password_too_common",
            "This password is on a list of commonly used passwords; choose another.",
        ));
    }
    let lower = password.to_lowercase();
    for c in context {
        let c = c.to_lowercase();
        let local = c.split('@').next().unwrap_or("");
        if local.len() >= 4 && lower.contains(local) {
            return Err(FieldError::new(
                field,
                "password_contains_identity",
                "The password must not contain your e-mail address or name.",
            ));
        }
    }
    Ok(())
}

/// Checks a new password against the length rules, naming the field on failure.
pub fn check_policy(field: &str, password: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(FieldError::new(
            field,
            "password_too_short",
            format!("Use at least {MIN_LEN} characters."),
        ));
    }
    if n > MAX_LEN {
        return Err(FieldError::new(
            field,
            "password_too_long",
            format!("Use at most {MAX_LEN} characters."),
        ));
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// An Argon2id PHC string for `password`.
pub async fn hash(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| HashError(e.to_string()))?
}

pub fn hash_blocking(password: &str) -> Result<String, HashError> {
    let h: PasswordHash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| HashError(e.to_string()))?;
    Ok(h.to_string())
}

/// A hash of a random password, verified against when the user does not exist so
/// that an unknown address costs the same time as a wrong password.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    let pw: String = (0..32).map(|_| char::from(b'a' + rand::random::<u8>() % 26)).collect();
    hash_blocking(&pw).unwrap_or_default()
});

/// Whether `password` matches `stored`; with `None`, spends the same effort and says no.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let target = stored.as_deref().unwrap_or(DUMMY.as_str());
        let ok = Argon2::default().verify_password(password.as_bytes(), target).is_ok();
        ok && stored.is_some()
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify("wrong horse battery".into(), Some(h)).await);
        assert!(!verify("anything at all".into(), None).await);
    }

    #[test]
    fn common_and_padded_passwords_are_refused() {
        for weak in [
            "Password1234",
            "qwertyuiop123",
            "password!!2026",
            "Dentist-2026!",
            "aaaaaaaaaaaaaa",
            "abababababab",
            "123123123123",
        ] {
            assert!(is_common(weak), "{weak} should be refused");
            assert_eq!(
                check_new("password", weak, &[]).unwrap_err().code,
                "password_too_common"
            );
        }
        for fine in [
            "amalgam-carving-tool",
            "zirconia crown shade A2",
            "7 molars and a bridge",
        ] {
            assert!(!is_common(fine), "{fine} should pass");
            assert!(check_new("password", fine, &["ann@clinic.example"]).is_ok());
        }
        let e = check_new("password", "my name is annabelle!", &["annabelle@clinic.example"]).unwrap_err();
        assert_eq!(e.code, "password_contains_identity");
    }

    #[test]
    fn policy_names_the_field() {
        let e = check_policy("password", "short").unwrap_err();
        assert_eq!(e.field, "password");
        assert_eq!(e.code, "password_too_short");
        assert!(check_policy("password", "twelve chars").is_ok());
    }
}
