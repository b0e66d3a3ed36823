//! Every catalogue figure of a portfolio as one Apache Arrow table (feature `arrow`): one row per client, period
//! and metric, computed on every core, for data teams that want the firm's figures in pandas, polars or DuckDB
//! without giving up exact values.
//!
//! Columns (string columns are dictionary-encoded, so they cost one entry per distinct value):
//!
//! | column | type | |
//! |---|---|---|
//! | `client` | dictionary<int32, utf8> | the client's id in the host's books |
//! | `company`, `sector`, `naics` | dictionary<int32, utf8> | the company's fields (`sector`, `naics` nullable) |
//! | `period` | dictionary<int32, utf8> | the period's label |
//! | `period_end` | date32 | the period's last day |
//! | `metric` | dictionary<int32, utf8> | the catalogue id, e.g. `current_ratio` |
//! | `value` | decimal128(38, s) | the exact value; null when not computable |
//! | `value_f64` | float64 | the same value as a float, for convenience |
//! | `unit`, `basis` | dictionary<int32, utf8> | `ratio`/`percent`/`amount`/`days`; `average`/`closing` |
//! | `reason` | dictionary<int32, utf8> | why the value is null, else null |
//!
//! The `value` column's scale `s` is the largest any value needs (a quotient has up to 28 decimals), lowered only
//! when a very large amount leaves fewer than `s` of the 38 digits; values are then rounded half to even to `s`
//! decimals, and the schema's metadata says how many (`finops.rounded_values`, `finops.value_scale`).
//!
//! ```
//! use finops_core::portfolio::{Client, metrics_table};
//! use finops_core::Statements;
//! # let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/data/bistro-saint-denis.json"))?;
//! let clients = vec![Client::new("bistro", Statements::from_json_str(&json)?)];
//! let table = metrics_table(&clients)?;
//! assert_eq!(table.num_rows(), 3 * finops_core::MetricId::ALL.len());   // 3 years × every metric
//! assert_eq!(table.schema().field(7).name(), "value");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, Date32Array, Decimal128Array, DictionaryArray, Float64Array, Int32Array, RecordBatch,
    StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use super::{Client, chunked, unique_ids};
use crate::error::{Error, Result};
use crate::metrics::{Basis, MetricId, engine_value};

/// The `schema` entry of the table's metadata.
pub const TABLE_SCHEMA: &str = "finops.metrics_table/v1";

/// Decimal digits of the `value` column (Arrow's largest for decimal128).
pub const VALUE_PRECISION: u8 = 38;

/// One worker's clients, computed: the columns that depend on each figure, and what the `value` column's scale
/// must hold.
#[derive(Default)]
struct Part {
    /// The values (zero where not computable: `valid` says which are).
    values: Vec<Decimal>,
    valid: Vec<bool>,
    /// The nearest floats (NaN where not computable).
    floats: Vec<f64>,
    basis: Vec<i32>,
    /// Rows (within the part) whose figure is not computable, with the reason.
    reasons: Vec<(usize, String)>,
    /// The most decimals of any value, the longest integer part, and how many values have each scale.
    decimals: u32,
    integer_digits: u32,
    scales: [usize; 29],
}

impl Part {
    fn compute(clients: &[Client]) -> Part {
        let rows: usize = clients
            .iter()
            .map(|c| c.statements.periods().len() * MetricId::ALL.len())
            .sum();
        let mut part = Part {
            values: Vec::with_capacity(rows),
            valid: Vec::with_capacity(rows),
            floats: Vec::with_capacity(rows),
            basis: Vec::with_capacity(rows),
            ..Part::default()
        };
        for client in clients {
            let s = &client.statements;
            for index in 0..s.periods().len() {
                for metric in MetricId::ALL {
                    let (value, basis) = engine_value(s, index, *metric);
                    part.basis.push(match basis {
                        Basis::Average => 0,
                        Basis::Closing => 1,
                    });
                    match value {
                        Ok(v) => {
                            let digits = v
                                .mantissa()
                                .unsigned_abs()
                                .checked_ilog10()
                                .map_or(0, |d| d + 1);
                            part.decimals = part.decimals.max(v.scale());
                            part.integer_digits =
                                part.integer_digits.max(digits.saturating_sub(v.scale()));
                            if let Some(n) = part.scales.get_mut(v.scale() as usize) {
                                *n += 1;
                            }
                            part.values.push(v);
                            part.valid.push(true);
                            part.floats.push(nearest_f64(v));
                        }
                        Err(why) => {
                            part.reasons.push((part.values.len(), why));
                            part.values.push(Decimal::ZERO);
                            part.valid.push(false);
                            part.floats.push(f64::NAN);
                        }
                    }
                }
            }
        }
        part
    }
}

