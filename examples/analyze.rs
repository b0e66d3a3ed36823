//! The main job: read a statements document and report on it.
//!
//! ```text
//! analyze --statements PATH [--statements PATH…] [--format auto|statements|trial-balance|csv|fec|quickbooks|xero]
//!         [--chart gifi|pcg|PATH] [--unmapped-as-other] [--derive-cash-flow] [--company-name NAME] [--sector S] [--naics CODE]
//!         [--jurisdiction J] [--currency CUR]
//!         [--metrics-only] [--json]
//!         [--question TEXT] [--lang fr|en] [--tenant ID] [--client ID] [--data-dir DIR]
//!         [--store postgres://…] [--cache on|off|read-only|write-only]
//! ```
//!
//! `--statements` reads a `finops.statements/v1` document, a trial balance (`finops.trial_balance/v1` JSON, or
//! CSV with `--chart`), French FEC files (one per fiscal year; repeat `--statements`), or QuickBooks Online /
//! Xero report JSON; the format is detected from the content unless `--format` says it. The company's fields a
//! format does not hold (an FEC has no company name) come from `--company-name` and the like, which also
//! override the document's.
//!
//! `--metrics-only` prints every figure of every period. Otherwise the three-phase pipeline answers `--question`
//! (a financial health check when absent) and prints the Markdown report and a one-line summary. Providers come
//! from the environment (`OPENROUTER_API_KEY`, `ANTHROPIC_API_KEY`, `DEEPSEEK_API_KEY`, `OPENAI_API_KEY`,
//! `FINOPS_OPENAI_BASE_URL`, `FINOPS_MODEL_*`: see `finops_core::config`); with none, the offline analyst writes
//! the report. `--json` prints the figures or the whole `Analysis` as JSON.
//!
//! Analyses are saved encrypted under `--data-dir`, and the caches live there too: a later run asking the same
//! (or a close, guard-approved) question about the same numbers for the same tenant is answered from the cache
//! at no provider cost.
//!
//! Exit codes: 0 success, 2 bad input (an error naming the field on stderr, nothing on stdout), 1 other failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use std::sync::Arc;

use finops_core::cache::CacheOptions;
use finops_core::finops::{Finops, FinopsConfig};
use finops_core::ledger::{self, Chart, CompanyFields, ReadOptions, Source, Unmapped};
use finops_core::metrics::{self, Figure, Unit};
use finops_core::pipeline::{Analysis, AnalysisRequest, CacheMode, Language};
use finops_core::security::{Principal, Role};
use finops_core::store::{PostgresStore, Store, Vault, master_key, open_local_vault};
use finops_core::{Decimal, Error, Statements};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Lang {
    Fr,
    En,
}

