#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Working papers that cannot be rewritten and an audit trail that shows tampering, on SQLite and (when
//! `FINOPS_TEST_POSTGRES_URL` is set, as `scripts/test` does) PostgreSQL: saving over a stored analysis, sign-off
//! hashes, review notes before sign-off, authenticated and headed audit exports, tails cut in the store, and an
//! erasure racing another process's appends.

use std::sync::Arc;

use finops_core::pipeline::{AnalysisRequest, Pipeline};
use finops_core::security::audit::{self, AuditEntry, AuditLog};
use finops_core::security::crypto::{KeyProvider, LocalKeyProvider, SecretKey};
use finops_core::security::{Principal, Role};
use finops_core::store::{PostgresStore, ReviewAction, SqliteStore, Store, Vault};
use finops_core::{Analysis, Statements};

fn bistro() -> Statements {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn analysis(tenant: &str, client: &str, question: &str) -> Analysis {
    Pipeline::offline()
        .analyze(
            AnalysisRequest::new(bistro(), question)
                .tenant(tenant)
                .client(client),
        )
        .await
        .unwrap()
}

fn keys() -> Arc<dyn KeyProvider> {
    Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()))
}

fn tenant(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

/// Every store the tests run on: SQLite in a file, and PostgreSQL when configured.
async fn stores(name: &str) -> Vec<(String, Arc<dyn Store>)> {
    let dir = std::env::temp_dir().join(format!(
        "finops-wp-{name}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut out: Vec<(String, Arc<dyn Store>)> = vec![(
        "sqlite".into(),
        Arc::new(SqliteStore::open(&dir.join("vault.db")).await.unwrap()),
    )];
    if let Ok(url) = std::env::var("FINOPS_TEST_POSTGRES_URL") {
        out.push((
            "postgres".into(),
            Arc::new(PostgresStore::connect(&url).await.unwrap()),
        ));
    }
    out
}

#[tokio::test]
async fn a_stored_analysis_is_not_overwritten_and_a_signed_off_one_is_never_replaced() {
    for (backend, store) in stores("overwrite").await {
        let firm = tenant("firm");
        let vault = Vault::open(store.clone(), keys()).await.unwrap();
        let cpa = Principal::cpa(&firm).unwrap();
        let client = Principal::new(&firm, Role::Client, Some("bistro".into())).unwrap();
        let draft = analysis(&firm, "bistro", "Analyse la rentabilité").await;
        vault.save_analysis(&cpa, &draft).await.unwrap();

        // A Client saving under the same id is refused, whatever it saves.
        let mut forged = draft.clone();
        forged.report = "Tout va très bien.".into();
        let e = vault.save_analysis(&client, &forged).await.unwrap_err();
        assert_eq!(e.code(), "access_denied", "{backend}: {e}");
        assert_eq!(
            vault
                .load_analysis(&cpa, &firm, &draft.id)
                .await
                .unwrap()
                .report,
            draft.report
        );

        // A CPA of the firm may replace an unsigned draft (audited).
        let mut revised = draft.clone();
        revised.report = format!("{} (révisé)", draft.report);
        vault.save_analysis(&cpa, &revised).await.unwrap();
        assert_eq!(
            vault
                .load_analysis(&cpa, &firm, &draft.id)
                .await
                .unwrap()
                .report,
            revised.report
        );

        // Once signed off, not even a CPA may replace it.
        vault
            .act_on_review(&cpa, &firm, &draft.id, ReviewAction::SignOff)
            .await
            .unwrap();
        let e = vault.save_analysis(&cpa, &draft).await.unwrap_err();
        assert_eq!(e.code(), "access_denied", "{backend}: {e}");
        assert!(e.to_string().contains("signed off"), "{e}");
        assert_eq!(
            vault
                .load_analysis(&cpa, &firm, &draft.id)
                .await
                .unwrap()
                .report,
            revised.report
        );

        let admin = Principal::new(&firm, Role::Admin, None).unwrap();
        let export = vault.export_audit(&admin).await.unwrap();
        let entries = vault.verify_audit_export(&admin, &export).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions.iter().filter(|a| **a == "analysis").count(),
            1,
            "{actions:?}"
        );
        assert_eq!(
            actions
                .iter()
                .filter(|a| **a == "analysis_replaced")
                .count(),
            1,
            "{actions:?}"
        );
        assert_eq!(
            actions.iter().filter(|a| **a == "access_denied").count(),
            2,
            "{actions:?}"
        );
        // The trail names the client by a keyed tag, never by its id (a slug of the company's name).
        assert!(
            !export.contains("bistro"),
            "{backend}: the client's id is in the trail"
        );
    }
}

