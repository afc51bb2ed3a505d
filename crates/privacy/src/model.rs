//! The words of a data-subject request: its kind, whose data it is about,
//! how it arrived and where it is. Stored as their text.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

macro_rules! words {
    ($(#[$m:meta])* $name:ident { $($v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($v),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|k| k.as_str() == s)
            }
        }
    };
}

words!(
    /// What the subject asks for (GDPR Art. 15 to 18, 20).
    Kind {
        Access = "access",
        Portability = "portability",
        Rectification = "rectification",
        Restriction = "restriction",
        Erasure = "erasure",
    }
);

words!(
    /// Whose data: a person with an account (Dentex is the controller), or
    /// a clinic's patient (the clinic is the controller, Dentex assists).
    Subject {
        Person = "person",
        Patient = "patient",
    }
);

words!(
    /// How the request reached Dentex.
    Channel {
        Api = "api",
        Email = "email",
        Letter = "letter",
        Phone = "phone",
    }
);

words!(
    /// How a request reached support outside the platform.
    OutsideChannel {
        Email = "email",
        Letter = "letter",
        Phone = "phone",
    }
);

words!(
    /// Where a request is: received (its requester is not yet verified),
    /// verified, held (an erasure waits: the reason is given), running,
    /// done (the report is there) or rejected (with the reason).
    Status {
        Received = "received",
        Verified = "verified",
        Held = "held",
        Running = "running",
        Done = "done",
        Rejected = "rejected",
    }
);

impl Status {
    /// Done or rejected: nothing more happens to it.
    pub fn is_over(self) -> bool {
        matches!(self, Status::Done | Status::Rejected)
    }
}
