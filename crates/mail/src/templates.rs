//! Message templates. Each returns an [`OutgoingMail`]; none may include patient
//! data (patient references, notes, file names, message bodies).

use crate::OutgoingMail;
use dentex_domain::Email;

/// Sent by `dentex admin send-test-mail` to check the mail configuration.
pub fn test_message(to: Email) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: "Dentex test message".into(),
        text: "This message confirms that Dentex can deliver e-mail with its current configuration.\n\
               No action is needed.\n"
            .into(),
    }
}