#[tokio::test]
async fn a_signed_off_analysis_put_back_in_an_older_version_is_detected() {
    for (backend, store) in stores("signoff").await {
        let firm = tenant("firm");
        let vault = Vault::open(store.clone(), keys()).await.unwrap();
        let cpa = Principal::cpa(&firm).unwrap();
        let draft = analysis(&firm, "bistro", "Analyse la rentabilité").await;
        vault.save_analysis(&cpa, &draft).await.unwrap();
        // Someone with the database keeps the draft's row (a valid ciphertext for this id)...
        let old_row = store
            .get_record("analysis", &firm, &draft.id)
            .await
            .unwrap()
            .unwrap();
        let mut revised = draft.clone();
        revised.report = format!("{} Révisé après la revue.", draft.report);
        vault.save_analysis(&cpa, &revised).await.unwrap();
        let review = vault
            .act_on_review(&cpa, &firm, &draft.id, ReviewAction::SignOff)
            .await
            .unwrap();
        assert_eq!(review.content_sha256.as_ref().map(String::len), Some(64));
        assert_eq!(
            vault
                .load_analysis(&cpa, &firm, &draft.id)
                .await
                .unwrap()
                .report,
            revised.report
        );
        // ...and puts it back after the sign-off.
        store.put_record(&old_row).await.unwrap();
        let e = vault
            .load_analysis(&cpa, &firm, &draft.id)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "integrity", "{backend}: {e}");
        assert!(e.to_string().contains("signed off"), "{e}");
    }
}

#[tokio::test]
async fn a_client_reads_neither_the_analysis_nor_its_notes_before_sign_off() {
    for (backend, store) in stores("notes").await {
        let firm = tenant("firm");
        let vault = Vault::open(store, keys())
            .await
            .unwrap()
            .require_sign_off(true);
        let cpa = Principal::cpa(&firm).unwrap();
        let client = Principal::new(&firm, Role::Client, Some("bistro".into())).unwrap();
        let a = analysis(&firm, "bistro", "Analyse la rentabilité").await;
        vault.save_analysis(&cpa, &a).await.unwrap();
        vault
            .act_on_review(
                &cpa,
                &firm,
                &a.id,
                ReviewAction::Annotate("Marge douteuse, vérifier les stocks".into()),
            )
            .await
            .unwrap();
        let e = vault.review(&client, &firm, &a.id).await.unwrap_err();
        assert_eq!(e.code(), "access_denied", "{backend}");
        assert!(vault.load_analysis(&client, &firm, &a.id).await.is_err());
        vault
            .act_on_review(&cpa, &firm, &a.id, ReviewAction::SignOff)
            .await
            .unwrap();
        let review = vault.review(&client, &firm, &a.id).await.unwrap();
        assert_eq!(review.notes.len(), 1);
        assert!(vault.load_analysis(&client, &firm, &a.id).await.is_ok());
    }
}

/// Rebuilds a chain with edited content and recomputed hashes, keeping the MACs it cannot compute.
fn rehashed(entries: &[AuditEntry]) -> Vec<AuditEntry> {
    let mut out: Vec<AuditEntry> = Vec::new();
    for e in entries {
        let prev = out.last().map(|p| (p.seq, p.hash.clone()));
        let details = if e.action == "analysis" {
            serde_json::json!({"total_cost_usd": "0"})
        } else {
            e.details.clone()
        };
        let mut n = AuditLog::entry_after(
            prev,
            &e.tenant,
            e.actor.as_ref(),
            &e.action,
            e.subject.as_deref(),
            details,
        )
        .unwrap();
        n.mac.clone_from(&e.mac);
        out.push(n);
    }
    out
}

fn export_of(entries: &[AuditEntry], head: &audit::AuditHead) -> String {
    let mut text = String::new();
    for e in entries {
        text.push_str(&serde_json::to_string(e).unwrap());
        text.push('\n');
    }
    text.push_str(&serde_json::to_string(&serde_json::json!({ "head": head })).unwrap());
    text.push('\n');
    text
}

#[tokio::test]
async fn an_edited_export_with_recomputed_hashes_or_a_cut_tail_is_refused() {
    for (backend, store) in stores("export").await {
        let firm = tenant("firm");
        let vault = Vault::open(store, keys()).await.unwrap();
        let cpa = Principal::cpa(&firm).unwrap();
        let admin = Principal::new(&firm, Role::Admin, None).unwrap();
        for q in [
            "Analyse la rentabilité",
            "Is our debt too high?",
            "Liquidité ?",
        ] {
            vault
                .save_analysis(&cpa, &analysis(&firm, "bistro", q).await)
                .await
                .unwrap();
        }
        let export = vault.export_audit(&admin).await.unwrap();
        let (entries, head) = audit::verify_jsonl(&export).unwrap();
        assert_eq!(
            vault
                .verify_audit_export(&admin, &export)
                .await
                .unwrap()
                .len(),
            entries.len()
        );

        // Edited, hashes recomputed, head recounted: the structure checks out, the MACs do not.
        let forged = rehashed(&entries);
        let mut forged_head = head.clone();
        forged_head.last_hash = forged.last().unwrap().hash.clone();
        let text = export_of(&forged, &forged_head);
        assert!(
            audit::verify_jsonl(&text).is_ok(),
            "{backend}: the forgery is well-formed"
        );
        let e = vault.verify_audit_export(&admin, &text).await.unwrap_err();
        assert_eq!(e.code(), "integrity", "{backend}: {e}");

        // The last entry cut, the head kept: refused without any key.
        let cut = export_of(&entries[..entries.len() - 1], &head);
        assert!(audit::verify_jsonl(&cut).is_err());
        // The last entry cut and the head recounted by hand: its MAC no longer matches.
        let mut recounted = head.clone();
        recounted.count -= 1;
        recounted.last_hash = entries[entries.len() - 2].hash.clone();
        let e = vault
            .verify_audit_export(
                &admin,
                &export_of(&entries[..entries.len() - 1], &recounted),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "integrity", "{backend}: {e}");

        // Another firm's vault (its own keys) does not vouch for this trail.
        let other = Vault::open(Arc::new(SqliteStore::in_memory().await.unwrap()), keys())
            .await
            .unwrap();
        let other_admin = Principal::new(&firm, Role::Admin, None).unwrap();
        assert!(
            other
                .verify_audit_export(&other_admin, &export)
                .await
                .is_err()
        );
        // And an empty export never verifies.
        assert!(vault.verify_audit_export(&admin, "").await.is_err());
    }
}

