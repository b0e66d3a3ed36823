//! A firm's portfolio for Kotlin and Swift: screening clients and peer benchmarks within the firm.

use finops_core::portfolio;
use serde_json::json;

use crate::{Figure, FinopsError, figure};

/// One client: the host's id and its `finops.statements/v1` JSON.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ClientFfi {
    pub id: String,
    pub statements_json: String,
}

/// A screen: `op` is `<`, `<=`, `>`, `>=`, `==` or `!=`; `threshold` is exact decimal text in the figure's unit
/// (percentages as fractions); `period` is `latest` (default), `each` or a label.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ScreenFfi {
    pub metric: String,
    pub op: String,
    pub threshold: String,
    #[uniffi(default = None)]
    pub period: Option<String>,
    #[uniffi(default = None)]
    pub naics_prefix: Option<String>,
    #[uniffi(default = None)]
    pub sector: Option<String>,
}

/// A client that passed a screen, with the figures that matched.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ScreenMatchFfi {
    pub client: String,
    pub company: String,
    pub figures: Vec<Figure>,
}

/// Where a client stands among its peers on one metric.
#[derive(Debug, Clone, uniffi::Record)]
pub struct BenchmarkFfi {
    pub id: String,
    pub metric: String,
    pub period: String,
    pub figure: Figure,
    pub cohort: String,
    pub cohort_size: u64,
    /// Exact decimal text, 0 to 100.
    pub percentile: String,
    /// 1 (lowest values) to 4 (highest values).
    pub quartile: u8,
}

/// A metric without a benchmark, and why.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NoBenchmarkFfi {
    pub metric: String,
    pub reason: String,
}

/// A client's benchmarks and the metrics it has none for.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PeerBenchmarksFfi {
    pub benchmarks: Vec<BenchmarkFfi>,
    pub missing: Vec<NoBenchmarkFfi>,
}

fn clients(clients: &[ClientFfi]) -> Result<Vec<portfolio::Client>, FinopsError> {
    Ok(portfolio::clients_from_json(
        clients
            .iter()
            .map(|c| (c.id.clone(), c.statements_json.as_str())),
    )?)
}

/// The clients whose figure passes the screen, in the portfolio's order.
#[uniffi::export]
pub fn screen(
    clients: Vec<ClientFfi>,
    filter: ScreenFfi,
) -> Result<Vec<ScreenMatchFfi>, FinopsError> {
    crate::runtime::guard(|| {
        let filter = portfolio::Screen::from_json_value(&json!({
            "metric": filter.metric, "op": filter.op, "threshold": filter.threshold,
            "period": filter.period, "naics_prefix": filter.naics_prefix, "sector": filter.sector,
        }))?;
        let found = portfolio::screen(&self::clients(&clients)?, &filter)?;
        Ok(found
            .into_iter()
            .map(|m| ScreenMatchFfi {
                client: m.client,
                company: m.company,
                figures: m.figures.iter().map(figure).collect(),
            })
            .collect())
    })
}

/// Where one client stands among the portfolio's other clients of its sector (cohorts of at least five), for the
/// metrics named (every catalogue metric when empty).
#[uniffi::export]
pub fn peer_benchmarks(
    client: String,
    clients: Vec<ClientFfi>,
    metrics: Vec<String>,
) -> Result<PeerBenchmarksFfi, FinopsError> {
    crate::runtime::guard(|| {
        let wanted = metrics
            .iter()
            .map(|m| m.parse::<finops_core::MetricId>())
            .collect::<Result<Vec<_>, _>>()?;
        let (found, missing) =
            portfolio::peer_benchmarks(&client, &self::clients(&clients)?, &wanted)?;
        Ok(PeerBenchmarksFfi {
            benchmarks: found
                .into_iter()
                .map(|b| BenchmarkFfi {
                    id: b.id,
                    metric: b.metric.id().to_string(),
                    period: b.period.to_string(),
                    figure: figure(&b.figure),
                    cohort: b.cohort,
                    cohort_size: b.cohort_size as u64,
                    percentile: b.percentile.to_string(),
                    quartile: b.quartile,
                })
                .collect(),
            missing: missing
                .into_iter()
                .map(|m| NoBenchmarkFfi {
                    metric: m.metric.id().to_string(),
                    reason: m.reason,
                })
                .collect(),
        })
    })
}
