//! Professional credentials and which of them make an organisation verified.

use crate::OrgKind;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A dentist's licence to practise.
    DentalLicense,
    /// US National Provider Identifier.
    Npi,
    /// A dental laboratory's registration.
    LabRegistration,
    /// Registration as a medical-device manufacturer (custom-made devices).
    MedicalDeviceManufacturerRegistration,
    /// ISO 13485 quality-management certificate.
    Iso13485,
    Other,
}

impl CredentialKind {
    pub const ALL: [Self; 6] = [
        Self::DentalLicense,
        Self::Npi,
        Self::LabRegistration,
        Self::MedicalDeviceManufacturerRegistration,
        Self::Iso13485,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DentalLicense => "dental_license",
            Self::Npi => "npi",
            Self::LabRegistration => "lab_registration",
            Self::MedicalDeviceManufacturerRegistration => "medical_device_manufacturer_registration",
            Self::Iso13485 => "iso_13485",
            Self::Other => "other",
        }
    }

    /// Whether an approved, unexpired credential of this kind verifies an
    /// organisation of `org`: clinics by a licence or NPI, labs by a lab or
    /// manufacturer registration or ISO 13485. `other` is kept on record but
    /// verifies no one.
    pub fn fits(self, org: OrgKind) -> bool {
        match org {
            OrgKind::Clinic => matches!(self, Self::DentalLicense | Self::Npi),
            OrgKind::DentalLab | OrgKind::ManufacturingLab => matches!(
                self,
                Self::LabRegistration | Self::MedicalDeviceManufacturerRegistration | Self::Iso13485
            ),
        }
    }
}

impl FromStr for CredentialKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!(
                "unknown credential kind {s:?}: expected one of {}",
                Self::ALL.map(Self::as_str).join(", ")
            )
        })
    }
}

/// What a lab offers: the restorations and appliances of a prescription.
pub const SERVICES: [&str; 14] = [
    "crown",
    "bridge",
    "inlay",
    "onlay",
    "veneer",
    "implant_abutment",
    "implant_crown",
    "full_denture",
    "partial_denture",
    "night_guard",
    "aligner",
    "all_on_x",
    "model",
    "other",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lab_offers_exactly_what_a_prescription_can_ask_for() {
        let restorations: Vec<&str> = crate::rx::Restoration::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(SERVICES.as_slice(), restorations.as_slice());
    }

    #[test]
    fn which_credentials_verify_whom() {
        assert!(CredentialKind::DentalLicense.fits(OrgKind::Clinic));
        assert!(!CredentialKind::DentalLicense.fits(OrgKind::DentalLab));
        assert!(CredentialKind::Iso13485.fits(OrgKind::ManufacturingLab));
        assert!(!CredentialKind::LabRegistration.fits(OrgKind::Clinic));
        for org in OrgKind::ALL {
            assert!(!CredentialKind::Other.fits(org));
        }
        for k in CredentialKind::ALL {
            assert_eq!(k.as_str().parse::<CredentialKind>().unwrap(), k);
        }
    }
}
