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

/// Links carry single-use tokens in the fragment (`#token=…`): browsers never
/// send a fragment to a server, so the token stays out of access logs and
/// `Referer` headers. The front end posts it to the API.
fn link(base: &str, page: &str, token: &str) -> String {
    format!("{}/{page}#token={token}", base.trim_end_matches('/'))
}

pub fn verify_email(to: Email, name: &str, base_url: &str, token: &str, hours: i64) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: Some(name.to_owned()),
        subject: "Confirm your e-mail address for Dentex".into(),
        text: format!(
            "Hello {name},\n\nplease confirm your e-mail address to finish setting up your Dentex account:\n\n{}\n\n\
             The link works once and expires in {hours} hours. If you did not sign up, ignore this message.\n",
            link(base_url, "verify-email", token)
        ),
    }
}

/// Sent instead of a second account when someone registers an address that
/// already has one, so registration does not reveal which addresses exist.
pub fn already_registered(to: Email, base_url: &str) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: "Someone tried to create a Dentex account with your address".into(),
        text: format!(
            "An account with this e-mail address already exists, so no new one was created.\n\n\
             If this was you, sign in at {}/login or reset your password there.\n\
             If it was not you, you need do nothing.\n",
            base_url.trim_end_matches('/')
        ),
    }
}

pub fn password_reset(to: Email, base_url: &str, token: &str, minutes: i64) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: "Reset your Dentex password".into(),
        text: format!(
            "Someone asked to reset the password of the Dentex account for this address.\n\n\
             To choose a new password, open:\n\n{}\n\n\
             The link works once and expires in {minutes} minutes. If you did not ask, ignore this message: \
             your password stays as it is.\n",
            link(base_url, "reset-password", token)
        ),
    }
}

pub fn password_changed(to: Email) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: "Your Dentex password was changed".into(),
        text: "The password of your Dentex account was just changed and every session was signed out.\n\
               If you did not do this, reset your password at once and contact support.\n"
            .into(),
    }
}

pub fn invitation(to: Email, org_name: &str, role: &str, base_url: &str, token: &str, days: i64) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: format!("You are invited to join {org_name} on Dentex"),
        text: format!(
            "You have been invited to join {org_name} on Dentex as {role}.\n\nAccept the invitation here:\n\n{}\n\n\
             The link works once and expires in {days} days.\n",
            link(base_url, "accept-invitation", token)
        ),
    }
}

pub fn mfa_changed(to: Email, enabled: bool) -> OutgoingMail {
    let what = if enabled { "turned on" } else { "turned off" };
    OutgoingMail {
        to,
        to_name: None,
        subject: format!("Two-step sign-in was {what} for your Dentex account"),
        text: format!(
            "Two-step sign-in (an authenticator app code) was just {what} for your Dentex account, and your other \
             sessions were signed out.\nIf you did not do this, reset your password at once and contact support.\n"
        ),
    }
}

pub fn credential_decision(to: Email, org_name: &str, kind: &str, approved: bool, reason: &str) -> OutgoingMail {
    let (subject, outcome) = if approved {
        (format!("Credential approved for {org_name}"), "approved")
    } else {
        (format!("Credential not approved for {org_name}"), "not approved")
    };
    OutgoingMail {
        to,
        to_name: None,
        subject,
        text: format!(
            "Dentex support reviewed the {kind} credential of {org_name}: {outcome}.\n\nReason given: {reason}\n\n\
             You can see all credentials and their status under your organisation's settings.\n"
        ),
    }
}

pub fn credential_expiring(to: Email, org_name: &str, kind: &str, expires_on: &str) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: format!("A credential of {org_name} expires on {expires_on}"),
        text: format!(
            "The {kind} credential of {org_name} expires on {expires_on}.\n\n\
             Submit the renewed credential before then: once no valid credential remains, {org_name} can no \
             longer submit cases or quote until support approves a new one.\n"
        ),
    }
}

