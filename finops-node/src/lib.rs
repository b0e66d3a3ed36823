//! The native half of the `finops` npm package. Values cross the boundary as JSON strings; `index.js` (the
//! package's entry point) turns them into JS objects, `Error` subclasses, async iterators and AbortSignals. No
//! analysis logic lives here: it converts, maps errors and bridges async.

mod finops;
mod foreign;
mod queue;
mod streams;
pub mod vault;

pub use finops::*;
pub use foreign::*;
pub use queue::*;
pub use streams::*;

use std::sync::Arc;

use finops_core::embed::Embedder;
use finops_core::finops::{Finops, FinopsConfig, RequestOptions};
use finops_core::pipeline::{AnalysisRequest, EventStream};
use finops_core::provider::{
    ChatRequest, ChatStream, Phase, Provider, ScriptedProvider, ScriptedReply,
};
use finops_core::security::Principal;
use finops_core::{Error, Statements, metrics};
use futures::StreamExt;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use serde_json::{Value, json};

/// A core error as a JS error whose message carries its one serialized form ([`Error::payload`]); `index.js`
/// rethrows it as the matching `FinopsError` subclass, generically.
pub(crate) fn js_error(e: &Error) -> napi::Error {
    let payload = serde_json::to_string(&e.payload())
        .unwrap_or_else(|_| json!({"code": e.code(), "message": e.to_string()}).to_string());
    napi::Error::from_reason(format!("FINOPS_ERROR{payload}"))
}

pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> napi::Error {
    js_error(&Error::InvalidArgument {
        field: field.into(),
        reason: reason.into(),
    })
}

/// A principal from its JS object (`tenant`, `role`, optional `client`), checked by the core.
pub(crate) fn principal_from(p: &Value) -> Result<Principal> {
    Principal::from_json(&p.to_string()).map_err(|e| js_error(&e))
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| js_error(&Error::Internal(e.to_string())))
}

/// A count given as a JS number: an integer, not negative; the core checks its range. (napi's `u32` conversion
/// would wrap -1 to 4294967295.)
pub(crate) fn count(field: &str, value: f64) -> Result<usize> {
    if !value.is_finite() || value.fract() != 0.0 || value < 0.0 {
        return Err(invalid(field, "must be a whole number, not negative"));
    }
    // Whole and not negative: the conversion is exact, or saturates past usize::MAX (then out of the core's range).
    Ok(value as usize)
}

/// Parses statements given as JSON text.
pub(crate) fn statements(json: &str) -> Result<Statements> {
    Statements::from_json_str(json).map_err(|e| js_error(&e))
}

/// Every figure of every period, as a JSON array.
#[napi(catch_unwind)]
pub fn compute_metrics(statements_json: String) -> Result<String> {
    let s = statements(&statements_json)?;
    to_json(&metrics::compute_all(&s))
}

/// Statements read from ledger inputs (each a `{name?, bytes}`: a file's name matters for an FEC), as the
/// canonical `finops.statements/v1` JSON with each line's accounts. `options_json` is the core's read options.
#[napi(catch_unwind)]
pub fn read_statements(
    names: Vec<Option<String>>,
    contents: Vec<Buffer>,
    options_json: String,
) -> Result<String> {
    let options: Value =
        serde_json::from_str(&options_json).map_err(|e| invalid("options", e.to_string()))?;
    let options =
        finops_core::ledger::ReadOptions::from_json_value(&options).map_err(|e| js_error(&e))?;
    let sources: Vec<finops_core::ledger::Source<'_>> = names
        .iter()
        .zip(&contents)
        .map(|(name, bytes)| match name {
            Some(n) => finops_core::ledger::Source::named(n, bytes),
            None => finops_core::ledger::Source::new(bytes),
        })
        .collect();
    let statements = finops_core::ledger::read(&sources, &options).map_err(|e| js_error(&e))?;
    Ok(statements.canonical_json())
}

/// Statements from typed lines (`{company, periods: [{label, start, end, lines, accounts?}]}`), totals computed,
/// as canonical JSON.
#[napi(catch_unwind)]
pub fn build_statements(input_json: String) -> Result<String> {
    let input: Value =
        serde_json::from_str(&input_json).map_err(|e| invalid("input", e.to_string()))?;
    let statements = finops_core::statements::StatementsBuilder::from_json_value(&input)
        .map_err(|e| js_error(&e))?;
    Ok(statements.canonical_json())
}

