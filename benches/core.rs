//! Core engine benchmarks: statements parsing + validation, and `compute_all` on the 3-period example.
//! Run: `cargo bench -p finops-benches --bench core`; results go to benches/RESULTS.md.

use criterion::{Criterion, criterion_group, criterion_main};
use finops_core::{Statements, metrics};
use std::hint::black_box;

const BISTRO: &str = include_str!("../examples/data/bistro-saint-denis.json");

fn bench(c: &mut Criterion) {
    c.bench_function("parse_and_validate_3_periods", |b| {
        b.iter(|| Statements::from_json_str(black_box(BISTRO)))
    });
    let statements = match Statements::from_json_str(BISTRO) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("example data refused: {e}");
            return;
        }
    };
    c.bench_function("compute_all_3_periods", |b| {
        b.iter(|| metrics::compute_all(black_box(&statements)))
    });
    // One 28-digit decimal division, the unit of work most figures need (compute_all does about 110).
    let (a, b) = (
        finops_core::Decimal::new(331183260, 2),
        finops_core::Decimal::new(224764928, 2),
    );
    c.bench_function("decimal_division", |bch| {
        bch.iter(|| black_box(a) / black_box(b))
    });
    c.bench_function("expression_parse_and_evaluate", |b| {
        b.iter(|| {
            metrics::expr::evaluate(
                black_box(&statements),
                "revenue / revenue[prev] - 1",
                "FY2023",
            )
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
