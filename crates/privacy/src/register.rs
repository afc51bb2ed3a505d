//! The processing register (GDPR Art. 30) as far as the inventory makes it:
//! per category of data, where it is, whose it is, how long it is kept and
//! what an erasure does. `docs/privacy.md` is this text (a test regenerates
//! it with `DENTEX_BLESS=1` and fails when it is stale).

use crate::inventory;

/// Dentex's roles in the processing.
pub const ROLES: &[&str] = &[
    "Controller of the accounts of the people who use it (clinic and lab staff, support staff) and of its own records (audit, receipts).",
    "Processor for each clinic of its patients' data (cases, prescriptions, scans, messages about them); the clinic is the controller and instructs access and erasure.",
];

/// What the data is processed for.
pub const PURPOSES: &[&str] = &[
    "Exchanging restoration cases between clinics and the labs they choose: prescriptions, scans, photos, quotes, orders, messages.",
    "Verifying that labs and clinics hold the professional credentials they claim.",
    "Holding and paying the price of an order (through Stripe Connect), with receipts.",
    "Security and accountability: sign-in, sessions, the audit trail of every access to patient data.",
    "Answering data-subject requests (access, portability, rectification, restriction, erasure).",
];

/// Whose data it is.
pub const SUBJECTS: &[&str] = &[
    "Patients of the clinics: by a clinic's own patient reference (clinics are asked not to use names), and in what clinics and labs write about a case (prescriptions, notes, file names, messages).",
    "Staff of clinics and labs (name, e-mail address, sign-in data).",
    "Dentex's support staff.",
];

/// Who receives it, and on what safeguard when it leaves the region.
pub const RECIPIENTS: &[(&str, &str)] = &[
    (
        "Labs a clinic sends a case to",
        "The case, its files and the thread with that lab; only while the case is open to them or awarded to them (SECURITY.md items 1-3).",
    ),
    (
        "Stripe (payments, when configured)",
        "Organisation names and countries, amounts, the order id; never patient data (metadata carries the order id only).",
    ),
    (
        "The object store (S3-compatible; in-process by default)",
        "Scans, photos and documents, under keys that carry ids, never names; in the organisation's data region.",
    ),
    (
        "The mail relay (SMTP, when configured)",
        "Recipients' addresses and notification texts, which carry ids and links, never patient data.",
    ),
];

/// How it is protected.
pub const MEASURES: &[&str] = &[
    "Tenancy checked on every request: another organisation's id answers 404.",
    "Passwords hashed with Argon2id; second sign-in step (TOTP) for staff; sessions revocable and checked on each request.",
    "Every read and change of patient data, every refusal and every support action audited in hash-chained logs per organisation.",
    "No patient data in logs, e-mails or URLs (tests plant names and search the logs).",
    "Files typed from their bytes and bounded while streaming; downloads through short-lived links after the access check.",
];
use dentex_domain::privacy::Category;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The register as Markdown.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Privacy: the data inventory and processing register\n\n\
         Generated from each crate's `privacy` module by `dentex-privacy`\n\
         (`DENTEX_BLESS=1 cargo test -p dentex-tests --test privacy`); do not edit by hand.\n\
         A test fails when a migration adds a column no inventory describes.\n\n\
         Issue #17 is under way. Built: this inventory and register, data-subject\n\
         requests with support's queue and deadlines, erasure (the actions below,\n\
         carried out by the erasure job, with a report), the restriction of a\n\
         patient's cases, break-glass, the organisation's audit trail, the\n\
         accounting of disclosures, client addresses kept as keyed pseudonyms.\n\
         Not yet: exports (access, portability), rectification through the\n\
         services, retention runs. Some periods are enforced by purges already (the\n\
         event outbox, sign-in throttles, idempotency keys, abandoned uploads);\n\
         the rest are not yet.\n\n\
         Ids (user, organisation, case) are references: once the account or case\n\
         they lead to is erased or pseudonymised they identify no one.\n\n",
    );
    section(&mut out, "Roles", ROLES);
    section(&mut out, "Purposes", PURPOSES);
    section(&mut out, "Subjects", SUBJECTS);
    out.push_str("## Recipients\n\n| who | what |\n|---|---|\n");
    for (who, what) in RECIPIENTS {
        let _ = writeln!(out, "| {who} | {what} |");
    }
    out.push('\n');
    section(&mut out, "Security measures", MEASURES);
    summary(&mut out);
    out.push_str("## Tables\n\n");
    for t in inventory::tables() {
        let _ = writeln!(out, "### `{}` ({})\n", t.table, t.owner);
        let _ = writeln!(out, "- Whose: {}", t.find);
        let _ = writeln!(out, "- Kept: {}", t.retention);
        if t.personal.is_empty() {
            out.push_str("- Personal data: none beyond references\n");
        } else {
            out.push_str("\n| column | category | on erasure |\n|---|---|---|\n");
            for f in t.personal {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} |",
                    f.column,
                    f.category.as_str(),
                    f.erasure.describe()
                );
            }
        }
        let other: Vec<String> = t.other.iter().map(|c| format!("`{c}`")).collect();
        let _ = writeln!(out, "\nOther columns: {}.\n", other.join(", "));
    }
    out.push_str("## Outside the database\n\n| where | owner | category | whose | kept | on erasure |\n|---|---|---|---|---|---|\n");
    for s in inventory::stores() {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            s.pattern,
            s.owner,
            s.category.as_str(),
            s.find,
            s.retention,
            s.erasure.describe()
        );
    }
    out
}

fn section(out: &mut String, title: &str, items: &[&str]) {
    let _ = writeln!(out, "## {title}\n");
    for i in items {
        let _ = writeln!(out, "- {i}");
    }
    out.push('\n');
}

/// Per category, the tables and stores that hold it.
fn summary(out: &mut String) {
    let mut by: BTreeMap<Category, Vec<String>> = BTreeMap::new();
    for t in inventory::tables() {
        for f in t.personal {
            by.entry(f.category)
                .or_default()
                .push(format!("`{}.{}`", t.table, f.column));
        }
    }
    for s in inventory::stores() {
        by.entry(s.category).or_default().push(format!("`{}`", s.pattern));
    }
    out.push_str("## Categories\n\n| category | held in |\n|---|---|\n");
    for (c, places) in by {
        let _ = writeln!(out, "| {} | {} |", c.as_str(), places.join(", "));
    }
    out.push('\n');
}
