//! The prescription (Rx): teeth, restorations, materials, shades, and the
//! rules a case must meet before it is sent to labs.
//!
//! Input arrives as plain strings ([`RxInput`]) and is parsed into typed values
//! ([`Rx`]); every problem is reported with the path of the field at fault
//! (`rx.items[1].shade`), all at once. A draft only has to be well formed;
//! [`Rx::check_complete`] holds the rules for submission.

use crate::FieldError;

mod tooth_input;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
pub use tooth_input::ToothInput;

/// A tooth in FDI (ISO 3950) notation: permanent 11–48, primary 51–85.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tooth(u8);

/// How the client wrote the teeth. Stored and answered in FDI either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToothNotation {
    #[default]
    Fdi,
    /// The Universal (ADA) system: 1–32 permanent, A–T primary.
    Universal,
}

impl Tooth {
    pub fn fdi(self) -> u8 {
        self.0
    }

    /// FDI: quadrant 1–4 with tooth 1–8, or 5–8 with tooth 1–5.
    pub fn from_fdi(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let (q, t) = (b[0] - b'0', b[1] - b'0');
        let ok = match q {
            1..=4 => (1..=8).contains(&t),
            5..=8 => (1..=5).contains(&t),
            _ => false,
        };
        ok.then_some(Self(q * 10 + t))
    }

    /// Universal: 1–8 upper right (18→11), 9–16 upper left (21→28), 17–24
    /// lower left (38→31), 25–32 lower right (41→48); A–J upper primary
    /// (55→51, 61→65), K–T lower primary (75→71, 81→85).
    pub fn from_universal(s: &str) -> Option<Self> {
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            let n: u8 = s.parse().ok()?;
            if s.starts_with('0') {
                return None;
            }
            let fdi = match n {
                1..=8 => 19 - n,
                9..=16 => 12 + n,
                17..=24 => 55 - n,
                25..=32 => 16 + n,
                _ => return None,
            };
            return Some(Self(fdi));
        }
        let c = match s.as_bytes() {
            [c] if c.is_ascii_alphabetic() => c.to_ascii_uppercase(),
            _ => return None,
        };
        let fdi = match c {
            b'A'..=b'E' => 55 - (c - b'A'),
            b'F'..=b'J' => 61 + (c - b'F'),
            b'K'..=b'O' => 75 - (c - b'K'),
            b'P'..=b'T' => 81 + (c - b'P'),
            _ => return None,
        };
        Some(Self(fdi))
    }

    pub fn parse(s: &str, notation: ToothNotation) -> Option<Self> {
        match notation {
            ToothNotation::Fdi => Self::from_fdi(s),
            ToothNotation::Universal => Self::from_universal(s),
        }
    }

    /// The arch (upper/lower, permanent/primary) and the position along it
    /// from the patient's right to left, so neighbours differ by one.
    fn arch_position(self) -> (u8, u8) {
        let (q, t) = (self.0 / 10, self.0 % 10);
        match q {
            1 => (0, 8 - t),
            2 => (0, 7 + t),
            4 => (1, 8 - t),
            3 => (1, 7 + t),
            5 => (2, 5 - t),
            6 => (2, 4 + t),
            8 => (3, 5 - t),
            _ => (3, 4 + t),
        }
    }
}

impl fmt::Display for Tooth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for Tooth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Tooth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Tooth::from_fdi(&s).ok_or_else(|| serde::de::Error::custom("not an FDI tooth number"))
    }
}

macro_rules! word_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($text => Ok($name::$variant),)+ _ => Err(()) }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(|_| serde::de::Error::custom(concat!("not a ", stringify!($name))))
            }
        }
    };
}

word_enum!(
    /// What the lab makes. The names are also the services labs offer.
    Restoration {
        Crown = "crown",
        Bridge = "bridge",
        Inlay = "inlay",
        Onlay = "onlay",
        Veneer = "veneer",
        ImplantAbutment = "implant_abutment",
        ImplantCrown = "implant_crown",
        FullDenture = "full_denture",
        PartialDenture = "partial_denture",
        NightGuard = "night_guard",
        Aligner = "aligner",
        AllOnX = "all_on_x",
        Model = "model",
        Other = "other",
    }
);

