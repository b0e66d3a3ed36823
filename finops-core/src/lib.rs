//! # finops-core
//!
//! AI financial analysis for the software accountants already use: a host hands finops a client company's
//! statements (`finops.statements/v1`) and a question in French or English, and gets back exact, traceable
//! figures — and, with the pipeline, a validated report.
//!
//! ```
//! use finops_core::{metrics, Statements};
//!
//! let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/bistro-saint-denis.json"))?;
//! let statements = Statements::from_json_str(&json)?;
//! for figure in metrics::compute_all(&statements).iter().filter(|f| &*f.period == "FY2023").take(3) {
//!     println!("{} = {:?}", figure.id, figure.value);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// Every public item is documented (CI denies warnings, so an undocumented one fails the build).
#![warn(missing_docs)]

pub mod analysis;
pub mod cache;
pub mod config;
pub mod embed;
pub mod error;
pub mod finops;
pub mod ledger;
pub mod metrics;
pub mod pipeline;
pub mod portfolio;
pub mod provider;
pub mod queue;
pub mod security;
pub mod statements;
pub mod store;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
pub(crate) mod testing;

pub use analysis::{Analysis, AnalysisRequest, Event, Language, Phase, Principal, Role};
pub use error::{
    BackendKind, Error, ErrorPayload, FieldIssue, RateLimitScope, Result, TokenRefusal,
};
pub use finops::{Finops, FinopsConfig};
pub use metrics::{Figure, MetricId};
pub use pipeline::Pipeline;
pub use provider::Provider;
pub use rust_decimal::Decimal;
pub use statements::{Statements, Warning};

// The README's Rust snippet is compiled and run as a doc test (paths there are relative to the workspace root).
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

// The Rust guide's samples (docs/guide/rust.md, the mdBook) run the same way, so none rots.
#[doc = include_str!("../../docs/guide/rust.md")]
#[cfg(doctest)]
pub struct RustGuideDoctests;
