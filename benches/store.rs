//! Store throughput: save (encrypt + write + audit entry) and load (read + decrypt + access check) of a whole
//! `Analysis` through the vault, on SQLite (a file) and on PostgreSQL (when `FINOPS_TEST_POSTGRES_URL` is set).
//! Run: `cargo bench -p finops-benches --bench store`; results go to benches/RESULTS.md.

use std::sync::Arc;
use std::time::Instant;

use finops_core::pipeline::{AnalysisRequest, Pipeline};
use finops_core::security::Principal;
use finops_core::security::crypto::{LocalKeyProvider, SecretKey};
use finops_core::store::{PostgresStore, SqliteStore, Store, Vault};
use finops_core::{Analysis, Statements};

const BISTRO: &str = include_str!("../examples/data/bistro-saint-denis.json");
const N: usize = 1000;

async fn run(
    name: &str,
    store: Arc<dyn Store>,
    template: &Analysis,
) -> Result<(), finops_core::Error> {
    let vault = Vault::open(
        store,
        Arc::new(LocalKeyProvider::new("m", SecretKey::generate()?)),
    )
    .await?;
    let tenant = format!("bench-{}", std::process::id());
    let cpa = Principal::cpa(&tenant)?;
    let analyses: Vec<Analysis> = (0..N)
        .map(|i| {
            let mut a = template.clone();
            a.id = format!("a{i}");
            a.tenant.clone_from(&tenant);
            a
        })
        .collect();
    let t = Instant::now();
    for a in &analyses {
        vault.save_analysis(&cpa, a).await?;
    }
    let write = t.elapsed();
    let t = Instant::now();
    for a in &analyses {
        vault.load_analysis(&cpa, &tenant, &a.id).await?;
    }
    let read = t.elapsed();
    println!(
        "{name:<22} save {:>7.0}/s ({:.0} µs each)   load {:>7.0}/s ({:.0} µs each)",
        N as f64 / write.as_secs_f64(),
        write.as_secs_f64() * 1e6 / N as f64,
        N as f64 / read.as_secs_f64(),
        read.as_secs_f64() * 1e6 / N as f64
    );
    Ok(())
}

fn main() {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return eprintln!("{e}"),
    };
    let result: Result<(), finops_core::Error> = rt.block_on(async {
        let statements = Statements::from_json_str(BISTRO)?;
        let a = Pipeline::offline().analyze(AnalysisRequest::new(statements, "Full financial health check")).await?;
        let size = serde_json::to_vec(&a).map(|v| v.len()).unwrap_or(0);
        println!("one Analysis = {size} bytes of JSON (health check, 78 figures); {N} saves then {N} loads, one at a time");
        let dir = std::env::temp_dir().join(format!("finops-bench-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        run("SQLite (file, WAL)", Arc::new(SqliteStore::open(&dir.join("finops.db")).await?), &a).await?;
        let _ = std::fs::remove_dir_all(&dir);
        match std::env::var("FINOPS_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => run("PostgreSQL (loopback)", Arc::new(PostgresStore::connect(&url).await?), &a).await?,
            _ => println!("PostgreSQL: FINOPS_TEST_POSTGRES_URL is not set (run scripts/services): not measured"),
        }
        Ok(())
    });
    if let Err(e) = result {
        eprintln!("{e}");
    }
}
