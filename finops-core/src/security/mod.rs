//! Who is asking: the [`Principal`] every operation is scoped by (README "Storage, tenancy and security").

pub mod audit;
pub mod crypto;
pub mod jwt;
pub mod limits;
pub mod pii;

/// Principals are part of the contracts (a request names who asks); re-exported here with the rest of security.
pub use crate::analysis::{Principal, Role};
pub use pii::Pseudonymizer;
