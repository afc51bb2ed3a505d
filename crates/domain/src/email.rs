use serde::{Deserialize, Serialize};
use std::fmt;

/// An e-mail address that passed a structural check and was normalised
/// (trimmed, domain lower-cased). It is personal data: never log it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("an e-mail address needs exactly one '@' with text on both sides")]
    Shape,
    #[error("an e-mail address may be at most 254 characters")]
    TooLong,
    #[error("the domain of an e-mail address needs a dot and no spaces")]
    Domain,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let raw = raw.trim();
        if raw.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = raw.split_once('@').ok_or(EmailError::Shape)?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') {
            return Err(EmailError::Shape);
        }
        if local.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Shape);
        }
        if !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(EmailError::Domain);
        }
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Debug output never shows the address, so a stray `{:?}` cannot leak it into a log.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let e = Email::parse("  Dr.Who@Clinic.Example ").unwrap();
        assert_eq!(e.as_str(), "Dr.Who@clinic.example");
    }

    #[test]
    fn rejects_bad_shapes() {
        for bad in ["", "a", "@x.y", "a@", "a@b", "a@@b.c", "a b@c.d", "a@.c", "a@c."] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            Email::parse(&format!("{}@x.io", "a".repeat(260))),
            Err(EmailError::TooLong)
        );
    }

    #[test]
    fn debug_hides_the_address() {
        let e = Email::parse("patient@example.org").unwrap();
        assert!(!format!("{e:?}").contains("patient"));
    }
}
