//! A firm's portfolio: screening clients on a figure ("every client whose current ratio is below 1 in its latest
//! year") and peer benchmarks within the firm (a client's position among the firm's other clients of its sector),
//! exact and traceable like every figure. Work is spread over the machine's cores.
//!
//! ```
//! use finops_core::portfolio::{Client, Comparison, PeriodSelector, Screen, screen};
//! use finops_core::{Decimal, MetricId, Statements};
//! # let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/bistro-saint-denis.json"))?;
//! let clients = vec![Client::new("bistro", Statements::from_json_str(&json)?)];
//! let weak = screen(&clients, &Screen::new(MetricId::CurrentRatio, Comparison::Lt, Decimal::from(2)))?;
//! assert_eq!(weak[0].client, "bistro");                       // 1.81 in FY2023, its latest year
//! assert_eq!(&*weak[0].figures[0].period, "FY2023");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[cfg(feature = "arrow")]
mod table;
/// The Arrow types of [`metrics_table`]'s result, re-exported so hosts use the same version as finops.
#[cfg(feature = "arrow")]
pub use arrow_array::RecordBatch;
#[cfg(feature = "arrow")]
pub use arrow_schema::{ArrowError, Schema};
#[cfg(feature = "arrow")]
pub use table::{TABLE_SCHEMA, VALUE_PRECISION, metrics_table};

use crate::error::{Error, Result};
use crate::metrics::{self, Figure, MetricId};
use crate::statements::Statements;

/// The fewest other companies a peer cohort may hold: a smaller group would let a client's position reveal its
/// peers' figures.
pub const MIN_COHORT: usize = 5;

/// One client of the firm: its id in the host's books and its statements.
#[derive(Debug, Clone)]
pub struct Client {
    /// The host's id for the client (unique in the portfolio).
    pub id: String,
    /// The client's statements.
    pub statements: Arc<Statements>,
}

impl Client {
    /// A client of the portfolio.
    pub fn new(id: impl Into<String>, statements: impl Into<Arc<Statements>>) -> Self {
        Client {
            id: id.into(),
            statements: statements.into(),
        }
    }
}

/// Which periods of each client a screen looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodSelector {
    /// Each client's most recent period.
    Latest,
    /// Every period: a client matches when any of its periods does, and every matching period is returned.
    Each,
    /// The period with this label (clients without it do not match).
    Label(String),
}

impl std::str::FromStr for PeriodSelector {
    type Err = Error;

    /// `latest`, `each`, or a period's label.
    fn from_str(s: &str) -> Result<PeriodSelector> {
        Ok(match s.trim() {
            "" => return Err(Error::invalid_argument("period", "must not be empty")),
            "latest" => PeriodSelector::Latest,
            "each" => PeriodSelector::Each,
            label => PeriodSelector::Label(label.to_string()),
        })
    }
}

/// How a figure compares with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// `<`: strictly below the threshold.
    Lt,
    /// `<=`: at or below.
    Le,
    /// `>`: strictly above.
    Gt,
    /// `>=`: at or above.
    Ge,
    /// `==`: equal.
    Eq,
    /// `!=`: different.
    Ne,
}

impl Comparison {
    fn holds(self, value: Decimal, threshold: Decimal) -> bool {
        match self {
            Comparison::Lt => value < threshold,
            Comparison::Le => value <= threshold,
            Comparison::Gt => value > threshold,
            Comparison::Ge => value >= threshold,
            Comparison::Eq => value == threshold,
            Comparison::Ne => value != threshold,
        }
    }
}

impl std::str::FromStr for Comparison {
    type Err = Error;

    fn from_str(s: &str) -> Result<Comparison> {
        Ok(match s.trim() {
            "<" | "lt" => Comparison::Lt,
            "<=" | "le" => Comparison::Le,
            ">" | "gt" => Comparison::Gt,
            ">=" | "ge" => Comparison::Ge,
            "==" | "=" | "eq" => Comparison::Eq,
            "!=" | "ne" => Comparison::Ne,
            other => {
                return Err(Error::invalid_argument(
                    "comparison",
                    format!("`{other}` is not a comparison; expected <, <=, >, >=, == or !="),
                ));
            }
        })
    }
}

/// A typed filter over a portfolio.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    /// The metric compared.
    pub metric: MetricId,
    /// Which period of each client.
    pub period: PeriodSelector,
    /// How the figure is compared with the threshold.
    pub comparison: Comparison,
    /// In the figure's unit: percentages are fractions (0.25 is 25 %), days are days.
    pub threshold: Decimal,
    /// Only clients whose NAICS code starts with these digits.
    pub naics_prefix: Option<String>,
    /// Only clients whose sector is this one (compared without case).
    pub sector: Option<String>,
}

