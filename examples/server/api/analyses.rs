//! Submitting analyses, reading them, cancelling them, downloading their reports.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use finops_core::ledger::{self, ReadOptions, Source};
use finops_core::queue::{self, JobSpec};
use finops_core::security::{Principal, Role};
use finops_core::{Analysis, Error, Language};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A submission as JSON. Either `statements` (a `finops.statements/v1` document) or `sources` (files in any
/// format finops reads: trial balances, FEC, QuickBooks or Xero exports, statements), not both.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitJson {
    /// A `finops.statements/v1` document.
    #[schema(value_type = Object)]
    pub statements: Option<serde_json::Value>,
    /// Files, each as text (`content`) or base64 (`content_base64`, for FEC files in Latin-1).
    pub sources: Option<Vec<SourceJson>>,
    /// The question, in French or English.
    pub question: String,
    /// `fr` or `en` (detected from the question when absent).
    pub language: Option<String>,
    /// The client company's id (a slug of its name when absent).
    pub client: Option<String>,
    /// How to read the sources: `{format, chart, company: {name, currency, …}, unmapped, overrides}`.
    #[schema(value_type = Object)]
    pub options: Option<serde_json::Value>,
}

/// One uploaded file.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceJson {
    /// Its name (shown in errors; `.csv` and `.txt` help detection).
    pub name: String,
    /// Its text.
    pub content: Option<String>,
    /// Its bytes in base64.
    pub content_base64: Option<String>,
}

/// A job accepted.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Submitted {
    /// The job's id (and, once it succeeded, its analysis's).
    pub id: String,
    /// `queued`.
    pub status: String,
    /// Where to read it.
    pub location: String,
    /// Its live events (server-sent events).
    pub events: String,
}

/// A job and, once it succeeded, its analysis and review.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnalysisView {
    /// The job's id.
    pub id: String,
    /// `queued`, `running`, `succeeded`, `dead` or `cancelled`.
    pub status: String,
    /// Attempts so far (not shown to Clients).
    pub attempts: Option<u32>,
    /// The last failure.
    pub error: Option<String>,
    /// The analysis (figures with their formulas and inputs, report, usage and cost).
    #[schema(value_type = Object)]
    pub analysis: Option<Analysis>,
    /// The review: status, notes, sign-off.
    #[schema(value_type = Object)]
    pub review: Option<finops_core::store::Review>,
    /// The report as HTML (from its Markdown; raw HTML in it shown as text).
    pub report_html: Option<String>,
    /// Each figure's value as the report's language writes it, by figure id (`68,97 %`).
    pub display: Option<std::collections::BTreeMap<String, String>>,
}

impl AnalysisView {
    fn new(
        id: String,
        status: String,
        attempts: Option<u32>,
        error: Option<String>,
        result: Option<(Analysis, finops_core::store::Review)>,
    ) -> Self {
        let (analysis, review) = match result {
            Some((a, r)) => (Some(a), Some(r)),
            None => (None, None),
        };
        AnalysisView {
            report_html: analysis
                .as_ref()
                .map(|a| crate::export::markdown(&a.report)),
            display: analysis.as_ref().map(|a| {
                a.figures
                    .iter()
                    .map(|f| (f.id.clone(), crate::export::figure_value(a, f)))
                    .collect()
            }),
            id,
            status,
            attempts,
            error,
            analysis,
            review,
        }
    }
}

/// One stored analysis in a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnalysisSummary {
    /// Its id.
    pub id: String,
    /// The client company.
    pub client: String,
    /// The question asked.
    pub question: String,
    /// `fr` or `en`.
    pub language: String,
    /// `validator`, `validator_repaired` or `offline`.
    pub report_source: String,
    /// Whether a fallback answered.
    pub degraded: bool,
    /// Whether every number of the report matches a computed figure.
    pub grounded: bool,
    /// Model cost in USD, when known.
    pub total_cost_usd: Option<String>,
    /// `draft`, `reviewed` or `signed_off`.
    pub review_status: String,
}