pub fn credential_expired(to: Email, org_name: &str, kind: &str, still_verified: bool) -> OutgoingMail {
    let consequence = if still_verified {
        "Another valid credential keeps the organisation verified."
    } else {
        "The organisation is no longer verified: it cannot submit cases or quote until support approves a new credential."
    };
    OutgoingMail {
        to,
        to_name: None,
        subject: format!("A credential of {org_name} has expired"),
        text: format!("The {kind} credential of {org_name} has expired.\n\n{consequence}\n"),
    }
}

/// To a lab's owners and admins: a case sent to it was cancelled. The case
/// id only: no patient reference, no reason (free text may hold patient data).
pub fn case_cancelled(to: Email, case_id: &str) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: "A case sent to your lab was cancelled".into(),
        text: format!(
            "The clinic cancelled case {case_id} before awarding it. There is nothing more to do for it.\n\n\
             Its files and prescription are no longer available to your lab.\n"
        ),
    }
}

/// To a clinic's owners and admins: a lab quoted (or revised its quote).
pub fn quote_received(to: Email, case_id: &str, revised: bool) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: if revised {
            "A lab revised its quote on your case".into()
        } else {
            "A lab quoted on your case".into()
        },
        text: format!(
            "A lab {} on case {case_id}. Compare the quotes side by side in Dentex.\n",
            if revised { "revised its quote" } else { "sent a quote" }
        ),
    }
}

/// To the chosen lab's owners and admins.
pub fn quote_accepted(to: Email, case_id: &str, order_id: &str) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: "Your quote was accepted".into(),
        text: format!(
            "The clinic accepted your quote on case {case_id}. Order {order_id} is in production.\n\n\
             The case's prescription, files and patient reference are now available to your lab.\n"
        ),
    }
}

/// To the labs that were not chosen.
pub fn quote_declined(to: Email, case_id: &str) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: "Another lab was chosen for a case".into(),
        text: format!(
            "The clinic chose another lab for case {case_id}; your quote was declined.\n\n\
             The case's files and prescription are no longer available to your lab.\n"
        ),
    }
}

/// To a lab whose declined quote stands again: the award was undone.
pub fn case_reopened(to: Email, case_id: &str) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: "A case you quoted on is open again".into(),
        text: format!(
            "The order for case {case_id} was cancelled and the case is open again. \
             Your quote on it is active again until its validity ends; the clinic may accept it.\n"
        ),
    }
}

/// To the other side of an order: it moved.
pub fn order_update(to: Email, order_id: &str, status: &str) -> OutgoingMail {
    let status = status.replace('_', " ");
    OutgoingMail {
        to,
        to_name: None,
        subject: format!("Order {order_id} is now {status}"),
        text: format!("Order {order_id} is now {status}. The order's page in Dentex shows every step.\n"),
    }
}

/// To the lab: the clinic asked for a remake (the structured reason only;
/// the clinic's notes stay in Dentex).
pub fn remake_requested(to: Email, original: &str, order_id: &str, reason: &str) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: "Remake requested for an order".into(),
        text: format!(
            "The clinic asked for a remake of order {original} (reason: {reason}). \
             Remake order {order_id} is in production; its notes and due date are in Dentex.\n"
        ),
    }
}

/// To a person with unread messages on a case: the case id and a link,
/// never the text, the sender or the patient reference.
pub fn chat_waiting(to: Email, case_id: &str, link: &str) -> OutgoingMail {
    OutgoingMail {
        to,
        to_name: None,
        subject: "A message is waiting in Dentex".into(),
        text: format!("A message is waiting on case {case_id}.\n\nRead it in Dentex: {link}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_tokens_in_the_fragment() {
        let m = verify_email(
            Email::parse("a@b.example").unwrap(),
            "Ann",
            "https://dentex.example/",
            "tok123",
            24,
        );
        assert!(
            m.text.contains("https://dentex.example/verify-email#token=tok123"),
            "{}",
            m.text
        );
        assert!(!m.text.contains("?token="));
    }
}