word_enum!(
    Material {
        Zirconia = "zirconia",
        LithiumDisilicate = "lithium_disilicate",
        Pfm = "pfm",
        Gold = "gold",
        Pmma = "pmma",
        Composite = "composite",
        Titanium = "titanium",
        CobaltChrome = "cobalt_chrome",
        Other = "other",
    }
);

impl Material {
    /// Metal has no tooth shade.
    pub fn has_shade(self) -> bool {
        !matches!(self, Material::Gold | Material::Titanium | Material::CobaltChrome)
    }
}

impl Restoration {
    /// Tooth-coloured work on named teeth: needs a shade (unless metal).
    fn needs_shade(self) -> bool {
        matches!(
            self,
            Restoration::Crown
                | Restoration::Bridge
                | Restoration::Inlay
                | Restoration::Onlay
                | Restoration::Veneer
                | Restoration::ImplantCrown
        )
    }

    /// Whole-arch appliances may name no tooth.
    fn needs_teeth(self) -> bool {
        !matches!(
            self,
            Restoration::FullDenture
                | Restoration::NightGuard
                | Restoration::Aligner
                | Restoration::AllOnX
                | Restoration::Model
        )
    }
}

const VITA_CLASSICAL: [&str; 16] = [
    "A1", "A2", "A3", "A3.5", "A4", "B1", "B2", "B3", "B4", "C1", "C2", "C3", "C4", "D2", "D3", "D4",
];

const VITA_3D_MASTER: [&str; 29] = [
    "0M1", "0M2", "0M3", "1M1", "1M2", "2L1.5", "2L2.5", "2M1", "2M2", "2M3", "2R1.5", "2R2.5", "3L1.5", "3L2.5",
    "3M1", "3M2", "3M3", "3R1.5", "3R2.5", "4L1.5", "4L2.5", "4M1", "4M2", "4M3", "4R1.5", "4R2.5", "5M1", "5M2",
    "5M3",
];

/// A VITA classical (A1–D4) or VITA 3D-Master shade, in its canonical spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shade(&'static str);

impl Shade {
    /// Every shade, VITA classical then 3D-Master.
    pub fn all() -> impl Iterator<Item = &'static str> {
        VITA_CLASSICAL.iter().chain(VITA_3D_MASTER.iter()).copied()
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        VITA_CLASSICAL
            .iter()
            .chain(VITA_3D_MASTER.iter())
            .find(|c| c.eq_ignore_ascii_case(s))
            .map(|c| Shade(c))
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl Serialize for Shade {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Shade {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Shade::parse(&s).ok_or_else(|| serde::de::Error::custom("not a VITA shade"))
    }
}

/// One line of the prescription, typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RxItem {
    pub teeth: Vec<Tooth>,
    /// For a bridge: the teeth replaced (the others are abutments).
    #[serde(default)]
    pub pontics: Vec<Tooth>,
    pub restoration: Option<Restoration>,
    pub material: Option<Material>,
    pub shade: Option<Shade>,
    #[serde(default)]
    pub notes: String,
}

/// The prescription, typed. Stored as JSON in this shape.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Rx {
    pub items: Vec<RxItem>,
    #[serde(default)]
    pub notes: String,
}

/// The prescription as a client sends it. A draft may leave out what it
/// does not know yet; submission needs, per item, teeth (except for
/// whole-arch work), a restoration, a material, and a shade for
/// tooth-coloured work.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RxInput {
    #[serde(default)]
    pub tooth_notation: ToothNotation,
    /// At most 32.
    #[serde(default)]
    #[schema(max_items = 32)]
    pub items: Vec<RxItemInput>,
    /// At most 4,000 characters.
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub notes: Option<String>,
}

/// One line of the prescription as a client sends it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RxItemInput {
    /// Each tooth once (52 at most).
    #[serde(default)]
    #[schema(value_type = Vec<ToothInput>, max_items = 52)]
    pub teeth: Vec<String>,
    /// For a bridge: the teeth replaced, each also in `teeth`.
    #[serde(default)]
    #[schema(value_type = Vec<ToothInput>, max_items = 52)]
    pub pontics: Vec<String>,
    #[schema(value_type = Option<Restoration>)]
    pub restoration: Option<String>,
    #[schema(value_type = Option<Material>)]
    pub material: Option<String>,
    #[schema(value_type = Option<Shade>)]
    pub shade: Option<String>,
    /// At most 4,000 characters.
    #[schema(max_length = 4000)]
    pub notes: Option<String>,
}