/// What a submission carries once read, before the statements are parsed.
struct Upload {
    files: Vec<(String, Vec<u8>)>,
    question: Option<String>,
    language: Option<String>,
    client: Option<String>,
    options: serde_json::Map<String, serde_json::Value>,
}

/// A multipart failure as an answer: 413 past the body limit, else 400 naming the part.
fn multipart_error(
    field: &str,
    e: &axum::extract::multipart::MultipartError,
    limit: usize,
) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large("body", limit)
    } else {
        ApiError::bad_request(field, e.body_text())
    }
}

async fn read_multipart(mut form: Multipart, limit: usize) -> ApiResult<Upload> {
    let mut upload = Upload {
        files: Vec::new(),
        question: None,
        language: None,
        client: None,
        options: serde_json::Map::new(),
    };
    let mut company = serde_json::Map::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| multipart_error("body", &e, limit))?
    {
        let name = field.name().unwrap_or_default().to_string();
        if let Some(file_name) = field.file_name().map(str::to_string) {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| multipart_error(&name, &e, limit))?;
            if !bytes.is_empty() {
                upload.files.push((file_name, bytes.to_vec()));
            }
            continue;
        }
        let text = field
            .text()
            .await
            .map_err(|e| multipart_error(&name, &e, limit))?;
        let value = || serde_json::Value::String(text.clone());
        match name.as_str() {
            "question" => upload.question = Some(text),
            "language" if !text.is_empty() => upload.language = Some(text),
            "client" if !text.is_empty() => upload.client = Some(text),
            "format" | "chart" | "unmapped" if !text.is_empty() => {
                upload.options.insert(name, value());
            }
            "company_name" | "currency" | "sector" | "jurisdiction" | "naics"
                if !text.is_empty() =>
            {
                let key = name.strip_prefix("company_").unwrap_or(&name).to_string();
                company.insert(key, value());
            }
            "language" | "client" | "format" | "chart" | "unmapped" | "company_name"
            | "currency" | "sector" | "jurisdiction" | "naics" => {}
            other => {
                return Err(ApiError::bad_request(
                    other,
                    "unknown form field; expected question, language, client, format, chart, unmapped, \
                     company_name, currency, sector, jurisdiction, naics and files",
                ));
            }
        }
    }
    if !company.is_empty() {
        upload
            .options
            .insert("company".into(), serde_json::Value::Object(company));
    }
    Ok(upload)
}

fn read_json(bytes: &[u8]) -> ApiResult<Upload> {
    let body: SubmitJson = super::parse_json(bytes)?;
    let mut files = Vec::new();
    match (body.statements, body.sources) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "sources",
                "give `statements` or `sources`, not both",
            ));
        }
        (Some(doc), None) => {
            files.push(("statements.json".to_string(), doc.to_string().into_bytes()))
        }
        (None, Some(sources)) => {
            for (i, s) in sources.into_iter().enumerate() {
                let bytes = match (s.content, s.content_base64) {
                    (Some(text), None) => text.into_bytes(),
                    (None, Some(b64)) => base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .map_err(|e| {
                            ApiError::bad_request(
                                &format!("sources[{i}].content_base64"),
                                format!("not base64: {e}"),
                            )
                        })?,
                    _ => {
                        return Err(ApiError::bad_request(
                            &format!("sources[{i}]"),
                            "give exactly one of `content` and `content_base64`",
                        ));
                    }
                };
                files.push((s.name, bytes));
            }
        }
        (None, None) => {}
    }
    let options = match body.options {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(map)) => map,
        Some(_) => return Err(ApiError::bad_request("options", "must be an object")),
    };
    Ok(Upload {
        files,
        question: Some(body.question),
        language: body.language,
        client: body.client,
        options,
    })
}

