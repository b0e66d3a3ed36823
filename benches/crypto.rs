//! Encryption at rest: AES-256-GCM encrypt + decrypt of a 4 KB record through the tenant keyring (fresh nonce,
//! AAD binding tenant, kind, record id and key id). Prints percentiles over 20,000 round trips.
//! Run: `cargo bench -p finops-benches --bench crypto`; results go to benches/RESULTS.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use finops_core::security::crypto::{Keyring, LocalKeyProvider, SecretKey};

fn main() {
    let key = match SecretKey::generate() {
        Ok(k) => k,
        Err(e) => return eprintln!("{e}"),
    };
    let ring = Keyring::new(Arc::new(LocalKeyProvider::new("m1", key)));
    let record = vec![0x5au8; 4096];
    let mut times: Vec<Duration> = Vec::with_capacity(20_000);
    for i in 0..22_000 {
        let t = Instant::now();
        let ok = ring
            .encrypt("firm-a", "analysis", "r1", &record)
            .and_then(|s| ring.decrypt("firm-a", "analysis", "r1", &s))
            .is_ok_and(|p| p.len() == record.len());
        let dt = t.elapsed();
        if !ok {
            return eprintln!("a round trip failed: no figures");
        }
        if i >= 2_000 {
            times.push(dt);
        }
    }
    times.sort();
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6;
    println!(
        "encrypt + decrypt, 4 KB record, 20,000 round trips: p50 {:.2} µs, p90 {:.2} µs, p99 {:.2} µs",
        p(0.5),
        p(0.9),
        p(0.99)
    );
}
