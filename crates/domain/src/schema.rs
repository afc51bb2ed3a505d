//! How the vocabulary appears in the OpenAPI document: every word list
//! (statuses, restorations, materials, shades, tooth numbers, remake reasons,
//! cost bearers, credential kinds, roles) as a string enumeration built from
//! the list the code itself parses, so the document cannot drift from it.

use crate::market::{CostBearer, OrderStatus, RemakeReason};
#[cfg(test)]
use crate::rx::ToothInput;
use crate::rx::{Material, Restoration, Shade, Tooth, ToothNotation};
use crate::{
    AnalysisStatus, CaseStatus, CountryCode, CredentialKind, DataRegion, OrgKind, OrgRole, QuoteStatus, StaffRole,
};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// A string schema that accepts exactly `words`.
pub fn string_enum<W: Into<String>>(description: &str, words: impl IntoIterator<Item = W>) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(words.into_iter().map(Into::into)))
        .into()
}

/// A unit type that stands in the document for text with a fixed list of
/// words (a view's `kind`, say), where the code has no enum of its own to
/// describe: `doc_enum!(FileKind = "What a file is.", ["scan", "photo"]);`.
#[macro_export]
macro_rules! doc_enum {
    ($(#[$m:meta])* $name:ident = $description:literal, $words:expr) => {
        $(#[$m])*
        pub struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::schema::string_enum($description, $words)
            }
        }
        impl utoipa::ToSchema for $name {}
    };
}

macro_rules! word_schema {
    ($($name:ty => $description:literal, $words:expr;)+) => {$(
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                string_enum($description, $words)
            }
        }
        impl utoipa::ToSchema for $name {}
    )+};
}

word_schema! {
    CaseStatus => "A case: drafted, sent to labs, awarded to one, or cancelled.",
        CaseStatus::ALL.iter().map(|s| s.as_str());
    QuoteStatus => "A lab's quote: `active` may be revised, withdrawn or accepted.",
        QuoteStatus::ALL.iter().map(|s| s.as_str());
    AnalysisStatus => "A file's analysis: scans wait `pending` for it; photos and documents are `not_applicable`.",
        AnalysisStatus::ALL.iter().map(|s| s.as_str());
    OrderStatus => "An order, from payment to completion.",
        OrderStatus::ALL.iter().map(|s| s.as_str());
    RemakeReason => "Why the work is remade.",
        RemakeReason::ALL.iter().map(|s| s.as_str());
    CostBearer => "Who pays for a remake: the lab (nothing for the clinic), the clinic (the original price) or shared (half, rounded up).",
        CostBearer::ALL.iter().map(|s| s.as_str());
    CredentialKind => "A professional credential. Clinics are verified by `dental_license` or `npi`; labs by `lab_registration`, `medical_device_manufacturer_registration` or `iso_13485`.",
        CredentialKind::ALL.iter().map(|s| s.as_str());
    OrgKind => "What an organization is.", OrgKind::ALL.iter().map(|s| s.as_str());
    OrgRole => "A member's role in an organization.", OrgRole::ALL.iter().map(|s| s.as_str());
    StaffRole => "A platform staff role.", StaffRole::ALL.iter().map(|s| s.as_str());
    DataRegion => "Where an organization's data is held.", DataRegion::ALL.iter().map(|s| s.as_str());
    Restoration => "What the lab makes; also the services labs offer. `model` is a printed study or working model.",
        Restoration::ALL.iter().map(|s| s.as_str());
    Material => "The material of a restoration. Metals (`gold`, `titanium`, `cobalt_chrome`) take no shade.",
        Material::ALL.iter().map(|s| s.as_str());
    ToothNotation => "How the request writes teeth: FDI (ISO 3950, the default) or Universal (ADA). Answers are always FDI.",
        ToothNotation::ALL.iter().map(|s| s.as_str());
    Shade => "A VITA classical (A1–D4) or VITA 3D-Master shade (0M1–5M3).",
        Shade::all();
    Tooth => "A tooth in FDI (ISO 3950) notation: permanent 11–48, primary 51–85.",
        Tooth::all_fdi();
    CountryCode => "An ISO 3166-1 alpha-2 country code, upper case.",
        CountryCode::all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::PartialSchema;

    fn words(s: RefOr<Schema>) -> Vec<String> {
        let v = serde_json::to_value(s).unwrap();
        v["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn every_listed_word_parses_and_every_word_is_listed() {
        let restorations = words(Restoration::schema());
        assert!(restorations.contains(&"model".to_owned()));
        for r in &restorations {
            assert!(r.parse::<Restoration>().is_ok(), "{r}");
        }
        assert_eq!(restorations.len(), Restoration::ALL.len());
        let teeth = words(Tooth::schema());
        assert_eq!(teeth.len(), 32 + 20);
        assert!(teeth.iter().all(|t| Tooth::from_fdi(t).is_some()));
        let shades = words(Shade::schema());
        assert!(shades.iter().all(|s| Shade::parse(s).is_some()));
        assert_eq!(shades.len(), 16 + 29);
        let input = words(ToothInput::schema());
        assert!(
            input
                .iter()
                .all(|t| Tooth::from_fdi(t).is_some() || Tooth::from_universal(t).is_some())
        );
        assert!(input.contains(&"T".to_owned()) && input.contains(&"85".to_owned()));
        assert_eq!(words(CredentialKind::schema())[0], "dental_license");
    }
}
