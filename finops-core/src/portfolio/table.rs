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

use super::{Client, parallel, unique_ids};
use crate::error::{Error, Result};
use crate::metrics::{Basis, MetricId, engine_value};

/// The `schema` entry of the table's metadata.
pub const TABLE_SCHEMA: &str = "finops.metrics_table/v1";

/// Decimal digits of the `value` column (Arrow's largest for decimal128).
pub const VALUE_PRECISION: u8 = 38;

/// One figure's outcome, as a worker computes it.
struct Cell {
    value: std::result::Result<Decimal, String>,
    /// The nearest float to the value.
    float: Option<f64>,
    basis: Basis,
}

/// Every catalogue metric for every period of every client, as one `RecordBatch` (rows by client in the
/// portfolio's order, then periods oldest first, then metrics in catalogue order). The values are those of
/// [`crate::metrics::compute_all`]. Client ids must be unique and not empty.
pub fn metrics_table(clients: &[Client]) -> Result<RecordBatch> {
    unique_ids(clients)?;
    let cells: Vec<Vec<Cell>> = parallel(clients, |client| {
        let s = &client.statements;
        let mut out = Vec::with_capacity(s.periods().len() * MetricId::ALL.len());
        for index in 0..s.periods().len() {
            for metric in MetricId::ALL {
                let (value, basis) = engine_value(s, index, *metric);
                let float = value.as_ref().ok().map(|v| nearest_f64(*v));
                out.push(Cell {
                    value,
                    float,
                    basis,
                });
            }
        }
        out
    });
    let rows: usize = cells.iter().map(Vec::len).sum();

    // Keys of the per-client columns, one per row.
    let mut client_keys = Vec::with_capacity(rows);
    let mut company = Interner::default();
    let mut sector = Interner::default();
    let mut naics = Interner::default();
    let mut period = Interner::default();
    let (mut company_keys, mut sector_keys, mut naics_keys, mut period_keys) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    let mut period_end = Vec::with_capacity(rows);
    let mut metric_keys = Vec::with_capacity(rows);
    for (ci, client) in clients.iter().enumerate() {
        let key = i32::try_from(ci).map_err(|_| too_many("clients"))?;
        let c = client.statements.company();
        let company_key = company.key(&c.name)?;
        let sector_key = c.sector.as_deref().map(|s| sector.key(s)).transpose()?;
        let naics_key = c.naics.as_deref().map(|s| naics.key(s)).transpose()?;
        for p in client.statements.periods() {
            let period_key = period.key(&p.label)?;
            let end = days_since_epoch(p.end)?;
            for (mi, _) in MetricId::ALL.iter().enumerate() {
                client_keys.push(key);
                company_keys.push(Some(company_key));
                sector_keys.push(sector_key);
                naics_keys.push(naics_key);
                period_keys.push(Some(period_key));
                period_end.push(end);
                metric_keys.push(i32::try_from(mi).map_err(|_| too_many("metrics"))?);
            }
        }
    }

    let (scale, rounded) = value_scale(cells.iter().flatten());
    let mut values = Vec::with_capacity(rows);
    let mut floats = Vec::with_capacity(rows);
    let mut unit_keys = Vec::with_capacity(rows);
    let mut basis_keys = Vec::with_capacity(rows);
    let mut reason = Interner::default();
    let mut reason_keys = Vec::with_capacity(rows);
    let metric_units: Vec<i32> = MetricId::ALL.iter().map(|m| unit_key(m.unit())).collect();
    for (i, cell) in cells.iter().flatten().enumerate() {
        match &cell.value {
            Ok(v) => {
                values.push(Some(to_i128(*v, scale)?));
                floats.push(cell.float);
                reason_keys.push(None);
            }
            Err(why) => {
                values.push(None);
                floats.push(None);
                reason_keys.push(Some(reason.key(why)?));
            }
        }
        unit_keys.push(metric_units[i % MetricId::ALL.len()]);
        basis_keys.push(match cell.basis {
            Basis::Average => 0,
            Basis::Closing => 1,
        });
    }

    let ids: Vec<&str> = clients.iter().map(|c| c.id.as_str()).collect();
    let metric_ids: Vec<&str> = MetricId::ALL.iter().map(|m| m.id()).collect();
    let columns: Vec<ArrayRef> = vec![
        dictionary(client_keys.into_iter().map(Some).collect(), &ids)?,
        dictionary(company_keys, &company.values)?,
        dictionary(sector_keys, &sector.values)?,
        dictionary(naics_keys, &naics.values)?,
        dictionary(period_keys, &period.values)?,
        Arc::new(Date32Array::from(period_end)),
        dictionary(metric_keys.into_iter().map(Some).collect(), &metric_ids)?,
        Arc::new(
            Decimal128Array::from(values)
                .with_precision_and_scale(VALUE_PRECISION, scale)
                .map_err(internal)?,
        ),
        Arc::new(Float64Array::from(floats)),
        dictionary(unit_keys.into_iter().map(Some).collect(), &UNITS)?,
        dictionary(basis_keys.into_iter().map(Some).collect(), &BASES)?,
        dictionary(reason_keys, &reason.values)?,
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

/// The `value` column's scale, and how many values it rounds: the most decimals any value has, lowered so that
/// the longest integer part still fits in [`VALUE_PRECISION`] digits.
fn value_scale<'a>(cells: impl Iterator<Item = &'a Cell>) -> (i8, usize) {
    let mut decimals = 0u32;
    let mut integer_digits = 0u32;
    let mut scales = [0usize; 29];
    for v in cells.filter_map(|c| c.value.as_ref().ok()) {
        let digits = v
            .mantissa()
            .unsigned_abs()
            .checked_ilog10()
            .map_or(0, |d| d + 1);
        decimals = decimals.max(v.scale());
        integer_digits = integer_digits.max(digits.saturating_sub(v.scale()));
        if let Some(n) = scales.get_mut(v.scale() as usize) {
            *n += 1;
        }
    }
    let scale = decimals.min(u32::from(VALUE_PRECISION).saturating_sub(integer_digits));
    let rounded = scales.iter().skip(scale as usize + 1).sum();
    // At most 28: rust_decimal's largest scale.
    (i8::try_from(scale).unwrap_or(28), rounded)
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

fn dictionary<S: AsRef<str>>(keys: Vec<Option<i32>>, values: &[S]) -> Result<ArrayRef> {
    let values = StringArray::from_iter_values(values.iter().map(AsRef::as_ref));
    let array = DictionaryArray::<Int32Type>::try_new(Int32Array::from(keys), Arc::new(values))
        .map_err(internal)?;
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
