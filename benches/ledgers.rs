//! Reading ledgers at scale: a 10,000-account trial balance (PCG, JSON) and a 1,000,000-line FEC.
//!
//! `cargo bench -p finops-benches --bench ledgers` writes both inputs to a temporary folder, then reads each in
//! a child process of this binary (so its peak memory is its own), five times, and prints the median time, the
//! file's size and the child's peak resident memory (VmHWM) above its baseline before reading.

use std::io::Write;
use std::process::Command;
use std::time::Instant;

use finops_core::ledger::{self, CompanyFields, ReadOptions, Source};

fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Child mode: read the file once, print `seconds peak_kib_above_baseline periods`.
fn read_one(path: &str, name: &str) {
    let baseline = peak_kib();
    let start = Instant::now();
    let bytes = std::fs::read(path).unwrap_or_default();
    let options = ReadOptions {
        company: CompanyFields {
            name: Some("Bench".into()),
            currency: Some("EUR".into()),
            ..CompanyFields::default()
        },
        ..ReadOptions::default()
    };
    let result = ledger::read(&[Source::named(name, &bytes)], &options);
    let elapsed = start.elapsed().as_secs_f64();
    match result {
        Ok(s) => println!(
            "{elapsed} {} {}",
            peak_kib().saturating_sub(baseline),
            s.periods().len()
        ),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}

/// A balanced PCG trial balance with `n` accounts spread over classes 1 to 7.
fn trial_balance(n: usize) -> Vec<u8> {
    let prefixes = [
        "101", "164", "401", "411", "512", "215", "281", "370", "706", "607", "641", "613", "661",
        "695",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    let mut accounts = Vec::with_capacity(n);
    let mut sum: i64 = 0;
    for i in 0..n - 1 {
        let prefix = prefixes[i % prefixes.len()];
        // Accumulated depreciation stays below the assets it reduces.
        let cents = if prefix == "281" {
            rng.i64(1..1_000_000)
        } else {
            rng.i64(1..10_000_000)
        };
        // Assets and expenses debit, the rest credit, so every line keeps its natural sign.
        let debit = matches!(prefix.as_bytes()[0], b'2' | b'3' | b'5' | b'6') && prefix != "281"
            || prefix == "411";
        let balance = if debit { cents } else { -cents };
        sum += balance;
        accounts.push(format!(
            r#"{{"account":"{prefix}{:05}","name":"Compte {i}","balance":"{}.{:02}"}}"#,
            i,
            balance / 100,
            (balance % 100).abs()
        ));
    }
    let last = -sum;
    accounts.push(format!(
        r#"{{"account":"110999999","name":"Report à nouveau","balance":"{}{}.{:02}"}}"#,
        if last < 0 { "-" } else { "" },
        (last / 100).abs(),
        (last % 100).abs()
    ));
    format!(
        r#"{{"schema":"finops.trial_balance/v1","company":{{"name":"Bench","currency":"EUR"}},"chart":"pcg","periods":[{{"label":"FY2024","start":"2024-01-01","end":"2024-12-31","accounts":[{}]}}]}}"#,
        accounts.join(",")
    )
    .into_bytes()
}

/// An FEC of `lines` lines: entries of two lines each, a bank line against an income statement account.
fn fec(lines: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(lines * 140);
    out.extend_from_slice(b"JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\tCompAuxLib\tPieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\tValidDate\tMontantdevise\tIdevise\n");
    let mut rng = fastrand::Rng::with_seed(11);
    let counterparts = [
        ("706000", "Prestations de services", false),
        ("607000", "Achats de marchandises", true),
        ("641100", "Salaires", true),
        ("613200", "Locations", true),
    ];
    for entry in 0..lines / 2 {
        let day = 1 + entry % 28;
        let month = 1 + (entry / 28) % 12;
        let date = format!("2024{month:02}{day:02}");
        let (account, name, expense) = counterparts[entry % counterparts.len()];
        let amount = format!("{},{:02}", rng.u32(1..5000), rng.u32(0..100));
        let (bank_debit, bank_credit) = if expense {
            ("0,00", amount.as_str())
        } else {
            (amount.as_str(), "0,00")
        };
        let (other_debit, other_credit) = (bank_credit, bank_debit);
        let _ = writeln!(
            out,
            "BQ\tBanque\t{entry}\t{date}\t512000\tBanque\t\t\tP{entry}\t{date}\tOpération {entry}\t{bank_debit}\t{bank_credit}\t\t\t{date}\t\t"
        );
        let _ = writeln!(
            out,
            "BQ\tBanque\t{entry}\t{date}\t{account}\t{name}\t\t\tP{entry}\t{date}\tOpération {entry}\t{other_debit}\t{other_credit}\t\t\t{date}\t\t"
        );
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn measure(path: &std::path::Path, name: &str) {
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..5 {
        let exe = std::env::current_exe().unwrap_or_default();
        let out = Command::new(exe)
            .args(["--read", &path.display().to_string(), name])
            .output();
        let Ok(out) = out else { return };
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let parts: Vec<&str> = text.split_whitespace().collect();
        if parts.len() < 2 || !out.status.success() {
            eprintln!("{name}: {}", String::from_utf8_lossy(&out.stderr));
            return;
        }
        times.push(parts[0].parse().unwrap_or(0.0));
        peaks.push(parts[1].parse::<f64>().unwrap_or(0.0));
    }
    let peak_mib = median(peaks) / 1024.0;
    let size_mib = size as f64 / (1024.0 * 1024.0);
    println!(
        "{name}: median {:.3} s over 5 reads; file {size_mib:.1} MiB; peak memory above baseline {peak_mib:.1} MiB ({:.2}x the file)",
        median(times),
        peak_mib / size_mib
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--read") {
        read_one(&args[i + 1], &args[i + 2]);
        return;
    }
    let dir = std::env::temp_dir().join(format!("finops-ledger-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let tb = dir.join("trial-balance.json");
    let _ = std::fs::write(&tb, trial_balance(10_000));
    measure(&tb, "trial balance, 10,000 accounts (PCG, JSON)");
    let fec_path = dir.join("123456789FEC20241231.txt");
    let _ = std::fs::write(&fec_path, fec(1_000_000));
    measure(&fec_path, "FEC, 1,000,000 lines");
    let _ = std::fs::remove_dir_all(&dir);
}
