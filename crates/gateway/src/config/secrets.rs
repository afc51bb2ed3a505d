//! `auth.*`: sessions, and the key TOTP secrets are sealed with (read or
//! made at start).

use super::Config;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Absolute lifetime of a session.
    pub session_absolute_secs: u64,
    /// A session unused this long ends.
    pub session_idle_secs: u64,
    /// The key TOTP secrets are sealed with (`{id}:{base64 of 32 bytes}`; none: `{data_dir}/mfa.key`).
    pub mfa_key: Option<SecretString>,
    /// Keys sealed with before, still opened during a rotation.
    pub mfa_previous_keys: Vec<SecretString>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_absolute_secs: 12 * 3600,
            session_idle_secs: 30 * 60,
            mfa_key: None,
            mfa_previous_keys: Vec::new(),
        }
    }
}

impl Config {
    /// The keys TOTP secrets are sealed with: `auth.mfa_key` (and the
    /// previous keys), or the data folder's key file, made when missing.
    pub fn mfa_keys(&self) -> anyhow::Result<dentex_accounts::mfa_keys::MfaKeys> {
        use dentex_accounts::mfa_keys::{MfaKeys, generate, parse_pair};
        let current = match &self.auth.mfa_key {
            Some(k) => k.expose_secret().to_owned(),
            None => {
                let path = self.data_dir.join("mfa.key");
                match std::fs::read_to_string(&path) {
                    Ok(k) => k,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        std::fs::create_dir_all(&self.data_dir)?;
                        let k = generate("k1");
                        write_private(&path, &k)?;
                        tracing::info!(path = %path.display(), "made the key TOTP secrets are sealed with");
                        k
                    }
                    Err(e) => return Err(anyhow::anyhow!("reading {}: {e}", path.display())),
                }
            }
        };
        let (id, b64) = parse_pair(&current).map_err(|e| anyhow::anyhow!("auth.mfa_key: {e}"))?;
        let previous = self
            .auth
            .mfa_previous_keys
            .iter()
            .map(|k| parse_pair(k.expose_secret()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("auth.mfa_previous_keys: {e}"))?;
        MfaKeys::new((&id, &b64), &previous).map_err(|e| anyhow::anyhow!("auth.mfa_key: {e}"))
    }
}

/// Writes a secret file readable by its owner only.
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}