/// Starts an analysis (JSON, or a multipart form with `question`, `language`, `client`, `format`, `chart`,
/// `company_name`, `currency` and files): the statements (JSON, or files in a multipart form) are read and checked now, so a bad
/// upload is refused here naming the file and the field; the job then waits for a worker.
#[utoipa::path(post, path = "/v1/analyses", tag = "analyses",
    request_body(content(
        (SubmitJson = "application/json"),
        (Object = "multipart/form-data")
    )),
    params(("Idempotency-Key" = Option<String>, Header, description = "Submitting the same key again returns the same job")),
    responses(
        (status = 202, description = "Accepted", body = Submitted),
        (status = 400, description = "A refused field, named"), (status = 401, description = "No valid token"),
        (status = 403, description = "Clients may not submit"), (status = 413, description = "Body too large"),
        (status = 429, description = "Rate limited; see Retry-After")),
    security(("bearer" = [])))]
pub async fn submit(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    axum::Extension(trace): axum::Extension<crate::telemetry::TraceContext>,
    request: Request,
) -> ApiResult<Response> {
    let principal = caller.require(&[Role::Cpa, Role::Admin], "start an analysis")?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let limit = state.max_body_bytes;
    let upload = if content_type.starts_with("multipart/form-data") {
        let form = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::bad_request("body", e.body_text()))?;
        read_multipart(form, limit).await?
    } else if content_type.starts_with("application/json") {
        let bytes = Bytes::from_request(request, &state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large("body", limit),
                _ => ApiError::bad_request("body", e.body_text()),
            })?;
        read_json(&bytes)?
    } else {
        return Err(ApiError::bad_request(
            "Content-Type",
            "must be application/json or multipart/form-data",
        ));
    };
    let question = upload
        .question
        .ok_or_else(|| ApiError::bad_request("question", "is required"))?;
    if upload.files.is_empty() {
        return Err(ApiError::bad_request(
            "statements",
            "no statements: give a document or at least one file",
        ));
    }
    let language = upload
        .language
        .map(|l| l.parse::<Language>())
        .transpose()
        .map_err(|e| ApiError::bad_request("language", e.to_string()))?;
    let options = ReadOptions::from_json_value(&serde_json::Value::Object(upload.options))?;
    let sources: Vec<Source<'_>> = upload
        .files
        .iter()
        .map(|(name, bytes)| Source::named(name, bytes))
        .collect();
    let statements = ledger::read(&sources, &options)?;
    let key = match headers.get("idempotency-key") {
        Some(v) => v
            .to_str()
            .map_err(|_| ApiError::bad_request("Idempotency-Key", "must be text"))?
            .to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let mut spec = JobSpec::new(
        principal.tenant.clone(),
        key,
        statements.canonical_json(),
        question,
    );
    spec.client = upload.client;
    spec.language = language;
    spec.events = true;
    spec.traceparent = Some(trace.0);
    let id = state.queue.enqueue(&spec).await.map_err(|e| match e {
        Error::InvalidArgument { field, reason } if field == "idempotency_key" => {
            ApiError::bad_request("Idempotency-Key", reason)
        }
        other => other.into(),
    })?;
    state.metrics.submitted.inc();
    let location = format!("/v1/analyses/{id}");
    let body = Submitted {
        events: format!("{location}/events"),
        location: location.clone(),
        status: "queued".into(),
        id,
    };
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        axum::Json(body),
    )
        .into_response())
}

/// The analysis `id` as `principal` may read it (404 when it may not: another firm's, another company's).
pub async fn load(state: &AppState, principal: &Principal, id: &str) -> ApiResult<Analysis> {
    match state
        .vault
        .load_analysis(principal, &principal.tenant, id)
        .await
    {
        Ok(a) => Ok(a),
        // A Client is not told whether another company's analysis, or one awaiting sign-off, exists.
        Err(Error::AccessDenied { .. }) if principal.role == Role::Client => {
            Err(ApiError::not_found("analysis"))
        }
        Err(e) => Err(e.into()),
    }
}

/// A job's status and, once it succeeded, its analysis and review. A Client sees only its own company's
/// signed-off analyses (and no job details).
#[utoipa::path(get, path = "/v1/analyses/{id}", tag = "analyses",
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, body = AnalysisView), (status = 404, description = "No such analysis in your firm")),
    security(("bearer" = [])))]
