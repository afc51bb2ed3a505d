//! `dentex-mail` owns outgoing e-mail: an [`OutgoingMail`] value (serialisable, so
//! it can wait in the job queue), the [`Mailer`] that hands it to lettre (SMTP in
//! production, `.eml` files under the data directory for the embedded default),
//! the message templates, and [`sink::SmtpSink`], a real SMTP listener on loopback
//! that tests read delivered mail from. Templates never carry patient data: a
//! notice says that something is waiting, never what it says.
#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod privacy;
pub mod sink;
pub mod templates;

use dentex_domain::Email;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The job kind that delivers one [`OutgoingMail`] (its payload).
pub const JOB_KIND: &str = "mail.send";

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid mail configuration: {0}")]
    Config(String),
    #[error("could not build the message: {0}")]
    Build(String),
    #[error("delivery failed: {0}")]
    Delivery(String),
}

/// One message to send. Its `Debug` omits the address and the body.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutgoingMail {
    pub to: Email,
    pub to_name: Option<String>,
    pub subject: String,
    pub text: String,
}

impl std::fmt::Debug for OutgoingMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingMail")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// Sends [`OutgoingMail`] through the configured transport.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    /// SMTP from a URL such as `smtp://host:25`, `smtp://user:pass@host:587?tls=required`
    /// or `smtps://host:465`. Must be called inside a Tokio runtime (lettre's pool).
    pub fn smtp(url: &str, from: &str) -> Result<Self, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Config(format!("mail.smtp_url: {e}")))?
            .build();
        Ok(Self {
            from: parse_from(from)?,
            transport: Transport::Smtp(transport),
        })
    }

    /// Writes each message as an `.eml` file in `dir` (created if missing).
    pub fn files(dir: PathBuf, from: &str) -> Result<Self, MailError> {
        std::fs::create_dir_all(&dir).map_err(|e| MailError::Config(format!("mail directory: {e}")))?;
        Ok(Self {
            from: parse_from(from)?,
            transport: Transport::File(AsyncFileTransport::new(&dir), dir),
        })
    }

    /// A short description of where mail goes, safe to log.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "smtp".into(),
            Transport::File(_, dir) => format!("files in {}", dir.display()),
        }
    }

    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let to = Mailbox::new(
            mail.to_name.clone(),
            mail.to
                .as_str()
                .parse()
                .map_err(|e| MailError::Build(format!("recipient: {e}")))?,
        );
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.text.clone())
            .map_err(|e| MailError::Build(e.to_string()))?;
        match &self.transport {
            Transport::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Delivery(e.to_string())),
            Transport::File(t, _) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| MailError::Delivery(e.to_string())),
        }
    }
}

fn parse_from(from: &str) -> Result<Mailbox, MailError> {
    from.parse().map_err(|e| MailError::Config(format!("mail.from: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_transport_writes_eml_files() {
        let dir = tempfile::tempdir().unwrap();
        let m = Mailer::files(dir.path().join("mail"), "Dentex <no-reply@dentex.example>").unwrap();
        m.send(&templates::test_message(Email::parse("ops@lab.example").unwrap()))
            .await
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("mail")).unwrap().flatten().collect();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path().extension().unwrap(), "eml");
        let text = std::fs::read_to_string(files[0].path()).unwrap();
        assert!(text.contains("To: ops@lab.example"), "{text}");
        assert!(text.contains("Subject: Dentex test message"), "{text}");
    }

    #[test]
    fn bad_configuration_names_the_key() {
        let e = Mailer::files(std::env::temp_dir(), "not an address").err().unwrap();
        assert!(e.to_string().contains("mail.from"), "{e}");
    }

    #[test]
    fn debug_of_a_mail_shows_no_address_or_body() {
        let m = templates::test_message(Email::parse("someone@clinic.example").unwrap());
        let d = format!("{m:?}");
        assert!(!d.contains("someone") && !d.contains(&m.text), "{d}");
    }
}