pub const MAX_ITEMS: usize = 32;
pub const MAX_NOTES: usize = 4000;

fn notes(v: Option<String>, field: String, errors: &mut Vec<FieldError>) -> String {
    let v = v.unwrap_or_default();
    if v.chars().count() > MAX_NOTES {
        errors.push(FieldError::new(
            field,
            "too_long",
            format!("At most {MAX_NOTES} characters."),
        ));
    }
    v
}

fn word<T: FromStr>(
    v: Option<String>,
    field: String,
    allowed: impl Fn() -> String,
    errors: &mut Vec<FieldError>,
) -> Option<T> {
    let v = v?;
    match v.parse() {
        Ok(t) => Some(t),
        Err(_) => {
            errors.push(FieldError::new(
                field,
                "unknown_value",
                format!("Use one of: {}.", allowed()),
            ));
            None
        }
    }
}

impl RxInput {
    /// Parses what a client sent; `prefix` is the path of the Rx in the
    /// request (`rx`). Every problem is reported, with its path.
    pub fn parse(self, prefix: &str) -> Result<Rx, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.items.len() > MAX_ITEMS {
            errors.push(FieldError::new(
                format!("{prefix}.items"),
                "too_many",
                format!("At most {MAX_ITEMS} items."),
            ));
        }
        let notation = self.tooth_notation;
        let mut items = Vec::new();
        for (i, it) in self.items.into_iter().enumerate() {
            let at = format!("{prefix}.items[{i}]");
            items.push(it.parse(notation, &at, &mut errors));
        }
        let notes = notes(self.notes, format!("{prefix}.notes"), &mut errors);
        if errors.is_empty() {
            Ok(Rx { items, notes })
        } else {
            Err(errors)
        }
    }
}

impl RxItemInput {
    /// Parses one item at path `at` (`rx.items[0]`), pushing every problem
    /// onto `errors` in field order; the item is returned even when some of
    /// its fields were rejected (the caller discards it if `errors` is not
    /// empty).
    fn parse(self, notation: ToothNotation, at: &str, errors: &mut Vec<FieldError>) -> RxItem {
        let teeth = parse_teeth(&self.teeth, notation, at, "teeth", errors);
        let pontics = parse_teeth(&self.pontics, notation, at, "pontics", errors);
        for (k, p) in pontics.iter().enumerate() {
            if !teeth.contains(p) {
                errors.push(FieldError::new(
                    format!("{at}.pontics[{k}]"),
                    "pontic_not_in_teeth",
                    format!("Pontic {p} must also be listed in teeth."),
                ));
            }
        }
        let restoration = word::<Restoration>(
            self.restoration,
            format!("{at}.restoration"),
            || names(Restoration::ALL.iter().map(|r| r.as_str())),
            errors,
        );
        let material = word::<Material>(
            self.material,
            format!("{at}.material"),
            || names(Material::ALL.iter().map(|m| m.as_str())),
            errors,
        );
        let shade = parse_shade(self.shade, at, errors);
        let notes = notes(self.notes, format!("{at}.notes"), errors);
        if !pontics.is_empty() && restoration.is_some_and(|r| r != Restoration::Bridge) {
            errors.push(FieldError::new(
                format!("{at}.pontics"),
                "pontics_need_bridge",
                "Only a bridge has pontics.",
            ));
        }
        RxItem {
            teeth,
            pontics,
            restoration,
            material,
            shade,
            notes,
        }
    }
}

