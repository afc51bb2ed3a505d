//! Error codes as a catalogue. Each crate that answers problems declares its
//! codes once, with their HTTP status and what they mean, in one `codes!`
//! block (`crate::codes` of each feature crate); an [`ApiError`] can only be
//! made from such a code, so no code exists outside a catalogue.
//! `docs/errors.md` is generated from the catalogues (the gateway's
//! `errors_doc` test fails when the two differ).
//!
//! [`ApiError`]: crate::ApiError

use actix_web::http::StatusCode;

/// One stable problem code.
#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    /// The `code` member of the problem, snake_case.
    pub code: &'static str,
    /// The HTTP status it is always answered with.
    pub status: u16,
    /// What it means, for `docs/errors.md`.
    pub meaning: &'static str,
}

impl Code {
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// Declares a crate's codes: `codes!(ALL { NAME = (409, "code", "meaning"), … })`
/// makes a `pub const NAME: Code` for each and `pub const ALL: &[&Code]`.
#[macro_export]
macro_rules! codes {
    ($all:ident { $( $(#[$m:meta])* $name:ident = ($status:literal, $code:literal, $meaning:literal) ),* $(,)? }) => {
        $( $(#[$m])* pub const $name: $crate::Code = $crate::Code { code: $code, status: $status, meaning: $meaning }; )*
        /// Every code of this catalogue, in the order declared.
        pub const $all: &[&$crate::Code] = &[ $( &$name ),* ];
    };
}

/// The catalogues, rendered as the Markdown of `docs/errors.md`: one section
/// per crate (name, codes), codes in the order declared.
pub fn render_markdown(catalogues: &[(&str, &[&Code])]) -> String {
    let mut out = String::from(
        "# Error codes\n\n\
         Every problem (RFC 9457, `application/problem+json`) carries one of these\n\
         `code`s and always with the status shown. Invalid fields are listed in\n\
         `errors[]` under `validation_failed` (or the code named), each with its own\n\
         field path and field code. Generated from the catalogues in the code\n\
         (`codes!` in each crate); `cargo test -p dentex-gateway --test errors_doc`\n\
         fails when this page and the code differ, and rewrites it with\n\
         `DENTEX_BLESS=1`.\n\n\
         ## One rule for refusals\n\n\
         - **404** when the caller may not know the resource exists: another\n\
         tenant's id, an id that was never issued, a file or upload the case\n\
         does not have (whatever the case's state).\n\
         - **403** when the caller's role or side may never do this to a resource\n\
         it sees: a plain member accepting a quote, a lab asking for a remake or\n\
         marking an order delivered, a clinic shipping. The detail says who may.\n\
         - **409** when the caller may do this, but not in the state the resource\n\
         is in now: a clinic completing an order still in production, editing a\n\
         submitted case. The detail (and, for order moves, `errors[]`) lists what\n\
         is possible now.\n\
         - **422** when the request itself is wrong: every field at fault is in\n\
         `errors[]` with its path (`rx.items[0].material`) and, for a word list,\n\
         the words allowed. A body of the wrong shape is checked against the\n\
         schema the OpenAPI document publishes, so all its faults come at once.\n\
         - **400** when the request cannot be read (not JSON, a malformed query\n\
         parameter, a token that is unknown or used).\n",
    );
    for (name, codes) in catalogues {
        out.push_str(&format!("\n## {name}\n\n| code | status | meaning |\n|---|---|---|\n"));
        for c in *codes {
            out.push_str(&format!("| `{}` | {} | {} |\n", c.code, c.status, c.meaning));
        }
    }
    out
}