/// A firm's trail of `n` entries in a SQLite file, and a connection to that file as someone holding it would
/// have.
struct FileTrail {
    path: std::path::PathBuf,
    keys: Arc<dyn KeyProvider>,
    firm: String,
    pool: sqlx::SqlitePool,
}

impl FileTrail {
    async fn new(n: usize) -> Self {
        let dir =
            std::env::temp_dir().join(format!("finops-wp-trail-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("vault.db");
        let (keys, firm) = (keys(), tenant("firm"));
        let vault = Vault::open(
            Arc::new(SqliteStore::open(&path).await.unwrap()),
            keys.clone(),
        )
        .await
        .unwrap();
        for i in 0..n {
            let subject = format!("s{i}");
            vault
                .record(&firm, None, "note", Some(&subject), serde_json::json!({}))
                .await
                .unwrap();
        }
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        FileTrail {
            path,
            keys,
            firm,
            pool,
        }
    }

    /// Runs `statement` (bound to the firm) on the file, then exports the trail from a vault opened afterwards.
    async fn tamper_then_export(&self, statement: &'static str) -> finops_core::Result<String> {
        sqlx::query(statement)
            .bind(&self.firm)
            .execute(&self.pool)
            .await
            .unwrap();
        let store = Arc::new(SqliteStore::open(&self.path).await.unwrap());
        let admin = Principal::new(&self.firm, Role::Admin, None).unwrap();
        Vault::open(store, self.keys.clone())
            .await
            .unwrap()
            .export_audit(&admin)
            .await
    }
}

#[tokio::test]
async fn entries_deleted_from_the_end_of_the_stored_trail_are_detected() {
    let trail = FileTrail::new(4).await;
    // The last two entries removed.
    let e = trail
        .tamper_then_export("DELETE FROM audit WHERE tenant = ? AND seq > 2")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "integrity", "{e}");
    assert!(e.to_string().contains("cut"), "{e}");
    // Every entry removed, the head kept.
    let e = trail
        .tamper_then_export("DELETE FROM audit WHERE tenant = ?")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "integrity", "{e}");
    // The head removed too: no entry and no head is a trail never written (a whole-store rollback, which
    // SECURITY.md says to detect with exports kept elsewhere).
    let export = trail
        .tamper_then_export("DELETE FROM records WHERE tenant = ? AND kind = 'audit.head'")
        .await;
    assert!(export.is_ok());
}

#[tokio::test]
async fn the_head_deleted_alone_is_detected() {
    let trail = FileTrail::new(3).await;
    let e = trail
        .tamper_then_export("DELETE FROM records WHERE tenant = ? AND kind = 'audit.head'")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no signed head"), "{e}");
}

#[tokio::test]
async fn an_erasure_in_one_process_does_not_fork_the_chain_another_process_appends_to() {
    for (backend, store) in stores("erase").await {
        let keys = keys();
        let firm = tenant("firm");
        let a = Vault::open(store.clone(), keys.clone()).await.unwrap();
        let b = Vault::open(store.clone(), keys.clone()).await.unwrap();
        let admin = Principal::new(&firm, Role::Admin, None).unwrap();
        for i in 0..3 {
            b.record(
                &firm,
                None,
                "before",
                Some(&format!("b{i}")),
                serde_json::json!({}),
            )
            .await
            .unwrap();
        }
        // `b` holds the chain at entry 3 in memory; `a` erases the firm, then both append.
        a.erase_tenant(&admin).await.unwrap();
        let after_b = b
            .record(&firm, None, "after", Some("b"), serde_json::json!({}))
            .await
            .unwrap();
        let after_a = a
            .record(&firm, None, "after", Some("a"), serde_json::json!({}))
            .await
            .unwrap();
        assert_eq!(
            (after_b.seq, after_a.seq),
            (2, 3),
            "{backend}: both follow the erasure's new chain"
        );
        let export = a.export_audit(&admin).await.unwrap();
        let entries = a.verify_audit_export(&admin, &export).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, vec!["erasure", "after", "after"], "{backend}");
    }
}
