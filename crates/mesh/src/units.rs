//! Which unit a scan's numbers are in. Files carry no units, so the guess
//! comes from size, judged against dental objects: a prepared die or crown is
//! ~8–15 mm, an inlay ~5–10 mm, a quadrant ~30–40 mm, a full arch ~50–80 mm, a
//! model base up to ~150 mm. The guess says how sure it is and why.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Millimeters,
    Inches,
    Meters,
    Micrometers,
}

impl Unit {
    pub fn to_mm(self) -> f64 {
        match self {
            Self::Millimeters => 1.0,
            Self::Inches => 25.4,
            Self::Meters => 1000.0,
            Self::Micrometers => 0.001,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Guess {
    pub unit: Unit,
    pub confidence: Confidence,
    /// The largest extent in millimetres under this guess.
    pub size_mm: f64,
    pub reason: String,
}

/// Guesses from the largest extent of the bounding box, in file units.
pub fn guess(max_extent: f64) -> Guess {
    let g = |unit: Unit, confidence, reason: String| Guess {
        unit,
        confidence,
        size_mm: max_extent * unit.to_mm(),
        reason,
    };
    let e = max_extent;
    if e.is_nan() || e <= 0.0 || !e.is_finite() {
        return g(
            Unit::Millimeters,
            Confidence::Low,
            "the mesh has no extent; assuming millimetres".into(),
        );
    }
    if e < 0.5 {
        let mm = e * 1000.0;
        let conf = if (4.0..=200.0).contains(&mm) {
            Confidence::High
        } else {
            Confidence::Low
        };
        return g(
            Unit::Meters,
            conf,
            format!(
                "{e:.4} units across is far smaller than any dental object in millimetres; as metres it is {mm:.1} mm"
            ),
        );
    }
    if e < 6.0 {
        let mm = e * 25.4;
        if e < 3.5 {
            return g(
                Unit::Inches,
                Confidence::High,
                format!("{e:.3} mm would be smaller than any restoration; as inches it is {mm:.1} mm"),
            );
        }
        return g(
            Unit::Inches,
            Confidence::Low,
            format!(
                "{e:.3} units: as inches {mm:.0} mm (a model); as millimetres it would be an inlay-sized object. \
                 Check the scan's scale"
            ),
        );
    }
    if e <= 400.0 {
        let conf = if e < 9.0 { Confidence::Medium } else { Confidence::High };
        let what = match e {
            x if x < 20.0 => "a single tooth or die",
            x if x < 45.0 => "a quadrant",
            x if x < 100.0 => "a full arch",
            _ => "a model or a tray",
        };
        return g(Unit::Millimeters, conf, format!("{e:.1} mm across fits {what}"));
    }
    if e < 5000.0 {
        return g(
            Unit::Millimeters,
            Confidence::Low,
            format!("{e:.0} mm across is larger than any dental object; check the scan's scale"),
        );
    }
    g(
        Unit::Micrometers,
        Confidence::Medium,
        format!("{e:.0} units across; as micrometres it is {:.1} mm", e / 1000.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dental_sizes() {
        assert_eq!(
            guess(10.0).unit,
            Unit::Millimeters,
            "a 10 mm die is millimetres, not inches"
        );
        assert_eq!(guess(65.0).unit, Unit::Millimeters, "a full arch");
        assert_eq!(guess(0.065).unit, Unit::Meters, "a full arch in metres is tiny");
        assert_eq!(guess(2.5).unit, Unit::Inches);
        assert_eq!(guess(60_000.0).unit, Unit::Micrometers);
        assert_eq!(guess(5.0).confidence, Confidence::Low, "5 units is ambiguous");
        assert!((guess(2.0).size_mm - 50.8).abs() < 1e-9);
    }
}
