//! Password policy and hashing. Hashing runs on the blocking pool: Argon2id is
//! meant to cost tens of milliseconds of CPU and must not stall the async workers.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use dentex_domain::FieldError;
use std::sync::LazyLock;

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 1024;

/// Checks a new password against the policy, naming the field on failure.
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
    fn policy_names_the_field() {
        let e = check_policy("password", "short").unwrap_err();
        assert_eq!(e.field, "password");
        assert_eq!(e.code, "password_too_short");
        assert!(check_policy("password", "twelve chars").is_ok());
    }
}