pub async fn get_analysis(
    State(state): State<Arc<AppState>>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<AnalysisView>> {
    if principal.role == Role::Client {
        let analysis = load(&state, &principal, &id).await?;
        let review = state
            .vault
            .review(&principal, &principal.tenant, &id)
            .await?;
        return Ok(axum::Json(AnalysisView::new(
            id,
            "succeeded".into(),
            None,
            None,
            Some((analysis, review)),
        )));
    }
    let info = queue::status_for(state.queue.as_ref(), &principal, &id).await?;
    let (status, attempts, error, result_id) = match info {
        Some(i) => (
            i.status.id().to_string(),
            Some(i.attempts),
            i.error,
            i.result_id,
        ),
        // Ended jobs leave the queue after its retention; their analyses stay in the vault.
        None => ("succeeded".to_string(), None, None, Some(id.clone())),
    };
    let result = match result_id {
        Some(rid) => {
            let analysis = load(&state, &principal, &rid).await?;
            let review = state
                .vault
                .review(&principal, &principal.tenant, &rid)
                .await?;
            Some((analysis, review))
        }
        None => None,
    };
    Ok(axum::Json(AnalysisView::new(
        id, status, attempts, error, result,
    )))
}

/// The stored analyses the caller may see, oldest first (a Client: its own company's, signed off).
#[utoipa::path(get, path = "/v1/analyses", tag = "analyses",
    responses((status = 200, body = Vec<AnalysisSummary>)), security(("bearer" = [])))]
pub async fn list_analyses(
    State(state): State<Arc<AppState>>,
    Caller(principal): Caller,
) -> ApiResult<axum::Json<Vec<AnalysisSummary>>> {
    let analyses = state.vault.list_analyses(&principal).await?;
    let mut out = Vec::with_capacity(analyses.len());
    for a in analyses {
        let review = state
            .vault
            .review(&principal, &principal.tenant, &a.id)
            .await?;
        out.push(AnalysisSummary {
            review_status: label(&review.status),
            report_source: label(&a.report_source),
            language: a.language.id().to_string(),
            grounded: a.validation.grounded,
            total_cost_usd: a.total_cost_usd.map(|c| c.to_string()),
            degraded: a.degraded,
            question: a.question,
            client: a.client,
            id: a.id,
        });
    }
    Ok(axum::Json(out))
}

/// A serde enum's name.
pub fn label(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Cancels a queued or running job (its worker stops and stores nothing). CPAs and Admins of the firm.
#[utoipa::path(delete, path = "/v1/analyses/{id}", tag = "analyses",
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "The job's status after the call"), (status = 404)),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<serde_json::Value>> {
    let principal = caller.require(&[Role::Cpa, Role::Admin], "cancel an analysis")?;
    match queue::cancel_for(state.queue.as_ref(), principal, &id).await? {
        Some(status) => Ok(axum::Json(
            serde_json::json!({"id": id, "status": status.id()}),
        )),
        None => Err(ApiError::not_found("analysis")),
    }
}

/// The report as a file: `html` (the memo and every figure), `xlsx` (figures with their formulas and inputs),
/// `pdf`.
#[utoipa::path(get, path = "/v1/analyses/{id}/report.{format}", tag = "analyses",
    params(("id" = String, Path), ("format" = String, Path, description = "html, pdf or xlsx")),
    responses((status = 200, description = "The file"), (status = 404)), security(("bearer" = [])))]
pub async fn report(
    State(state): State<Arc<AppState>>,
    Caller(principal): Caller,
    Path((id, format)): Path<(String, String)>,
) -> ApiResult<Response> {
    let analysis = load(&state, &principal, &id).await?;
    let review = state
        .vault
        .review(&principal, &principal.tenant, &id)
        .await?;
    let (content_type, bytes) = match format.as_str() {
        "html" => (
            "text/html; charset=utf-8",
            crate::export::html(&analysis, &review).into_bytes(),
        ),
        "xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            crate::export::xlsx(&analysis)?,
        ),
        "pdf" => ("application/pdf", crate::export::pdf(&analysis, &review)?),
        _ => return Err(ApiError::not_found("report format")),
    };
    let disposition = format!("attachment; filename=\"finops-{id}.{format}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
