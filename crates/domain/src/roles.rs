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
