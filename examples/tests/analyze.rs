//! The main example's exit codes and output, run as a real process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should abort the test

use std::process::{Command, Output};

fn analyze(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_analyze"));
    // These tests check the offline analyst: no provider may leak in from the caller's environment.
    for var in PROVIDER_VARS {
        cmd.env_remove(var);
    }
    // Tests run in parallel: each gets its own data folder unless it names one.
    if !args.contains(&"--data-dir") {
        cmd.args(["--data-dir", &scratch()]);
    }
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run analyze")
}

/// A fresh folder under the system's temporary directory.
fn scratch() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "finops-example-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    dir.display().to_string()
}

const PROVIDER_VARS: &[&str] = &[
    "OPENROUTER_API_KEY",
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "DEEPSEEK_API_KEY",
    "FINOPS_OPENAI_BASE_URL",
    "FINOPS_MODEL_ANALYST",
    "FINOPS_MODEL_RESEARCHER",
    "FINOPS_MODEL_VALIDATOR",
    "FINOPS_UNPRICED",
    "FINOPS_MASTER_KEY",
];

const BISTRO: &str = "data/bistro-saint-denis.json";

#[test]
fn metrics_only_json_lists_every_figure() {
    let out = analyze(&["--statements", BISTRO, "--metrics-only", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let figures = figures.as_array().unwrap();
    assert_eq!(figures.len(), 3 * 26);
    let gm = figures
        .iter()
        .find(|f| f["metric"] == "gross_margin" && f["period"] == "FY2023")
        .unwrap();
    // (3331832.60 - 1033867.66) / 3331832.60
    assert!(
        gm["value"].as_str().unwrap().starts_with("0.68969999"),
        "{gm}"
    );
    for key in ["unit", "basis", "formula", "inputs"] {
        assert!(gm.get(key).is_some(), "{key}");
    }
    let growth = figures
        .iter()
        .find(|f| f["metric"] == "revenue_growth" && f["period"] == "FY2021")
        .unwrap();
    assert!(growth["value"].is_null());
    assert!(growth["reason"].as_str().unwrap().contains("previous"));
}

#[test]
fn table_and_reserved_flags() {
    let out = analyze(&[
        "--statements",
        BISTRO,
        "--metrics-only",
        "--question",
        "Analyse la rentabilité",
        "--lang",
        "fr",
        "--tenant",
        "cabinet-1",
        "--client",
        "bistro",
        "--data-dir",
        "/tmp/finops-test",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Bistro Saint-Denis inc."));
    assert!(text.contains("gross_margin"));
    assert!(text.contains("68.97 %"), "{text}");
}

#[test]
fn bad_input_exits_2_with_the_field_and_nothing_on_stdout() {
    let dir = std::env::temp_dir().join(format!("finops-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    let text = std::fs::read_to_string(format!("{}/{BISTRO}", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
        .replacen(
            "\"total_assets\": \"2251724.31\"",
            "\"total_assets\": \"2251724.32\"",
            1,
        );
    std::fs::write(&bad, text).unwrap();
    let out = analyze(&["--statements", bad.to_str().unwrap(), "--metrics-only"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("periods[0].balance_sheet.total_assets"),
        "{err}"
    );

    std::fs::write(&bad, "{not json").unwrap();
    let out = analyze(&["--statements", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("malformed JSON"));

    let out = analyze(&["--statements", "does/not/exist.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--statements"));

    let out = analyze(&["--metrics-only"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "missing --statements is a usage error"
    );
    assert!(out.stdout.is_empty());

    let out = analyze(&["--statements", BISTRO, "--lang", "de"]);
    assert_eq!(out.status.code(), Some(2));
    let out = analyze(&["--statements", BISTRO, "--question", "  "]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--question"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn question_mode_prints_the_report_and_a_summary_line() {
    let out = analyze(&[
        "--statements",
        BISTRO,
        "--question",
        "Analyse la rentabilité du bistro sur trois ans",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("## Analyse : rentabilité — FY2021 à FY2023"),
        "{text}"
    );
    assert!(
        text.contains("| Marge brute | 68,97 % | 68,97 % | 68,97 % |"),
        "{text}"
    );
    let summary = text.lines().last().unwrap();
    assert!(
        summary.starts_with(
            "— 21 figures (21 computable) · cost $0 · cache miss · report offline · grounded yes"
        ),
        "{summary}"
    );
    assert!(summary.contains("degraded: aucun fournisseur"), "{summary}");
}

#[test]
fn question_mode_json_is_the_analysis_and_the_default_is_a_health_check() {
    let out = analyze(&["--statements", BISTRO, "--json", "--tenant", "cabinet-1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["tenant"], "cabinet-1");
    let client = a["client"].as_str().unwrap();
    assert!(
        client.starts_with("bistro-saint-denis-inc-"),
        "the default client id is the company's name and a hash of it: {client}"
    );
    assert_eq!(a["language"], "en");
    assert_eq!(a["plan"]["intents"][0], "health_check");
    assert_eq!(a["figures"].as_array().unwrap().len(), 26 * 3);
    assert_eq!(a["validation"]["grounded"], true);
    assert_eq!(a["degraded"], true);

    let out = analyze(&[
        "--statements",
        BISTRO,
        "--lang",
        "fr",
        "--question",
        "How liquid are we?",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("### Chiffres clés") && text.contains("Ratio de liquidité générale"),
        "{text}"
    );
}

#[test]
fn a_bad_provider_setting_exits_2_naming_the_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_analyze"))
        .args(["--statements", BISTRO, "--question", "marges"])
        .args(["--data-dir", &scratch()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("OPENROUTER_API_KEY", "has a space")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("OPENROUTER_API_KEY") && !err.contains("has a space"),
        "{err}"
    );
}

#[test]
fn an_unreachable_provider_degrades_to_the_offline_report() {
    // Port 9 (discard) on loopback: nothing listens, so every call fails fast and the offline analyst answers.
    let out = Command::new(env!("CARGO_BIN_EXE_analyze"))
        .args([
            "--statements",
            BISTRO,
            "--question",
            "Analyse la rentabilité",
            "--json",
        ])
        .args(["--data-dir", &scratch()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("FINOPS_OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["report_source"], "offline");
    assert_eq!(a["degraded"], true);
    assert!(
        a["degraded_reason"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{}",
        a["degraded_reason"]
    );
    assert_eq!(a["usage"][0]["provider"], "local");
    assert_eq!(a["usage"][0]["calls"], 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("route: analyst: local local"));
}

#[test]
fn analyses_are_saved_encrypted_under_the_data_dir() {
    let dir = std::env::temp_dir().join(format!("finops-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // The second process finds the first one's answer in the cache under --data-dir; a third with a close
    // question passes the guard; a fourth about another period does not.
    for (question, outcome) in [
        ("Analyse la rentabilité", "cache miss"),
        ("Analyse la rentabilité", "cache exact"),
        ("Analyse de la rentabilité", "cache semantic"),
        ("Analyse la rentabilité de 2023", "cache miss"),
    ] {
        let out = analyze(&[
            "--statements",
            BISTRO,
            "--question",
            question,
            "--tenant",
            "cabinet-1",
            "--data-dir",
            dir.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("saved: analysis"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(outcome), "{question}: {stdout}");
    }
    let key = std::fs::read_to_string(dir.join("master.key")).unwrap();
    assert_eq!(key.trim().len(), 64, "a 256-bit master key was generated");
    // The database file and its write-ahead log: analyses and cache entries alike are ciphertext.
    let mut db = std::fs::read(dir.join("finops.db")).unwrap();
    db.extend(std::fs::read(dir.join("finops.db-wal")).unwrap_or_default());
    for secret in [
        "Bistro Saint-Denis",
        "bistro-saint-denis",
        "Analyse la rentabilit",
        "Marge brute",
        "3331832.60",
    ] {
        assert!(
            !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "`{secret}` is in the database file"
        );
    }
    // A wrong master key in the environment is refused with the variable named.
    let out = Command::new(env!("CARGO_BIN_EXE_analyze"))
        .args([
            "--statements",
            BISTRO,
            "--question",
            "marges",
            "--data-dir",
            dir.to_str().unwrap(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("FINOPS_MASTER_KEY", "not-hex")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FINOPS_MASTER_KEY"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Two processes on one PostgreSQL store: the second is answered from the first one's cache entry.
#[test]
fn processes_sharing_a_postgresql_store_share_the_caches() {
    let Ok(url) = std::env::var("FINOPS_TEST_POSTGRES_URL") else {
        eprintln!(
            "FINOPS_TEST_POSTGRES_URL is not set: scripts/test starts PostgreSQL and sets it"
        );
        return;
    };
    // A tenant of its own, so earlier runs' entries do not count.
    let tenant = format!("cabinet-{}", std::process::id());
    let key = "7".repeat(64);
    let run = |question: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_analyze"))
            .args([
                "--statements",
                BISTRO,
                "--question",
                question,
                "--tenant",
                &tenant,
                "--store",
                &url,
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("FINOPS_MASTER_KEY", &key)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert!(run("Analyse la rentabilité des trois derniers exercices").contains("cache miss"));
    assert!(run("Analyse la rentabilité des trois derniers exercices").contains("cache exact"));
    assert!(
        run("Analyse de la rentabilité des trois derniers exercices").contains("cache semantic")
    );
    // Without the master key, the shared store is refused with the variable named.
    let out = Command::new(env!("CARGO_BIN_EXE_analyze"))
        .args([
            "--statements",
            BISTRO,
            "--question",
            "marges",
            "--store",
            &url,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("FINOPS_MASTER_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FINOPS_MASTER_KEY"));
}

/// The master key is never silently replaced: an empty `FINOPS_MASTER_KEY` is refused, a data folder whose key
/// file was lost is refused (a new key would orphan the data), and a key file others can read is made private.
#[test]
fn master_keys_are_never_silently_replaced_or_left_readable() {
    let dir = std::path::PathBuf::from(scratch());
    let run = |env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_analyze"));
        for var in PROVIDER_VARS {
            cmd.env_remove(var);
        }
        cmd.args(["--statements", BISTRO, "--question", "marges", "--data-dir"])
            .arg(&dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        match env {
            Some(v) => cmd.env("FINOPS_MASTER_KEY", v),
            None => cmd.env_remove("FINOPS_MASTER_KEY"),
        };
        cmd.output().unwrap()
    };
    for empty in ["", "   "] {
        let out = run(Some(empty));
        assert_eq!(out.status.code(), Some(2), "an empty key is an error");
        assert!(String::from_utf8_lossy(&out.stderr).contains("FINOPS_MASTER_KEY"));
        assert!(
            !dir.join("master.key").exists(),
            "no key file was made instead"
        );
    }
    let out = run(None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = dir.join("master.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = run(None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the key file was made private");
    }
    std::fs::remove_file(&key).unwrap();
    let out = run(None);
    assert_ne!(out.status.code(), Some(0), "a lost key file is an error");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("master key") && stderr.contains("missing"),
        "{stderr}"
    );
    assert!(!key.exists(), "no new key was made over the existing data");
    std::fs::remove_dir_all(&dir).ok();
}

/// Statements past the documented bounds are refused at once, exit 2, the field named.
#[test]
fn statements_past_the_bounds_exit_2_naming_the_field() {
    let text = std::fs::read_to_string(format!("{}/{BISTRO}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let periods = doc["periods"].as_array().unwrap().clone();
    doc["periods"] = serde_json::Value::Array(periods.iter().cycle().take(121).cloned().collect());
    let dir = std::path::PathBuf::from(scratch());
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("many.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = analyze(&[
        "--statements",
        path.to_str().unwrap(),
        "--question",
        "marges",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`periods`"));
    std::fs::remove_dir_all(&dir).ok();
}

/// Every figure's id and value from `--metrics-only --json`, without the cash flow metrics when asked.
fn figure_values(args: &[&str], with_cash_flow: bool) -> Vec<(String, serde_json::Value)> {
    let mut full = args.to_vec();
    full.extend(["--metrics-only", "--json"]);
    let out = analyze(&full);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cash_flow = [
        "operating_cash_flow",
        "capital_expenditures",
        "dividends_paid",
    ];
    let mut values: Vec<(String, serde_json::Value)> = figures
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            with_cash_flow
                || !(f["inputs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| cash_flow.contains(&i["line"].as_str().unwrap()))
                    || f["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains("cash flow")))
        })
        .map(|f| (f["id"].as_str().unwrap().to_string(), f["value"].clone()))
        .collect();
    values.sort_by(|a, b| a.0.cmp(&b.0));
    values
}

#[test]
fn every_ledger_format_gives_the_statements_figures() {
    let expected = figure_values(&["--statements", BISTRO], true);
    let expected_no_cf = figure_values(&["--statements", BISTRO], false);
    assert_eq!(
        figure_values(&["--statements", "data/bistro-saint-denis.gifi.json"], true),
        expected
    );
    assert_eq!(
        figure_values(
            &[
                "--statements",
                "data/bistro-saint-denis.quickbooks.json",
                "--company-name",
                "Bistro Saint-Denis inc."
            ],
            true
        ),
        expected
    );
    assert_eq!(
        figure_values(
            &[
                "--statements",
                "data/bistro-saint-denis.xero.json",
                "--currency",
                "CAD"
            ],
            false
        ),
        expected_no_cf
    );
    assert_eq!(
        figure_values(
            &[
                "--statements",
                "data/bistro-saint-denis.gifi.csv",
                "--chart",
                "gifi",
                "--company-name",
                "Bistro",
                "--currency",
                "CAD"
            ],
            false
        ),
        expected_no_cf
    );
    let fec = |year: &str| format!("data/fec/552100554FEC{year}1231.txt");
    let (a, b, c) = (fec("2021"), fec("2022"), fec("2023"));
    assert_eq!(
        figure_values(
            &[
                "--statements",
                &a,
                "--statements",
                &b,
                "--statements",
                &c,
                "--company-name",
                "Bistro Saint-Denis SAS"
            ],
            false
        ),
        expected_no_cf
    );
    // Figures read from a ledger name their accounts.
    let out = analyze(&[
        "--statements",
        "data/bistro-saint-denis.gifi.json",
        "--metrics-only",
        "--json",
    ]);
    let figures: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let margin = figures
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "gross_margin@FY2023")
        .unwrap();
    assert_eq!(
        margin["inputs"][0]["accounts"][0]["account"], "8000",
        "{margin}"
    );
}

#[test]
fn bad_ledgers_exit_2_naming_the_place() {
    let dir = scratch();
    std::fs::create_dir_all(&dir).unwrap();
    // An unbalanced trial balance names its period.
    let mut tb: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/bistro-saint-denis.gifi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    tb["periods"][2]["accounts"][0]["debit"] = serde_json::json!("1.00");
    let path = format!("{dir}/tb.json");
    std::fs::write(&path, serde_json::to_vec(&tb).unwrap()).unwrap();
    let out = analyze(&["--statements", &path, "--metrics-only"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty());
    assert!(
        err.contains("FY2023") && err.contains("does not balance"),
        "{err}"
    );
    // An unbalanced FEC entry names the entry and its line.
    let fec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/fec/552100554FEC20231231.txt"
    ))
    .unwrap();
    let mut lines: Vec<String> = fec.lines().map(str::to_string).collect();
    let last = lines.len() - 1;
    lines[last] = lines[last].replacen("\t0,00\t", "\t0,01\t", 1);
    let path = format!("{dir}/552100554FEC20231231.txt");
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = analyze(&[
        "--statements",
        &path,
        "--company-name",
        "B",
        "--metrics-only",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("of journal BQ does not balance") && err.contains("line "),
        "{err}"
    );
    // A file in no known format, a bad --format, a missing company name, a chart that is not a file.
    let path = format!("{dir}/notes.txt");
    std::fs::write(&path, "hello").unwrap();
    for args in [
        vec!["--statements", path.as_str()],
        vec!["--statements", BISTRO, "--format", "pdf"],
        vec!["--statements", "data/fec/552100554FEC20231231.txt"],
        vec![
            "--statements",
            "data/bistro-saint-denis.gifi.csv",
            "--chart",
            "/nonexistent.json",
        ],
        vec!["--statements", BISTRO, "--statements", BISTRO],
    ] {
        let mut full = args.clone();
        full.push("--metrics-only");
        let out = analyze(&full);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty());
    }
}
