//! Who is asking: the [`Principal`] every operation is scoped by (DESIGN.md "Security and tenancy").

pub mod audit;
pub mod crypto;
pub mod jwt;
pub mod limits;
pub mod pii;
mod principal;

pub use pii::Pseudonymizer;
pub use principal::{Principal, Role};
