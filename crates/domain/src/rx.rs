//! The prescription (Rx): teeth, restorations, materials, shades, and the
//! rules a case must meet before it is sent to labs.
//!
//! Input arrives as plain strings ([`RxInput`]) and is parsed into typed values
//! ([`Rx`]); every problem is reported with the path of the field at fault
//! (`rx.items[1].shade`), all at once. A draft only has to be well formed;
//! [`Rx::check_complete`] holds the rules for submission.

use crate::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

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
            Restoration::FullDenture | Restoration::NightGuard | Restoration::Aligner | Restoration::AllOnX
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Rx {
    pub items: Vec<RxItem>,
    #[serde(default)]
    pub notes: String,
}

/// The prescription as a client sends it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RxInput {
    #[serde(default)]
    pub tooth_notation: ToothNotation,
    #[serde(default)]
    pub items: Vec<RxItemInput>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RxItemInput {
    #[serde(default)]
    pub teeth: Vec<String>,
    #[serde(default)]
    pub pontics: Vec<String>,
    pub restoration: Option<String>,
    pub material: Option<String>,
    pub shade: Option<String>,
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
            let teeth_of = |list: Vec<String>, name: &str, errors: &mut Vec<FieldError>| {
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
                                ToothNotation::Fdi => "Use FDI numbers: 11–48, primary teeth 51–85 (or set tooth_notation to \"universal\").",
                                ToothNotation::Universal => "Use Universal numbers 1–32, primary teeth A–T.",
                            },
                        )),
                    }
                }
                out
            };
            let teeth = teeth_of(it.teeth, "teeth", &mut errors);
            let pontics = teeth_of(it.pontics, "pontics", &mut errors);
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
                it.restoration,
                format!("{at}.restoration"),
                || names(Restoration::ALL.iter().map(|r| r.as_str())),
                &mut errors,
            );
            let material = word::<Material>(
                it.material,
                format!("{at}.material"),
                || names(Material::ALL.iter().map(|m| m.as_str())),
                &mut errors,
            );
            let shade = match it.shade.filter(|s| !s.trim().is_empty()) {
                None => None,
                Some(s) => {
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
            };
            let notes = notes(it.notes, format!("{at}.notes"), &mut errors);
            if !pontics.is_empty() && restoration.is_some_and(|r| r != Restoration::Bridge) {
                errors.push(FieldError::new(
                    format!("{at}.pontics"),
                    "pontics_need_bridge",
                    "Only a bridge has pontics.",
                ));
            }
            items.push(RxItem {
                teeth,
                pontics,
                restoration,
                material,
                shade,
                notes,
            });
        }
        let notes = notes(self.notes, format!("{prefix}.notes"), &mut errors);
        if errors.is_empty() {
            Ok(Rx { items, notes })
        } else {
            Err(errors)
        }
    }
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
mod tests {
    use super::*;

    fn item(teeth: &[&str], r: &str, m: &str, shade: Option<&str>) -> RxItemInput {
        RxItemInput {
            teeth: teeth.iter().map(|s| s.to_string()).collect(),
            restoration: Some(r.into()),
            material: Some(m.into()),
            shade: shade.map(str::to_owned),
            ..RxItemInput::default()
        }
    }

    fn rx(items: Vec<RxItemInput>) -> RxInput {
        RxInput {
            items,
            ..RxInput::default()
        }
    }

