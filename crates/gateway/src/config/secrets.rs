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
    /// The current MFA key as written (`id:base64`): configured, or, on
    /// the embedded defaults, the data folder's key file (made once).
    pub fn mfa_key_text(&self) -> anyhow::Result<String> {
        Ok(match &self.auth.mfa_key {
            Some(k) => k.expose_secret().to_owned(),
            None => {
                // Every process sharing a database must share the key: a
                // file in one machine's data folder is only for the
                // embedded run.
                let external = self.database.url.as_ref().is_some_and(|u| {
                    let u = u.expose_secret();
                    u.starts_with("postgres://") || u.starts_with("postgresql://")
                });
                if external {
                    anyhow::bail!(
                        "auth.mfa_key: required with PostgreSQL (every instance must seal TOTP secrets with the same key); make one with `openssl rand -base64 32` and write it `k1:<that>`"
                    );
                }
                key_file(&self.data_dir.join("mfa.key"))?
            }
        })
    }

    /// The keys TOTP secrets are sealed with: `auth.mfa_key` (and the
    /// previous keys), or the data folder's key file, made when missing.
    pub fn mfa_keys(&self) -> anyhow::Result<dentex_accounts::mfa_keys::MfaKeys> {
        use dentex_accounts::mfa_keys::{MfaKeys, parse_pair};
        let current = self.mfa_key_text()?;
        let (id, b64) = parse_pair(&current)
            .map_err(|e| anyhow::anyhow!("auth.mfa_key (or {}/mfa.key): {e}", self.data_dir.display()))?;
        let previous = self
            .auth
            .mfa_previous_keys
            .iter()
            .map(|k| parse_pair(k.expose_secret()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("auth.mfa_previous_keys: {e}"))?;
        MfaKeys::new((&id, &b64), &previous)
            .map_err(|e| anyhow::anyhow!("auth.mfa_key (or {}/mfa.key): {e}", self.data_dir.display()))
    }
}

/// The key in `path`, made when missing: written to a file of its own
/// (readable by its owner only) and linked into place, so that two
/// processes starting at once end with one key, both reading it.
fn key_file(path: &std::path::Path) -> anyhow::Result<String> {
    use std::io::Write;
    match std::fs::read_to_string(path) {
        Ok(k) => return Ok(k),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(anyhow::anyhow!("reading {}: {e}", path.display()));
        }
        Err(_) => {}
    }
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".mfa.key.{}", uuid::Uuid::now_v7()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&tmp)?;
    f.write_all(dentex_accounts::mfa_keys::generate_new().as_bytes())?;
    f.sync_all()?;
    drop(f);
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => tracing::info!(path = %path.display(), "made the key TOTP secrets are sealed with"),
        // Another process made it first: its key is the one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(anyhow::anyhow!("writing {}: {e}", path.display())),
    }
    std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
}
