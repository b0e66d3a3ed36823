//! Who is asking: the [`Principal`] every operation is scoped by (DESIGN.md "Security and tenancy").

mod principal;

pub use principal::{Principal, Role};