/// Every catalogue metric for every period of every client, as one `RecordBatch` (rows by client in the
/// portfolio's order, then periods oldest first, then metrics in catalogue order). The values are those of
/// [`crate::metrics::compute_all`]. Client ids must be unique and not empty.
pub fn metrics_table(clients: &[Client]) -> Result<RecordBatch> {
    unique_ids(clients)?;
    // Every figure, on every core: one part per core.
    let parts: Vec<Part> = chunked(clients, Part::compute);
    let rows: usize = parts.iter().map(|p| p.values.len()).sum();

    // The `value` column's scale: the most decimals any value has, lowered so that the longest integer part
    // still fits in the column's digits.
    let decimals = parts.iter().map(|p| p.decimals).max().unwrap_or(0);
    let integer_digits = parts.iter().map(|p| p.integer_digits).max().unwrap_or(0);
    let target = decimals.min(u32::from(VALUE_PRECISION).saturating_sub(integer_digits));
    let rounded: usize = parts
        .iter()
        .flat_map(|p| p.scales.iter().skip(target as usize + 1))
        .sum();
    let scale = i8::try_from(target).map_err(internal)?;
    // The exact values at that scale, one thread per part.
    let convert =
        |p: &Part| -> Result<Vec<i128>> { p.values.iter().map(|v| to_i128(*v, scale)).collect() };
    let converted: Vec<Result<Vec<i128>>> = if parts.len() < 2 {
        parts.iter().map(convert).collect()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .iter()
                .map(|p| scope.spawn(move || convert(p)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    let mut values: Vec<i128> = Vec::with_capacity(rows);
    for c in converted {
        values.extend(c?);
    }
    let mut valid: Vec<bool> = Vec::with_capacity(rows);
    let mut floats: Vec<f64> = Vec::with_capacity(rows);
    let mut basis_keys: Vec<i32> = Vec::with_capacity(rows);
    for p in &parts {
        valid.extend_from_slice(&p.valid);
        floats.extend_from_slice(&p.floats);
        basis_keys.extend_from_slice(&p.basis);
    }
    let nulls = arrow_buffer::NullBuffer::from(valid);

    // The columns that only depend on the client, the period and the metric: written a client at a time.
    let mut company = Interner::default();
    let mut sector = Interner::default();
    let mut naics = Interner::default();
    let mut period = Interner::default();
    let mut client_keys: Vec<i32> = Vec::with_capacity(rows);
    let mut company_keys: Vec<i32> = Vec::with_capacity(rows);
    let mut sector_keys: Vec<Option<i32>> = Vec::with_capacity(rows);
    let mut naics_keys: Vec<Option<i32>> = Vec::with_capacity(rows);
    let mut period_keys: Vec<i32> = Vec::with_capacity(rows);
    let mut period_end: Vec<i32> = Vec::with_capacity(rows);
    let mut metric_keys: Vec<i32> = Vec::with_capacity(rows);
    let mut unit_keys: Vec<i32> = Vec::with_capacity(rows);
    let per_period = MetricId::ALL.len();
    let metric_ids: Vec<&str> = MetricId::ALL.iter().map(|m| m.id()).collect();
    let metric_range: Vec<i32> = (0..per_period)
        .map(|i| i32::try_from(i).map_err(|_| too_many("metrics")))
        .collect::<Result<_>>()?;
    let metric_units: Vec<i32> = MetricId::ALL.iter().map(|m| unit_key(m.unit())).collect();
    for (ci, client) in clients.iter().enumerate() {
        let key = i32::try_from(ci).map_err(|_| too_many("clients"))?;
        let c = client.statements.company();
        let company_key = company.key(&c.name)?;
        let sector_key = c.sector.as_deref().map(|s| sector.key(s)).transpose()?;
        let naics_key = c.naics.as_deref().map(|s| naics.key(s)).transpose()?;
        let n = client.statements.periods().len() * per_period;
        client_keys.extend(std::iter::repeat_n(key, n));
        company_keys.extend(std::iter::repeat_n(company_key, n));
        sector_keys.extend(std::iter::repeat_n(sector_key, n));
        naics_keys.extend(std::iter::repeat_n(naics_key, n));
        for p in client.statements.periods() {
            period_keys.extend(std::iter::repeat_n(period.key(&p.label)?, per_period));
            period_end.extend(std::iter::repeat_n(days_since_epoch(p.end)?, per_period));
            metric_keys.extend_from_slice(&metric_range);
            unit_keys.extend_from_slice(&metric_units);
        }
    }

    // Why a figure is not computable, for its row.
    let mut reason = Interner::default();
    let mut reason_keys: Vec<Option<i32>> = vec![None; rows];
    let mut offset = 0;
    for p in &parts {
        for (row, why) in &p.reasons {
            reason_keys[offset + row] = Some(reason.key(why)?);
        }
        offset += p.values.len();
    }

    let ids: Vec<&str> = clients.iter().map(|c| c.id.as_str()).collect();
    let columns: Vec<ArrayRef> = vec![
        dictionary(Int32Array::from(client_keys), &ids)?,
        dictionary(Int32Array::from(company_keys), &company.values)?,
        dictionary(Int32Array::from(sector_keys), &sector.values)?,
        dictionary(Int32Array::from(naics_keys), &naics.values)?,
        dictionary(Int32Array::from(period_keys), &period.values)?,
        Arc::new(Date32Array::from(period_end)),
        dictionary(Int32Array::from(metric_keys), &metric_ids)?,
        Arc::new(
            Decimal128Array::new(values.into(), Some(nulls.clone()))
                .with_precision_and_scale(VALUE_PRECISION, scale)
                .map_err(internal)?,
        ),
        Arc::new(Float64Array::new(floats.into(), Some(nulls))),
        dictionary(Int32Array::from(unit_keys), &UNITS)?,
        dictionary(Int32Array::from(basis_keys), &BASES)?,
        dictionary(Int32Array::from(reason_keys), &reason.values)?,
    ];
    RecordBatch::try_new(Arc::new(schema(scale, rounded)), columns).map_err(internal)
}

/// The table's schema for a `value` scale, with the metadata the module describes.
fn schema(scale: i8, rounded: usize) -> Schema {
    let text = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let fields = vec![
        Field::new("client", text(), false),
        Field::new("company", text(), false),
        Field::new("sector", text(), true),
        Field::new("naics", text(), true),
        Field::new("period", text(), false),
        Field::new("period_end", DataType::Date32, false),
        Field::new("metric", text(), false),
        Field::new("value", DataType::Decimal128(VALUE_PRECISION, scale), true),
        Field::new("value_f64", DataType::Float64, true),
        Field::new("unit", text(), false),
        Field::new("basis", text(), false),
        Field::new("reason", text(), true),
    ];
    let metadata = HashMap::from([
        ("schema".to_string(), TABLE_SCHEMA.to_string()),
        ("finops.value_scale".to_string(), scale.to_string()),
        ("finops.rounded_values".to_string(), rounded.to_string()),
    ]);
    Schema::new_with_metadata(fields, metadata)
}

const UNITS: [&str; 4] = ["ratio", "percent", "amount", "days"];
const BASES: [&str; 2] = ["average", "closing"];

fn unit_key(unit: crate::metrics::Unit) -> i32 {
    UNITS
        .iter()
        .position(|u| *u == unit.id())
        .and_then(|p| i32::try_from(p).ok())
        .unwrap_or(0)
}

/// The float nearest to `v` (what Python's `float(Decimal)` gives): exact when the digits fit a float's 53 bits
/// and the power of ten is exact; else the digits are written as `<digits>e-<scale>` (no decimal formatting) and
/// read by the standard parser, which rounds correctly.
fn nearest_f64(v: Decimal) -> f64 {
    const POWERS: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let m = v.mantissa();
    let magnitude = m.unsigned_abs();
    if magnitude < 1 << 53
        && let Some(p) = POWERS.get(v.scale() as usize)
    {
        // Both operands exact: IEEE division rounds the quotient correctly.
        return m as f64 / p;
    }
    // Written right to left into a stack buffer: `-`, at most 29 digits (96 bits), `e-`, two digits of scale.
    let mut buf = [0u8; 40];
    let mut at = buf.len();
    let mut put = |b: u8| {
        at -= 1;
        buf[at] = b;
    };
    let scale = v.scale();
    put(b'0' + (scale % 10) as u8);
    put(b'0' + (scale / 10) as u8);
    put(b'-');
    put(b'e');
    // A high part below 10^10 and a low part of 19 digits, each done in u64 arithmetic.
    const E19: u128 = 10_000_000_000_000_000_000;
    let (high, mut low) = ((magnitude / E19) as u64, (magnitude % E19) as u64);
    if high > 0 {
        for _ in 0..19 {
            put(b'0' + (low % 10) as u8);
            low /= 10;
        }
        let mut high = high;
        while high > 0 {
            put(b'0' + (high % 10) as u8);
            high /= 10;
        }
    } else {
        loop {
            put(b'0' + (low % 10) as u8);
            low /= 10;
            if low == 0 {
                break;
            }
        }
    }
    if m < 0 {
        put(b'-');
    }
    std::str::from_utf8(&buf[at..])
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(f64::NAN)
}

/// `v` as a decimal128 of `scale` decimals (rounded half to even when it has more).
fn to_i128(v: Decimal, scale: i8) -> Result<i128> {
    let target = u32::try_from(scale).map_err(internal)?;
    let v = if v.scale() > target {
        v.round_dp_with_strategy(target, RoundingStrategy::MidpointNearestEven)
    } else {
        v
    };
    10i128
        .checked_pow(target - v.scale())
        .and_then(|f| v.mantissa().checked_mul(f))
        .ok_or_else(|| Error::Internal(format!("{v} does not fit a decimal128 of scale {scale}")))
}

fn days_since_epoch(date: NaiveDate) -> Result<i32> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)
        .ok_or_else(|| Error::Internal("1970-01-01 is a date".into()))?;
    i32::try_from((date - epoch).num_days())
        .map_err(|_| Error::Internal(format!("{date} is out of date32's range")))
}

fn dictionary<S: AsRef<str>>(keys: Int32Array, values: &[S]) -> Result<ArrayRef> {
    let values = StringArray::from_iter_values(values.iter().map(AsRef::as_ref));
    let array = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).map_err(internal)?;
    Ok(Arc::new(array))
}

/// Distinct strings in order of first use, each with its dictionary key.
#[derive(Default)]
struct Interner<'a> {
    keys: HashMap<&'a str, i32>,
    values: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn key(&mut self, s: &'a str) -> Result<i32> {
        if let Some(k) = self.keys.get(s) {
            return Ok(*k);
        }
        let k = i32::try_from(self.values.len()).map_err(|_| too_many("distinct values"))?;
        self.keys.insert(s, k);
        self.values.push(s);
        Ok(k)
    }
}

fn too_many(what: &str) -> Error {
    Error::invalid_argument(
        "clients",
        format!("more {what} than an Arrow table's int32 keys hold"),
    )
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("building the metrics table: {e}"))
}