/// Parses the list `name` (`teeth` or `pontics`) of the item at `at`, in
/// `notation`; unknown and repeated teeth are reported (`{at}.{name}[k]`)
/// and left out.
fn parse_teeth(
    list: &[String],
    notation: ToothNotation,
    at: &str,
    name: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<Tooth> {
    let mut out: Vec<Tooth> = Vec::new();
    for (k, t) in list.iter().enumerate() {
        match Tooth::parse(t.trim(), notation) {
            Some(tooth) if out.contains(&tooth) => errors.push(FieldError::new(
                format!("{at}.{name}[{k}]"),
                "duplicate_tooth",
                format!("Tooth {tooth} appears twice in this item."),
            )),
            Some(tooth) => out.push(tooth),
            None => errors.push(FieldError::new(
                format!("{at}.{name}[{k}]"),
                "invalid_tooth",
                match notation {
                    ToothNotation::Fdi => {
                        "Use FDI numbers: 11–48, primary teeth 51–85 (or set tooth_notation to \"universal\")."
                    }
                    ToothNotation::Universal => "Use Universal numbers 1–32, primary teeth A–T.",
                },
            )),
        }
    }
    out
}

/// The item's shade: blank means none; anything else must be a VITA shade,
/// or it is reported at `{at}.shade`.
fn parse_shade(v: Option<String>, at: &str, errors: &mut Vec<FieldError>) -> Option<Shade> {
    let s = v.filter(|s| !s.trim().is_empty())?;
    let parsed = Shade::parse(&s);
    if parsed.is_none() {
        errors.push(FieldError::new(
            format!("{at}.shade"),
            "invalid_shade",
            "Use a VITA classical shade (A1–D4) or a VITA 3D-Master shade (such as 2M2).",
        ));
    }
    parsed
}

fn names<'a>(it: impl Iterator<Item = &'a str>) -> String {
    it.collect::<Vec<_>>().join(", ")
}

impl Rx {
    /// The rules for sending the case to labs; every problem, with its path
    /// under `prefix`.
    pub fn check_complete(&self, prefix: &str) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.items.is_empty() {
            errors.push(FieldError::new(
                format!("{prefix}.items"),
                "required",
                "Prescribe at least one item.",
            ));
        }
        for (i, it) in self.items.iter().enumerate() {
            let at = format!("{prefix}.items[{i}]");
            let Some(r) = it.restoration else {
                errors.push(FieldError::new(
                    format!("{at}.restoration"),
                    "required",
                    "Say what the lab should make.",
                ));
                continue;
            };
            if it.material.is_none() && r != Restoration::Other {
                errors.push(FieldError::new(
                    format!("{at}.material"),
                    "required",
                    "Choose a material.",
                ));
            }
            if r.needs_teeth() && it.teeth.is_empty() {
                errors.push(FieldError::new(format!("{at}.teeth"), "required", "Name the teeth."));
            }
            if r.needs_shade() && it.shade.is_none() && it.material.is_none_or(Material::has_shade) {
                errors.push(FieldError::new(
                    format!("{at}.shade"),
                    "required",
                    "A tooth-coloured restoration needs a shade.",
                ));
            }
            if r == Restoration::Bridge {
                errors.extend(bridge_problems(it, &at));
            }
        }
        errors
    }

    /// The services a lab must offer to take this case.
    pub fn services(&self) -> Vec<Restoration> {
        let mut out: Vec<Restoration> = Vec::new();
        for r in self.items.iter().filter_map(|i| i.restoration) {
            if !out.contains(&r) {
                out.push(r);
            }
        }
        out
    }
}

/// A bridge spans neighbouring teeth in one arch, with at least two abutments.
fn bridge_problems(it: &RxItem, at: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let abutments = it.teeth.iter().filter(|t| !it.pontics.contains(t)).count();
    if abutments < 2 {
        errors.push(FieldError::new(
            format!("{at}.teeth"),
            "bridge_needs_abutments",
            "A bridge needs at least two abutment teeth (teeth that are not pontics).",
        ));
    }
    let mut pos: Vec<(u8, u8)> = it.teeth.iter().map(|t| t.arch_position()).collect();
    pos.sort_unstable();
    let contiguous = pos.windows(2).all(|w| w[0].0 == w[1].0 && w[1].1 == w[0].1 + 1);
    if !contiguous {
        errors.push(FieldError::new(
            format!("{at}.teeth"),
            "bridge_not_contiguous",
            "A bridge spans neighbouring teeth in one arch, with no gap.",
        ));
    }
    errors
}

#[cfg(test)]
mod tests;