#[derive(Debug, Parser)]
#[command(
    name = "analyze",
    about = "A validated financial analysis (or every exact figure) from statements, a trial balance, FEC files, or QuickBooks / Xero reports"
)]
struct Args {
    /// An input: a finops.statements/v1 or finops.trial_balance/v1 document, a trial balance CSV, an FEC, or
    /// QuickBooks / Xero report JSON. Repeat for several FEC files or trial balances of one company.
    #[arg(long, required = true)]
    statements: Vec<PathBuf>,
    /// The inputs' format (default: detected from the content).
    #[arg(long, default_value = "auto")]
    format: String,
    /// The chart of accounts of a trial balance: gifi, pcg, or the path of a custom chart (JSON).
    #[arg(long)]
    chart: Option<String>,
    /// Count accounts the chart cannot place in the "other" line of their class, with a warning, instead of
    /// refusing the input.
    #[arg(long)]
    unmapped_as_other: bool,
    /// Derive the cash flow lines of periods without a cash flow statement from consecutive balance sheets
    /// (indirect method; each derived figure lists its terms in its inputs).
    #[arg(long)]
    derive_cash_flow: bool,
    /// The company's name (required for formats that do not hold it, such as an FEC or a CSV).
    #[arg(long)]
    company_name: Option<String>,
    /// The company's sector (e.g. restaurants).
    #[arg(long)]
    sector: Option<String>,
    /// The company's NAICS code.
    #[arg(long)]
    naics: Option<String>,
    /// The company's jurisdiction (e.g. CA-QC, FR).
    #[arg(long)]
    jurisdiction: Option<String>,
    /// The currency of every amount (ISO 4217).
    #[arg(long)]
    currency: Option<String>,
    /// Print every figure of every period instead of an analysis.
    #[arg(long)]
    metrics_only: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The question to analyse, in French or English (default: a financial health check).
    #[arg(long)]
    question: Option<String>,
    /// Report language (detected from the question when absent).
    #[arg(long, value_enum)]
    lang: Option<Lang>,
    /// Tenant (CPA firm) the analysis runs for.
    #[arg(long, default_value = "default")]
    tenant: String,
    /// Client company id (defaults to a slug of the company name).
    #[arg(long)]
    client: Option<String>,
    /// Where the embedded store (an encrypted SQLite file) and its master key file live.
    #[arg(long, default_value = ".finops")]
    data_dir: PathBuf,
    /// A shared PostgreSQL store (`postgres://…`) for the analyses and the caches instead of --data-dir: every
    /// process pointed at it shares them. The master key comes from `FINOPS_MASTER_KEY` (64 hex characters).
    #[arg(long)]
    store: Option<String>,
    /// How this run uses the caches under --data-dir.
    #[arg(long, default_value = "on")]
    cache: String,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            if let Error::InvalidStatements { issues, .. } = &e {
                for issue in issues.iter().skip(1) {
                    eprintln!("error: {issue}");
                }
            }
            match e {
                Error::InvalidStatements { .. } | Error::InvalidArgument { .. } => {
                    ExitCode::from(2)
                }
                _ => ExitCode::from(1),
            }
        }
    }
}

fn run(args: &Args) -> Result<String, Error> {
    let mut inputs = Vec::with_capacity(args.statements.len());
    for path in &args.statements {
        let bytes = std::fs::read(path).map_err(|e| Error::InvalidArgument {
            field: "--statements".into(),
            reason: format!("cannot read {}: {e}", path.display()),
        })?;
        inputs.push((path.display().to_string(), bytes));
    }
    if args
        .question
        .as_deref()
        .is_some_and(|q| q.trim().is_empty())
    {
        return Err(Error::InvalidArgument {
            field: "--question".into(),
            reason: "must not be empty".into(),
        });
    }
    if args.tenant.trim().is_empty() {
        return Err(Error::InvalidArgument {
            field: "--tenant".into(),
            reason: "must not be empty".into(),
        });
    }
    let statements = read_statements(args, &inputs)?;
    for w in statements.warnings() {
        eprintln!("warning: `{}`: {}", w.field, w.message);
    }
    if args.metrics_only {
        let figures = metrics::compute_all(&statements);
        if args.json {
            return serde_json::to_string_pretty(&figures)
                .map_err(|e| Error::Internal(e.to_string()));
        }
        return Ok(table(&statements, &figures));
    }

    let language = args.lang.map(|l| match l {
        Lang::Fr => Language::Fr,
        Lang::En => Language::En,
    });
    let question = match (&args.question, language) {
        (Some(q), _) => q.clone(),
        (None, Some(Language::Fr)) => "Bilan de santé financière complet".to_string(),
        (None, _) => "Full financial health check".to_string(),
    };
    let mut request = AnalysisRequest::new(statements, question)
        .tenant(&args.tenant)
        .cache_mode(CacheMode::parse("--cache", &args.cache)?);
    if let Some(l) = language {
        request = request.language(l);
    }
    if let Some(c) = &args.client {
        request = request.client(c);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    // The operator runs as a CPA of the tenant (for the client given, if any).
    let principal = Principal::new(args.tenant.clone(), Role::Cpa, args.client.clone())?;
    let request = request.principal(principal.clone());
    let analysis = runtime.block_on(async {
        // One encrypted store (under --data-dir, or the shared --store) for the caches and the saved analyses.
        let (vault, options) = match &args.store {
            Some(url) => {
                let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(url).await?);
                let vault = Vault::open(store, master_key(None)?).await?;
                let options = CacheOptions {
                    postgres_url: Some(url.clone()),
                    ..CacheOptions::default()
                };
                (Arc::new(vault), options)
            }
            None => (
                Arc::new(open_local_vault(&args.data_dir).await?),
                CacheOptions::default(),
            ),
        };
        // Providers from the environment, the caches and the vault: every analysis is saved (encrypted, audited)
        // before it is returned.
        let config = FinopsConfig {
            env: Some(true),
            cache: Some(options),
            ..FinopsConfig::default()
        };
        let fo = Finops::builder()
            .config(config)
            .vault(vault)
            .build()
            .await?;
        if fo.has_provider() {
            for route in fo.routes() {
                eprintln!("route: {route}");
            }
        }
        fo.analyze(request).await
    })?;
    let place = match &args.store {
        Some(_) => "the PostgreSQL store".to_string(),
        None => args.data_dir.join("finops.db").display().to_string(),
    };
    eprintln!("saved: analysis {} (encrypted) in {place}", analysis.id);
    if args.json {
        return serde_json::to_string_pretty(&analysis).map_err(|e| Error::Internal(e.to_string()));
    }
    Ok(format!(
        "{}\n{}",
        analysis.report.trim_end(),
        summary(&analysis)
    ))
}

