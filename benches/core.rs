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