    #[test]
    fn fdi_numbers_are_checked() {
        for ok in ["11", "18", "28", "38", "48", "51", "55", "65", "75", "85"] {
            assert!(Tooth::from_fdi(ok).is_some(), "{ok}");
        }
        for bad in ["10", "19", "49", "56", "90", "1", "111", "", "a1", "09"] {
            assert!(Tooth::from_fdi(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn universal_numbers_convert_to_fdi() {
        let u = |s: &str| Tooth::from_universal(s).map(Tooth::fdi);
        assert_eq!(u("1"), Some(18));
        assert_eq!(u("8"), Some(11));
        assert_eq!(u("9"), Some(21));
        assert_eq!(u("16"), Some(28));
        assert_eq!(u("17"), Some(38));
        assert_eq!(u("24"), Some(31));
        assert_eq!(u("25"), Some(41));
        assert_eq!(u("32"), Some(48));
        assert_eq!(u("A"), Some(55));
        assert_eq!(u("E"), Some(51));
        assert_eq!(u("F"), Some(61));
        assert_eq!(u("J"), Some(65));
        assert_eq!(u("K"), Some(75));
        assert_eq!(u("O"), Some(71));
        assert_eq!(u("P"), Some(81));
        assert_eq!(u("t"), Some(85));
        for bad in ["0", "33", "U", "08", "AA", "+8", "-1", " 8"] {
            assert_eq!(u(bad), None, "{bad}");
        }
        // Every Universal number maps to a distinct valid FDI tooth.
        let mut seen = std::collections::HashSet::new();
        for n in 1..=32 {
            let t = Tooth::from_universal(&n.to_string()).unwrap();
            assert!(Tooth::from_fdi(&t.to_string()).is_some());
            assert!(seen.insert(t));
        }
    }

    #[test]
    fn a_universal_rx_is_stored_in_fdi() {
        let mut input = rx(vec![item(&["8", "9"], "crown", "zirconia", Some("a2"))]);
        input.tooth_notation = ToothNotation::Universal;
        let rx = input.parse("rx").unwrap();
        assert_eq!(
            serde_json::to_value(&rx.items[0].teeth).unwrap(),
            serde_json::json!(["11", "21"])
        );
        assert_eq!(rx.items[0].shade.unwrap().as_str(), "A2");
    }

    #[test]
    fn every_malformed_field_is_reported_with_its_path() {
        let mut bad = item(&["11", "99", "11"], "tiara", "zirconia", Some("Z9"));
        bad.pontics = vec!["12".into()];
        let errs = rx(vec![item(&["21"], "crown", "gold", None), bad])
            .parse("rx")
            .unwrap_err();
        let got: Vec<(&str, &str)> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            vec![
                ("rx.items[1].teeth[1]", "invalid_tooth"),
                ("rx.items[1].teeth[2]", "duplicate_tooth"),
                ("rx.items[1].pontics[0]", "pontic_not_in_teeth"),
                ("rx.items[1].restoration", "unknown_value"),
                ("rx.items[1].shade", "invalid_shade"),
            ]
        );
    }

    #[test]
    fn submission_rules() {
        let parse = |items| rx(items).parse("rx").unwrap();
        // A zirconia crown needs a shade; a gold one does not.
        let r = parse(vec![
            item(&["11"], "crown", "gold", None),
            item(&["21"], "crown", "zirconia", None),
        ]);
        let e = r.check_complete("rx");
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].field.as_str(), e[0].code), ("rx.items[1].shade", "required"));
        // No items at all.
        assert_eq!(parse(vec![]).check_complete("rx")[0].field, "rx.items");
        // A night guard needs no teeth; a crown does.
        assert!(
            parse(vec![item(&[], "night_guard", "pmma", None)])
                .check_complete("rx")
                .is_empty()
        );
        assert_eq!(
            parse(vec![item(&[], "crown", "gold", None)]).check_complete("rx")[0].field,
            "rx.items[0].teeth"
        );
    }

    #[test]
    fn bridges_span_neighbours_with_two_abutments() {
        let bridge = |teeth: &[&str], pontics: &[&str]| {
            let mut i = item(teeth, "bridge", "zirconia", Some("A2"));
            i.pontics = pontics.iter().map(|s| s.to_string()).collect();
            rx(vec![i]).parse("rx").unwrap().check_complete("rx")
        };
        assert!(bridge(&["14", "15", "16"], &["15"]).is_empty());
        // Across the midline, given in any order.
        assert!(bridge(&["21", "11", "12"], &["11"]).is_empty());
        assert!(bridge(&["31", "41"], &[]).is_empty());
        let codes = |e: Vec<FieldError>| e.into_iter().map(|e| e.code).collect::<Vec<_>>();
        assert_eq!(codes(bridge(&["14", "16"], &[])), vec!["bridge_not_contiguous"]);
        assert_eq!(codes(bridge(&["14", "15"], &["15"])), vec!["bridge_needs_abutments"]);
        // Upper and lower are different arches.
        assert_eq!(codes(bridge(&["11", "41"], &[])), vec!["bridge_not_contiguous"]);
        // Permanent and primary too.
        assert_eq!(codes(bridge(&["51", "11"], &[])), vec!["bridge_not_contiguous"]);
    }

    #[test]
    fn the_stored_form_reads_back() {
        let r = rx(vec![item(&["36", "37"], "crown", "lithium_disilicate", Some("3m2"))])
            .parse("rx")
            .unwrap();
        let v = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Rx>(&v).unwrap(), r);
        assert!(v.contains("\"3M2\""));
    }
}