impl Screen {
    /// A screen on each client's latest period, over every sector.
    pub fn new(metric: MetricId, comparison: Comparison, threshold: Decimal) -> Self {
        Screen {
            metric,
            period: PeriodSelector::Latest,
            comparison,
            threshold,
            naics_prefix: None,
            sector: None,
        }
    }

    fn check(&self) -> Result<()> {
        if let Some(p) = &self.naics_prefix
            && (p.is_empty() || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(Error::invalid_argument(
                "naics_prefix",
                format!("\"{p}\" is not the start of a NAICS code (1 to 6 digits)"),
            ));
        }
        if let Some(s) = &self.sector
            && s.trim().is_empty()
        {
            return Err(Error::invalid_argument("sector", "must not be empty"));
        }
        if let PeriodSelector::Label(l) = &self.period
            && l.trim().is_empty()
        {
            return Err(Error::invalid_argument(
                "period",
                "a period label must not be empty",
            ));
        }
        Ok(())
    }

    fn admits(&self, statements: &Statements) -> bool {
        let company = statements.company();
        let naics_ok = self
            .naics_prefix
            .as_deref()
            .is_none_or(|p| company.naics.as_deref().is_some_and(|n| n.starts_with(p)));
        let sector_ok = self.sector.as_deref().is_none_or(|s| {
            company
                .sector
                .as_deref()
                .is_some_and(|c| c.trim().to_lowercase() == s.trim().to_lowercase())
        });
        naics_ok && sector_ok
    }
}

impl Screen {
    /// A screen as bindings pass it: `{"metric": "current_ratio", "op": "<", "threshold": "1", "period": "latest" |
    /// "each" | label, "naics_prefix": "7225", "sector": "restaurants"}` (threshold a decimal string or a number).
    pub fn from_json_value(value: &serde_json::Value) -> Result<Screen> {
        let map = value
            .as_object()
            .ok_or_else(|| Error::invalid_argument("screen", "must be an object"))?;
        for key in map.keys() {
            if ![
                "metric",
                "op",
                "threshold",
                "period",
                "naics_prefix",
                "sector",
            ]
            .contains(&key.as_str())
            {
                return Err(Error::invalid_argument(
                    key,
                    "unknown field; expected one of: metric, op, threshold, period, naics_prefix, sector",
                ));
            }
        }
        let text = |key: &str| -> Result<Option<String>> {
            match map.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Error::invalid_argument(key, "must be a string")),
            }
        };
        let required = |key: &str| -> Result<String> {
            text(key)?.ok_or_else(|| Error::invalid_argument(key, "missing"))
        };
        let threshold = match map.get("threshold") {
            Some(v @ (serde_json::Value::String(_) | serde_json::Value::Number(_))) => {
                crate::statements::parse_amount(v)
                    .map_err(|reason| Error::invalid_argument("threshold", reason))?
            }
            _ => {
                return Err(Error::invalid_argument(
                    "threshold",
                    "missing; a decimal string or a number",
                ));
            }
        };
        let screen = Screen {
            metric: required("metric")?.parse()?,
            period: text("period")?.as_deref().unwrap_or("latest").parse()?,
            comparison: required("op")?.parse()?,
            threshold,
            naics_prefix: text("naics_prefix")?,
            sector: text("sector")?,
        };
        screen.check()?;
        Ok(screen)
    }
}

/// A client that passed a screen, with the figures that matched (each with its provenance).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenMatch {
    /// The client's id.
    pub client: String,
    /// The company's name.
    pub company: String,
    /// The figures that matched, one per screen.
    pub figures: Vec<Figure>,
}

/// The clients that pass a screen, in the portfolio's order. A figure that cannot be computed never matches.
/// Client ids must be unique.
pub fn screen(clients: &[Client], screen: &Screen) -> Result<Vec<ScreenMatch>> {
    screen.check()?;
    unique_ids(clients)?;
    let matches = parallel(clients, |client| {
        if !screen.admits(&client.statements) {
            return None;
        }
        let s = &client.statements;
        let labels: Vec<&str> = match &screen.period {
            PeriodSelector::Latest => vec![&*s.latest().label],
            PeriodSelector::Each => s.periods().iter().map(|p| &*p.label).collect(),
            PeriodSelector::Label(l) => s.period(l).map(|p| vec![&*p.label]).unwrap_or_default(),
        };
        let figures: Vec<Figure> = labels
            .into_iter()
            .filter_map(|label| metrics::compute_one(s, screen.metric, label).ok())
            .filter(|f| {
                f.value
                    .is_some_and(|v| screen.comparison.holds(v, screen.threshold))
            })
            .collect();
        (!figures.is_empty()).then(|| ScreenMatch {
            client: client.id.clone(),
            company: s.company().name.clone(),
            figures,
        })
    });
    Ok(matches.into_iter().flatten().collect())
}