/// The clients of a portfolio (`ids[i]` with `statements[i]`, JSON text) that pass a screen, as JSON.
#[napi(catch_unwind)]
pub fn screen(ids: Vec<String>, statements: Vec<String>, screen_json: String) -> Result<String> {
    use finops_core::portfolio;
    let filter: Value =
        serde_json::from_str(&screen_json).map_err(|e| invalid("screen", e.to_string()))?;
    let filter = portfolio::Screen::from_json_value(&filter).map_err(|e| js_error(&e))?;
    let clients =
        portfolio::clients_from_json(ids.into_iter().zip(statements.iter().map(String::as_str)))
            .map_err(|e| js_error(&e))?;
    to_json(&portfolio::screen(&clients, &filter).map_err(|e| js_error(&e))?)
}

/// Every catalogue figure of every client (`ids[i]` with `documents[i]`) as an Arrow IPC stream: statements
/// documents when `options_json` is `None`, else any input the core reads with those options. Parsed and
/// computed on every core, off the event loop; refused documents are named `{label}[{id}]`.
#[napi(catch_unwind)]
pub async fn compute_metrics_table(
    ids: Vec<String>,
    documents: Vec<Buffer>,
    label: String,
    options_json: Option<String>,
) -> Result<Buffer> {
    let documents: Vec<(String, Vec<u8>)> = ids
        .into_iter()
        .zip(documents.iter().map(|b| b.to_vec()))
        .collect();
    let bytes = tokio::task::spawn_blocking(move || -> finops_core::Result<Vec<u8>> {
        use finops_core::portfolio;
        let options = options_json
            .map(|text| {
                let value: Value = serde_json::from_str(&text).map_err(|e| {
                    finops_core::Error::InvalidArgument {
                        field: "options".into(),
                        reason: e.to_string(),
                    }
                })?;
                finops_core::ledger::ReadOptions::from_json_value(&value)
            })
            .transpose()?;
        let clients = portfolio::clients_from_documents(&documents, options.as_ref(), &label)?;
        let batch = portfolio::metrics_table(&clients)?;
        arrow_ipc_stream(&batch)
            .map_err(|e| finops_core::Error::Internal(format!("writing the Arrow stream: {e}")))
    })
    .await
    .map_err(|e| js_error(&Error::Internal(format!("the table's worker failed: {e}"))))?
    .map_err(|e| js_error(&e))?;
    Ok(bytes.into())
}

/// A record batch as the bytes of an Arrow IPC stream (what `tableFromIPC` of apache-arrow reads).
fn arrow_ipc_stream(
    batch: &finops_core::portfolio::RecordBatch,
) -> std::result::Result<Vec<u8>, finops_core::portfolio::ArrowError> {
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &batch.schema())?;
    writer.write(batch)?;
    writer.finish()?;
    writer.into_inner()
}

/// One client's peer benchmarks among the portfolio's other clients, as JSON (`benchmarks`, `missing`).
#[napi(catch_unwind)]
pub fn peer_benchmarks(
    client: String,
    ids: Vec<String>,
    statements: Vec<String>,
    metrics: Vec<String>,
) -> Result<String> {
    use finops_core::portfolio;
    let wanted = metrics
        .iter()
        .map(|m| m.parse::<finops_core::MetricId>())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| js_error(&e))?;
    let clients =
        portfolio::clients_from_json(ids.into_iter().zip(statements.iter().map(String::as_str)))
            .map_err(|e| js_error(&e))?;
    let (found, missing) =
        portfolio::peer_benchmarks(&client, &clients, &wanted).map_err(|e| js_error(&e))?;
    to_json(&json!({"benchmarks": found, "missing": missing}))
}

/// One expression evaluated exactly, as JSON.
#[napi(catch_unwind)]
pub fn evaluate(statements_json: String, expression: String, period: String) -> Result<String> {
    let s = statements(&statements_json)?;
    let c = metrics::expr::evaluate(&s, &expression, &period).map_err(|e| js_error(&e))?;
    to_json(&c)
}

/// Panics inside the addon, synchronously or in a promise: the tests check that the process survives and the
/// caller gets an error.
#[napi(catch_unwind)]
pub fn panic_for_tests() -> Result<()> {
    boom()
}

/// The same, in a promise.
#[napi]
pub async fn panic_for_tests_async() -> Result<()> {
    boom()
}

fn boom() -> Result<()> {
    let empty: Vec<u8> = Vec::new();
    // An out-of-bounds index, as a bug in finops would.
    let _ = empty[std::hint::black_box(0)];
    Ok(())
}

/// The canonical fingerprint of a statements document.
#[napi(catch_unwind)]
pub fn fingerprint(statements_json: String) -> Result<String> {
    Ok(statements(&statements_json)?.fingerprint().to_string())
}
