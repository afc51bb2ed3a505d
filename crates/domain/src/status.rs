//! The states rows go through, as types. Each is stored as its snake_case
//! text (so the schema needs no migration) and read back with `parse`; code
//! compares and matches the enum, never the text.

/// A string-backed enum: `as_str` for the database, `parse` back, `ALL`.
macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The state stored as `s`; `None` for text no version wrote.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

stored_enum! {
    /// A case: drafted, sent to labs, awarded to one, or cancelled.
    CaseStatus {
        Draft => "draft",
        Submitted => "submitted",
        Awarded => "awarded",
        Canceled => "canceled",
    }
}

impl CaseStatus {
    /// Labs may see a case in these states (named or open to them; once
    /// awarded, the awarded lab alone).
    pub fn open_to_labs(self) -> bool {
        match self {
            CaseStatus::Submitted | CaseStatus::Awarded => true,
            CaseStatus::Draft | CaseStatus::Canceled => false,
        }
    }
}

stored_enum! {
    /// A lab's quote on a case.
    QuoteStatus {
        /// Open: may be revised, withdrawn or accepted.
        Active => "active",
        Withdrawn => "withdrawn",
        /// Another quote was accepted, or the case was cancelled.
        Declined => "declined",
        Accepted => "accepted",
        /// Accepted, then its order was cancelled.
        Canceled => "canceled",
    }
}

stored_enum! {
    /// The analysis of a case file.
    AnalysisStatus {
        /// A scan waiting for its analysis job.
        Pending => "pending",
        Done => "done",
        /// The bytes are not a readable mesh (the file is kept).
        Failed => "failed",
        /// Photos and documents are not analysed.
        NotApplicable => "not_applicable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_as_itself() {
        for s in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(s.as_str()), Some(*s));
        }
        for s in QuoteStatus::ALL {
            assert_eq!(QuoteStatus::parse(s.as_str()), Some(*s));
        }
        for s in AnalysisStatus::ALL {
            assert_eq!(AnalysisStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(CaseStatus::parse("Draft"), None);
        assert_eq!(
            serde_json::to_string(&AnalysisStatus::NotApplicable).unwrap(),
            "\"not_applicable\""
        );
    }
}
