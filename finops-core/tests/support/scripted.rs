#![allow(dead_code)]
//! The bistro's statements and a pipeline whose three phases answer from one scripted provider.

use std::sync::Arc;

use finops_core::Statements;
use finops_core::pipeline::Pipeline;
use finops_core::provider::ScriptedProvider;

pub fn bistro() -> Statements {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A pipeline on `provider` for the three phases, and the provider (to read the requests it received).
pub fn pipeline(provider: ScriptedProvider) -> (Pipeline, Arc<ScriptedProvider>) {
    let provider = Arc::new(provider);
    let p = Pipeline::builder()
        .provider(
            provider.clone(),
            "planner-model",
            "research-model",
            "validator-model",
        )
        .build();
    (p, provider)
}
