//! The configuration of privacy operations (`privacy.*`, issue #17).

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySettings {
    /// Where new, held and overdue data-subject requests are reported.
    pub support_email: Option<String>,
    /// How long a support agent's sign-in counts as fresh for privacy
    /// steps (each needs a sign-in with a second step this recent).
    pub fresh_sign_in_secs: u64,
    /// When backups holding erased data have expired, in days after the
    /// erasure (stated in each report).
    pub backup_expiry_days: u32,
    /// The key of keyed pseudonyms (client addresses in the audit trail and
    /// throttles, erased patient references and e-mail addresses): 32
    /// bytes, base64. None: derived from `auth.mfa_key` (rotating that key
    /// then changes the pseudonyms of what is written after).
    pub pseudonym_key: Option<SecretString>,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            support_email: None,
            fresh_sign_in_secs: 900,
            backup_expiry_days: 35,
            pseudonym_key: None,
        }
    }
}

impl PrivacySettings {
    pub fn validate(&self, errs: &mut Vec<String>) {
        if !(60..=86_400).contains(&self.fresh_sign_in_secs) {
            errs.push("privacy.fresh_sign_in_secs: 60 to 86400".into());
        }
        if self.backup_expiry_days == 0 || self.backup_expiry_days > 3650 {
            errs.push("privacy.backup_expiry_days: 1 to 3650".into());
        }
        if let Some(k) = &self.pseudonym_key
            && decode_key(k.expose_secret()).is_none()
        {
            errs.push("privacy.pseudonym_key: 32 bytes in base64 (`openssl rand -base64 32`)".into());
        }
    }
}

fn decode_key(b64: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?
        .try_into()
        .ok()
}

impl super::Config {
    /// The process's pseudonym key: configured, or derived from the MFA key.
    pub fn pseudonyms(&self) -> anyhow::Result<dentex_http::Pseudonyms> {
        use sha2::Digest;
        if let Some(k) = &self.privacy.pseudonym_key {
            let key = decode_key(k.expose_secret())
                .ok_or_else(|| anyhow::anyhow!("privacy.pseudonym_key: 32 bytes, base64"))?;
            return Ok(dentex_http::Pseudonyms::new(key));
        }
        let mfa = self.mfa_key_text()?;
        let mut h = sha2::Sha256::new();
        h.update(b"dentex pseudonyms v1\0");
        h.update(mfa.as_bytes());
        Ok(dentex_http::Pseudonyms::new(h.finalize().into()))
    }
}
