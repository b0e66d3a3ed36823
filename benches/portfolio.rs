//! A firm's portfolio at scale: screening 10,000 companies × 3 years on one metric, one client's peer
//! benchmarks on every catalogue metric among them, and every figure of all of them as one Arrow table (from the
//! parsed statements, and from their JSON documents).
//!
//! `cargo bench -p finops-benches --bench portfolio` prints the median of five runs of each.

use std::time::Instant;

use finops_core::portfolio::{
    Client, Comparison, Screen, clients_from_documents, metrics_table, peer_benchmarks, screen,
};
use finops_core::statements::{Company, Line, PeriodBuilder};
use finops_core::{Decimal, MetricId, Statements};

fn company(seed: u64) -> Statements {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut c = Company::new(format!("Company {seed}"), "CAD");
    c.naics = Some(["722511", "722513", "541211", "238220"][(seed % 4) as usize].into());
    let mut b = Statements::builder(c);
    for year in 2021..=2023 {
        let mut amount = |hi: i64| Decimal::new(rng.i64(1..hi), 2);
        let mut p = PeriodBuilder::new(
            format!("FY{year}"),
            format!("{year}-01-01"),
            format!("{year}-12-31"),
        );
        let assets = [
            Line::Cash,
            Line::AccountsReceivable,
            Line::OtherCurrentAssets,
            Line::PropertyPlantEquipment,
            Line::OtherNonCurrentAssets,
        ];
        let debts = [
            Line::AccountsPayable,
            Line::ShortTermDebt,
            Line::OtherCurrentLiabilities,
            Line::LongTermDebt,
            Line::OtherNonCurrentLiabilities,
        ];
        let mut total = Decimal::ZERO;
        for l in assets {
            let v = amount(90_000_000);
            total += v;
            p.set(l, v);
        }
        for l in debts {
            let v = amount(30_000_000);
            total -= v;
            p.set(l, v);
        }
        p.set(Line::TotalEquity, total);
        for l in [
            Line::Revenue,
            Line::CostOfGoodsSold,
            Line::OperatingExpenses,
            Line::DepreciationAmortization,
            Line::InterestExpense,
            Line::IncomeTaxExpense,
        ] {
            p.set(l, amount(300_000_000));
        }
        b.push_period(p);
    }
    match b.build() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let start = Instant::now();
    let clients: Vec<Client> = (0..10_000)
        .map(|i| Client::new(format!("c{i}"), company(i)))
        .collect();
    println!(
        "built 10,000 companies x 3 years in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    let filter = Screen::new(MetricId::CurrentRatio, Comparison::Lt, Decimal::ONE);
    let mut times = Vec::new();
    let mut found = 0;
    for _ in 0..5 {
        let t = Instant::now();
        found = screen(&clients, &filter).map(|m| m.len()).unwrap_or(0);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "screen current_ratio < 1 (latest year), 10,000 companies: median {:.1} ms ({found} match)",
        median(times)
    );
    let mut times = Vec::new();
    let mut benchmarked = 0;
    for _ in 0..5 {
        let t = Instant::now();
        benchmarked = peer_benchmarks("c0", &clients, &[])
            .map(|(b, _)| b.len())
            .unwrap_or(0);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "peer benchmarks of one client, every metric, among 9,999 others: median {:.1} ms ({benchmarked} metrics)",
        median(times)
    );
    // Every figure of every client as one Arrow table.
    let mut times = Vec::new();
    let mut rows = 0;
    for _ in 0..5 {
        let t = Instant::now();
        rows = metrics_table(&clients).map(|b| b.num_rows()).unwrap_or(0);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "metrics_table, 10,000 companies x 3 years x 26 metrics: median {:.1} ms ({rows} rows)",
        median(times)
    );
    // From the documents: parsed and validated on every core, then the table.
    let documents: Vec<(String, String)> = clients
        .iter()
        .map(|c| (c.id.clone(), c.statements.canonical_json()))
        .collect();
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        rows = clients_from_documents(&documents, None, "sources")
            .and_then(|c| metrics_table(&c))
            .map(|b| b.num_rows())
            .unwrap_or(0);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "10,000 JSON documents parsed and validated, then metrics_table: median {:.1} ms ({rows} rows)",
        median(times)
    );
}
