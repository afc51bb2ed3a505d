use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Platform staff roles. Staff belong to no organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    Support,
    PlatformAdmin,
}

impl StaffRole {
    pub const ALL: [Self; 2] = [Self::Support, Self::PlatformAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Support => "support",
            Self::PlatformAdmin => "platform_admin",
        }
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StaffRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "support" => Ok(Self::Support),
            "platform_admin" => Ok(Self::PlatformAdmin),
            other => Err(format!(
                "unknown staff role {other:?}: expected support or platform_admin"
            )),
        }
    }
}

/// Where an organisation's data lives; the first segment of every object key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataRegion {
    Eu,
    Us,
}

impl DataRegion {
    pub const ALL: [Self; 2] = [Self::Eu, Self::Us];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eu => "eu",
            Self::Us => "us",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_roles_parse_from_their_names_only() {
        for r in [StaffRole::Support, StaffRole::PlatformAdmin] {
            assert_eq!(r.as_str().parse::<StaffRole>().unwrap(), r);
        }
        assert!("owner".parse::<StaffRole>().is_err());
    }
}

/// The three kinds of organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Clinic,
    DentalLab,
    ManufacturingLab,
}

impl OrgKind {
    pub const ALL: [Self; 3] = [Self::Clinic, Self::DentalLab, Self::ManufacturingLab];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clinic => "clinic",
            Self::DentalLab => "dental_lab",
            Self::ManufacturingLab => "manufacturing_lab",
        }
    }

    pub fn is_lab(self) -> bool {
        !matches!(self, Self::Clinic)
    }
}

impl FromStr for OrgKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown organisation kind {s:?}: expected clinic, dental_lab or manufacturing_lab"))
    }
}

/// A member's role inside an organisation, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    Owner,
    Admin,
    Member,
}

impl OrgRole {
    pub const ALL: [Self; 3] = [Self::Owner, Self::Admin, Self::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// Owners and admins manage members and credentials.
    pub fn manages(self) -> bool {
        matches!(self, Self::Owner | Self::Admin)
    }
}

impl FromStr for OrgRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}: expected owner, admin or member"))
    }
}

impl FromStr for DataRegion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "eu" => Ok(Self::Eu),
            "us" => Ok(Self::Us),
            other => Err(format!("unknown data region {other:?}: expected eu or us")),
        }
    }
}

#[cfg(test)]
mod org_tests {
    use super::*;

    #[test]
    fn kinds_and_roles_round_trip_and_order() {
        for k in OrgKind::ALL {
            assert_eq!(k.as_str().parse::<OrgKind>().unwrap(), k);
        }
        assert!(OrgKind::DentalLab.is_lab() && !OrgKind::Clinic.is_lab());
        for r in OrgRole::ALL {
            assert_eq!(r.as_str().parse::<OrgRole>().unwrap(), r);
        }
        assert!(OrgRole::Owner < OrgRole::Admin && OrgRole::Admin < OrgRole::Member);
        assert!(OrgRole::Admin.manages() && !OrgRole::Member.manages());
        assert!("dentist".parse::<OrgRole>().is_err());
        assert_eq!("eu".parse::<DataRegion>().unwrap(), DataRegion::Eu);
    }
}