/// One line: figures, cost, cache outcome, who wrote the report, and whether anything degraded.
fn summary(a: &Analysis) -> String {
    let computable = a.figures.iter().filter(|f| f.value.is_some()).count();
    let cost = match a.total_cost_usd {
        Some(c) => format!("${}", c.round_dp(6)),
        None => "unknown".into(),
    };
    let report = serde_json::to_value(a.report_source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut line = format!(
        "\n— {} figures ({computable} computable) · cost {cost} · cache {} · report {report} · grounded {}",
        a.figures.len(),
        serde_json::to_value(a.cache)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        if a.validation.grounded { "yes" } else { "NO" },
    );
    if let Some(saved) = a.saved_usd {
        line.push_str(&format!(" · saved ${}", saved.round_dp(6)));
    }
    if let Some(reason) = &a.degraded_reason {
        line.push_str(&format!(" · degraded: {reason}"));
    }
    line
}

/// The statements from the inputs, in whatever format they are.
fn read_statements(args: &Args, inputs: &[(String, Vec<u8>)]) -> Result<Statements, Error> {
    let chart = args
        .chart
        .as_deref()
        .map(Chart::from_argument)
        .transpose()?;
    let options = ReadOptions {
        format: args.format.parse()?,
        chart,
        company: CompanyFields {
            name: args.company_name.clone(),
            sector: args.sector.clone(),
            naics: args.naics.clone(),
            jurisdiction: args.jurisdiction.clone(),
            currency: args.currency.clone(),
        },
        unmapped: if args.unmapped_as_other {
            Unmapped::Other
        } else {
            Unmapped::Error
        },
        derive_cash_flow: args.derive_cash_flow,
        ..ReadOptions::default()
    };
    let sources: Vec<Source<'_>> = inputs
        .iter()
        .map(|(name, bytes)| Source::named(name, bytes))
        .collect();
    ledger::read(&sources, &options)
}

fn table(statements: &Statements, figures: &[Figure]) -> String {
    let labels: Vec<&str> = statements.periods().iter().map(|p| &*p.label).collect();
    let mut out = format!(
        "{} — {} ({})\n{:<28}",
        statements.company().name,
        labels.join(", "),
        statements.company().currency,
        "metric"
    );
    for l in &labels {
        out.push_str(&format!("{l:>16}"));
    }
    for metric in finops_core::MetricId::ALL {
        out.push_str(&format!("\n{:<28}", metric.id()));
        for l in &labels {
            let cell = figures
                .iter()
                .find(|f| f.metric == *metric && &*f.period == *l)
                .map(cell)
                .unwrap_or_default();
            out.push_str(&format!("{cell:>16}"));
        }
    }
    out
}

fn cell(f: &Figure) -> String {
    let Some(v) = f.value else {
        return "n/a".into();
    };
    match f.unit {
        Unit::Percent => format!("{} %", (v * Decimal::ONE_HUNDRED).round_dp(2)),
        Unit::Amount | Unit::Ratio | Unit::Days => v.round_dp(2).to_string(),
    }
}
