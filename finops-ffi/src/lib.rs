//! The uniffi facade of finops for Kotlin (Android, desktop JVM) and Swift (iOS, macOS) hosts. It converts types,
//! maps errors and bridges async; the analysis itself is finops-core's.

mod enums;
mod error;
mod figures;
mod finops;
mod foreign;
mod ledgers;
mod portfolio;
mod providers;
mod requests;
mod results;
mod runtime;
mod vault;

pub use enums::{CacheModeFfi, PhaseFfi, ReviewActionFfi, RoleFfi};
pub use error::*;
pub use figures::*;
pub use finops::*;
pub use foreign::*;
pub use ledgers::*;
pub use portfolio::*;
pub use providers::{ApiKeyFfi, ProviderConfigFfi, ProvidersFfi};
pub use requests::*;
pub use results::*;
pub use runtime::*;

use std::sync::{Arc, Mutex, OnceLock};

use finops_core::cache::CacheOptions;
use finops_core::embed::Embedder;
use finops_core::finops::{FinopsConfig, RequestOptions};
use finops_core::pipeline::{self, AnalysisRequest};
use finops_core::provider::{ChatRequest, ChatStream, Provider};
use finops_core::security::Principal;
use finops_core::{Error, Statements, metrics};
use futures::StreamExt;

uniffi::setup_scaffolding!();
