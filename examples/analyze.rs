//! The main job: read a statements document and report on it.
//!
//! ```text
//! analyze --statements PATH [--metrics-only] [--json]
//!         [--question TEXT] [--lang fr|en] [--tenant ID] [--client ID] [--data-dir DIR]
//! ```
//!
//! Exit codes: 0 success, 2 bad input (an error naming the field on stderr, nothing on stdout), 1 other failure.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use finops_core::metrics::{self, Figure, Unit};
use finops_core::{Decimal, Error, Statements};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Lang {
    Fr,
    En,
}

#[derive(Debug, Parser)]
#[command(
    name = "analyze",
    about = "Exact financial figures (and, soon, an analysis) from a finops.statements/v1 document"
)]
struct Args {
    /// Path to a finops.statements/v1 JSON document.
    #[arg(long)]
    statements: PathBuf,
    /// Print every figure of every period instead of an analysis.
    #[arg(long)]
    metrics_only: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The question to analyse (the analysis pipeline is not built yet: figures are printed).
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
    /// Where the embedded store and caches will live.
    #[arg(long, default_value = ".finops")]
    data_dir: PathBuf,
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
    let text = std::fs::read(&args.statements).map_err(|e| Error::InvalidArgument {
        field: "--statements".into(),
        reason: format!("cannot read {}: {e}", args.statements.display()),
    })?;
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
    let statements = Statements::from_json_slice(&text)?;
    let figures = metrics::compute_all(&statements);
    for w in statements.warnings() {
        eprintln!("warning: `{}`: {}", w.field, w.message);
    }
    if args.json {
        return serde_json::to_string_pretty(&figures).map_err(|e| Error::Internal(e.to_string()));
    }
    Ok(table(&statements, &figures))
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