/// Where a client stands among its peers on one metric, in its latest period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Benchmark {
    /// Stable id the analysis phases cite: `peer_<metric>@<period>`.
    pub id: String,
    /// The metric.
    pub metric: MetricId,
    /// The client's latest period that has the figure.
    pub period: Arc<str>,
    /// The client's own figure (with its provenance).
    pub figure: Figure,
    /// How the cohort was chosen: the NAICS prefix shared (the longest with enough companies), or the sector.
    pub cohort: String,
    /// Other companies in the cohort with a value for the metric (never fewer than [`MIN_COHORT`]).
    pub cohort_size: usize,
    /// Share of the cohort whose value is below the client's (ties count half), in percent, 2 decimals.
    pub percentile: Decimal,
    /// 1 (lowest values) to 4 (highest values); whether high is good depends on the metric.
    pub quartile: u8,
}

/// A metric a client cannot be benchmarked on, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoBenchmark {
    /// The metric.
    pub metric: MetricId,
    /// Why (no value in the latest period, a cohort under the minimum, …).
    pub reason: String,
}

/// A client's peer benchmarks: one per metric (every catalogue metric when `metrics` is empty), each client at its
/// latest period. The cohort is the other clients sharing the longest NAICS prefix (6 digits down to 2) that holds
/// at least [`MIN_COHORT`] of them with a value, else the same sector; with fewer, nothing is said about the metric.
pub fn peer_benchmarks(
    client_id: &str,
    clients: &[Client],
    metrics: &[MetricId],
) -> Result<(Vec<Benchmark>, Vec<NoBenchmark>)> {
    unique_ids(clients)?;
    let Some(client) = clients.iter().find(|c| c.id == client_id) else {
        return Err(Error::invalid_argument(
            "client",
            format!("no client `{client_id}` in the portfolio"),
        ));
    };
    let wanted: Vec<MetricId> = if metrics.is_empty() {
        MetricId::ALL.to_vec()
    } else {
        metrics.to_vec()
    };
    let latest = |c: &Client, m: MetricId| -> Option<(Figure, Decimal)> {
        let label = c.statements.latest().label.clone();
        let f = metrics::compute_one(&c.statements, m, &label).ok()?;
        let v = f.value?;
        Some((f, v))
    };
    let peers: Vec<&Client> = clients.iter().filter(|c| c.id != client_id).collect();
    // Every peer's latest values, once, on every core (values only: peers' provenance is never shown).
    let peer_values: Vec<Vec<Option<Decimal>>> = parallel(&peers, |peer| {
        let s = &peer.statements;
        let index = s.periods().len().saturating_sub(1);
        wanted
            .iter()
            .map(|m| metrics::engine_value(s, index, *m).0.ok())
            .collect()
    });
    let company = client.statements.company();
    let mut benchmarks = Vec::new();
    let mut missing = Vec::new();
    for (k, metric) in wanted.iter().enumerate() {
        let Some((figure, value)) = latest(client, *metric) else {
            missing.push(NoBenchmark {
                metric: *metric,
                reason: "the client's own figure cannot be computed for its latest period".into(),
            });
            continue;
        };
        let with_value = |keep: &dyn Fn(&Statements) -> bool| -> Vec<Decimal> {
            peers
                .iter()
                .zip(&peer_values)
                .filter(|(p, _)| keep(&p.statements))
                .filter_map(|(_, values)| values[k])
                .collect()
        };
        let mut cohort = None;
        if let Some(naics) = company.naics.as_deref() {
            for len in (2..=naics.len().min(6)).rev() {
                let prefix = &naics[..len];
                let values = with_value(&|s: &Statements| {
                    s.company()
                        .naics
                        .as_deref()
                        .is_some_and(|n| n.starts_with(prefix))
                });
                if values.len() >= MIN_COHORT {
                    cohort = Some((format!("NAICS {prefix}"), values));
                    break;
                }
            }
        }
        if cohort.is_none()
            && let Some(sector) = company.sector.as_deref()
        {
            let folded = sector.trim().to_lowercase();
            let values = with_value(&|s: &Statements| {
                s.company()
                    .sector
                    .as_deref()
                    .is_some_and(|x| x.trim().to_lowercase() == folded)
            });
            if values.len() >= MIN_COHORT {
                cohort = Some((format!("sector {sector}"), values));
            }
        }
        let Some((cohort, values)) = cohort else {
            missing.push(NoBenchmark {
                metric: *metric,
                reason: format!(
                    "fewer than {MIN_COHORT} other clients of the same sector have this figure; a smaller group is never compared"
                ),
            });
            continue;
        };
        let below = values.iter().filter(|v| **v < value).count();
        let equal = values.iter().filter(|v| **v == value).count();
        let n = Decimal::from(values.len());
        // (below + equal / 2) / n, in percent: exact, rounded to 2 decimals.
        let percentile = ((Decimal::from(below) * Decimal::TWO + Decimal::from(equal))
            * Decimal::ONE_HUNDRED
            / (n * Decimal::TWO))
            .round_dp(2);
        let quartile = if percentile >= Decimal::from(75) {
            4
        } else if percentile >= Decimal::from(50) {
            3
        } else if percentile >= Decimal::from(25) {
            2
        } else {
            1
        };
        benchmarks.push(Benchmark {
            id: format!("peer_{}@{}", metric.id(), figure.period),
            metric: *metric,
            period: figure.period.clone(),
            figure,
            cohort,
            cohort_size: values.len(),
            percentile,
            quartile,
        });
    }
    Ok((benchmarks, missing))
}

