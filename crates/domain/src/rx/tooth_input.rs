//! How the document describes a tooth as a request may write it.

use super::{Tooth, ToothNotation};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// A tooth as a request may write it: FDI, or with `tooth_notation:
/// universal` 1–32 and A–T.
pub struct ToothInput;

impl utoipa::PartialSchema for ToothInput {
    fn schema() -> RefOr<Schema> {
        let universal = (1..=32).map(|n| n.to_string()).chain(('A'..='T').map(String::from));
        let mut words: Vec<String> = Tooth::all_fdi().collect();
        for w in universal {
            if !words.contains(&w) {
                words.push(w);
            }
        }
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A tooth: FDI (11–48, 51–85) by default, or Universal (1–32, A–T) when `tooth_notation` is `universal`.",
            ))
            .enum_values(Some(words))
            .into()
    }
}

impl utoipa::ToSchema for ToothInput {}

impl ToothNotation {
    pub const ALL: [Self; 2] = [Self::Fdi, Self::Universal];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fdi => "fdi",
            Self::Universal => "universal",
        }
    }
}

impl Tooth {
    /// Every FDI tooth number, permanent then primary, as text.
    pub fn all_fdi() -> impl Iterator<Item = String> {
        (11..=85u8)
            .map(|n| n.to_string())
            .filter(|s| Self::from_fdi(s).is_some())
    }
}
