//! Closed sets as Kotlin and Swift enums (a misspelt cache mode or role does not compile), each the core's
//! stable id underneath.

/// A principal's role within its firm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RoleFfi {
    Admin,
    Cpa,
    Client,
}

impl From<RoleFfi> for finops_core::Role {
    fn from(r: RoleFfi) -> Self {
        match r {
            RoleFfi::Admin => finops_core::Role::Admin,
            RoleFfi::Cpa => finops_core::Role::Cpa,
            RoleFfi::Client => finops_core::Role::Client,
        }
    }
}

impl From<finops_core::Role> for RoleFfi {
    fn from(r: finops_core::Role) -> Self {
        match r {
            finops_core::Role::Admin => RoleFfi::Admin,
            finops_core::Role::Cpa => RoleFfi::Cpa,
            finops_core::Role::Client => RoleFfi::Client,
        }
    }
}

/// How one request uses the caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CacheModeFfi {
    On,
    Off,
    ReadOnly,
    WriteOnly,
}

impl CacheModeFfi {
    /// The core's id (`read_only`, ...).
    pub(crate) fn id(self) -> &'static str {
        match self {
            CacheModeFfi::On => "on",
            CacheModeFfi::Off => "off",
            CacheModeFfi::ReadOnly => "read_only",
            CacheModeFfi::WriteOnly => "write_only",
        }
    }
}

/// The three phases of an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PhaseFfi {
    Analyst,
    Researcher,
    Validator,
}

impl From<finops_core::Phase> for PhaseFfi {
    fn from(p: finops_core::Phase) -> Self {
        match p {
            finops_core::Phase::Analyst => PhaseFfi::Analyst,
            finops_core::Phase::Researcher => PhaseFfi::Researcher,
            finops_core::Phase::Validator => PhaseFfi::Validator,
        }
    }
}

/// What a CPA does to a review (`Annotate` takes a note).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReviewActionFfi {
    Annotate,
    Reviewed,
    SignOff,
}

impl ReviewActionFfi {
    pub(crate) fn id(self) -> &'static str {
        match self {
            ReviewActionFfi::Annotate => "annotate",
            ReviewActionFfi::Reviewed => "reviewed",
            ReviewActionFfi::SignOff => "sign_off",
        }
    }
}