/// Clients from `(id, finops.statements/v1 JSON)` pairs, as bindings hold them, parsed on every core; a refused
/// document's fields are named under its client (`clients[bistro].periods[0].balance_sheet.cash`).
pub fn clients_from_json<'a>(
    pairs: impl IntoIterator<Item = (String, &'a str)>,
) -> Result<Vec<Client>> {
    let documents: Vec<(String, &[u8])> = pairs
        .into_iter()
        .map(|(id, json)| (id, json.as_bytes()))
        .collect();
    clients_from_documents(&documents, None, "clients")
}

/// Clients from `(id, document)` pairs, parsed on every core: `finops.statements/v1` documents when `read` is
/// `None`, else any input [`crate::ledger::read_one`] takes with those options (one document per client). A
/// refused document's fields are named under `{label}[{id}]`, e.g. `sources[3].periods[0].balance_sheet.cash`.
/// Client ids must be unique.
pub fn clients_from_documents<B: AsRef<[u8]> + Sync>(
    documents: &[(String, B)],
    read: Option<&crate::ledger::ReadOptions>,
    label: &str,
) -> Result<Vec<Client>> {
    let parsed = parallel(documents, |(id, bytes)| {
        let statements = match read {
            None => Statements::from_json_slice(bytes.as_ref()),
            Some(options) => crate::ledger::read_one(bytes.as_ref(), options),
        };
        statements
            .map(|s| Client::new(id.clone(), s))
            .map_err(|e| under(e, &format!("{label}[{id}]")))
    });
    let clients = parsed.into_iter().collect::<Result<Vec<Client>>>()?;
    unique_ids(&clients)?;
    Ok(clients)
}

/// The error with its fields named under `prefix`.
fn under(e: Error, prefix: &str) -> Error {
    let join = |field: &str| {
        // A ledger reader names its one input `sources[0]`: that is this document.
        let field = field.strip_prefix("sources[0]").unwrap_or(field);
        if field == "$" || field.is_empty() {
            prefix.to_string()
        } else if field.starts_with(['[', ':', '.']) {
            format!("{prefix}{field}")
        } else {
            format!("{prefix}.{field}")
        }
    };
    match e {
        Error::InvalidStatements { issues, .. } => Error::invalid_statements(
            issues
                .into_iter()
                .map(|i| crate::error::FieldIssue::new(join(&i.field), i.reason))
                .collect(),
        ),
        Error::InvalidArgument { field, reason } => Error::InvalidArgument {
            field: join(&field),
            reason,
        },
        other => other,
    }
}

fn unique_ids(clients: &[Client]) -> Result<()> {
    let mut seen = HashSet::new();
    for (i, c) in clients.iter().enumerate() {
        if c.id.trim().is_empty() {
            return Err(Error::invalid_argument(
                format!("clients[{i}].id"),
                "must not be empty",
            ));
        }
        if !seen.insert(c.id.as_str()) {
            return Err(Error::invalid_argument(
                format!("clients[{i}].id"),
                format!(
                    "`{}` appears twice; client ids are unique in a portfolio",
                    c.id
                ),
            ));
        }
    }
    Ok(())
}

/// `work` over the items on every core, results in the items' order.
fn parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    chunked(items, |part| part.iter().map(&work).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
}

/// `work` over one contiguous part of the items per core (one part when there are few), parts in order.
fn chunked<T: Sync, R: Send>(items: &[T], work: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if threads < 2 || items.len() < 64 {
        return vec![work(items)];
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| work(part)))
            .collect();
        handles
            .into_iter()
            // A worker's panic is the caller's: nothing is dropped silently.
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}
