#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The vault's security properties on top of every `Store` backend (SQLite always; PostgreSQL when
//! `FINOPS_TEST_POSTGRES_URL` is set, as `scripts/test` does). The stores' own behaviour is the conformance suite
//! in `store_conformance.rs`.

use std::sync::Arc;

use finops_core::pipeline::{AnalysisRequest, Pipeline};
use finops_core::security::crypto::{LocalKeyProvider, SecretKey, WrappedKey};
use finops_core::security::{Principal, Role, audit};
use finops_core::store::{
    AuditRow, PostgresStore, RecordRow, ReviewAction, ReviewStatus, SqliteStore, Store, Vault,
};
use finops_core::{Analysis, Statements};

fn postgres_url() -> Option<String> {
    let url = std::env::var("FINOPS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!(
            "FINOPS_TEST_POSTGRES_URL is not set: run scripts/services (as .ci/run does) to test PostgreSQL"
        );
    }
    url
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("finops-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

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

async fn row_of(store: &Arc<dyn Store>, tenant: &str, id: &str) -> RecordRow {
    store
        .get_record("analysis", tenant, id)
        .await
        .unwrap()
        .unwrap()
}

/// The vault's properties over one store: isolation, audit, tampering, keys, erasure, no plaintext at rest.
async fn vault_properties(store: Arc<dyn Store>, t: &str) -> Vec<String> {
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let vault = Vault::open(store.clone(), keys.clone()).await.unwrap();
    let (fa, fb) = (format!("{t}-firm-a"), format!("{t}-firm-b"));
    let cpa_a = Principal::cpa(&fa).unwrap();
    let admin_a = Principal::new(&fa, Role::Admin, None).unwrap();
    let bistro_user = Principal::new(&fa, Role::Client, Some("bistro".into())).unwrap();
    let cafe_user = Principal::new(&fa, Role::Client, Some("cafe".into())).unwrap();
    let cpa_b = Principal::cpa(&fb).unwrap();

    let question = "Analyse la rentabilité du Bistro Saint-Denis sur trois ans";
    let a1 = analysis(&fa, "bistro", question).await;
    let a2 = analysis(&fa, "cafe", "Is our working capital getting tighter?").await;
    let b1 = analysis(&fb, "bistro", "Bilan de santé").await;
    vault.save_analysis(&cpa_a, &a1).await.unwrap();
    vault.save_analysis(&cafe_user, &a2).await.unwrap();
    vault.save_analysis(&cpa_b, &b1).await.unwrap();
    // A Client cannot store another company's analysis; a CPA cannot store into another firm.
    assert_eq!(
        vault
            .save_analysis(&bistro_user, &a2)
            .await
            .unwrap_err()
            .code(),
        "access_denied"
    );
    assert_eq!(
        vault.save_analysis(&cpa_b, &a1).await.unwrap_err().code(),
        "access_denied"
    );

    // Reads: CPAs see their firm, Clients their company, nobody another firm.
    assert_eq!(vault.load_analysis(&cpa_a, &fa, &a1.id).await.unwrap(), a1);
    assert_eq!(
        vault
            .load_analysis(&bistro_user, &fa, &a1.id)
            .await
            .unwrap()
            .id,
        a1.id
    );
    assert_eq!(
        vault
            .load_analysis(&cafe_user, &fa, &a1.id)
            .await
            .unwrap_err()
            .code(),
        "access_denied"
    );
    assert_eq!(
        vault
            .load_analysis(&cpa_b, &fa, &a1.id)
            .await
            .unwrap_err()
            .code(),
        "access_denied"
    );
    assert_eq!(vault.list_analyses(&cpa_a).await.unwrap().len(), 2);
    let own: Vec<String> = vault
        .list_analyses(&bistro_user)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(own, vec![a1.id.clone()]);
    assert_eq!(vault.list_analyses(&cpa_b).await.unwrap().len(), 1);

    // The audit trail: analyses and denials, hash-chained, Admin-only export.
    assert_eq!(
        vault.export_audit(&cpa_a).await.unwrap_err().code(),
        "access_denied"
    );
    let trail = vault.export_audit(&admin_a).await.unwrap();
    let (entries, _) = audit::verify_jsonl(&trail).unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "analysis").count(), 2);
    assert!(
        actions.iter().filter(|a| **a == "access_denied").count() >= 3,
        "{actions:?}"
    );
    assert!(
        !trail.contains(question) && !trail.contains("Marge brute"),
        "the trail holds no question or report"
    );

    // Tampering with stored records is detected: a flipped bit, a row moved to another id or tenant.
    let stored = store
        .get_record("analysis", &fa, &a1.id)
        .await
        .unwrap()
        .unwrap();
    let mut flipped = stored.clone();
    flipped.sealed.ciphertext[10] ^= 1;
    store.put_record(&flipped).await.unwrap();
    assert_eq!(
        vault
            .load_analysis(&cpa_a, &fa, &a1.id)
            .await
            .unwrap_err()
            .code(),
        "integrity"
    );
    store.put_record(&stored).await.unwrap();
    let a2_stored = row_of(&store, &fa, &a2.id).await;
    let mut moved = stored.clone();
    moved.id = a2.id.clone();
    moved.client_tag = a2_stored.client_tag.clone();
    store.put_record(&moved).await.unwrap();
    assert!(
        vault.load_analysis(&cpa_a, &fa, &a2.id).await.is_err(),
        "a row moved to another id"
    );
    store.put_record(&a2_stored).await.unwrap();
    assert_eq!(vault.load_analysis(&cpa_a, &fa, &a2.id).await.unwrap(), a2);
    let mut across = stored.clone();
    across.tenant = fb.clone();
    store.put_record(&across).await.unwrap();
    assert!(vault.load_analysis(&cpa_b, &fb, &a1.id).await.is_err());
    // Put things back as they were.
    store.delete_record("analysis", &fb, &a1.id).await.unwrap();
    store.put_record(&stored).await.unwrap();
    let a2_row = row_of(&store, &fa, &a2.id).await;
    assert_eq!(a2_row.id, a2.id);

    // Reopened with the right master key, data reads; with another master key, it does not.
    let reopened = Vault::open(store.clone(), keys.clone()).await.unwrap();
    assert_eq!(
        reopened.load_analysis(&cpa_a, &fa, &a1.id).await.unwrap(),
        a1
    );
    assert!(
        reopened.export_audit(&admin_a).await.is_ok(),
        "the audit chain reads back and verifies"
    );
    let stranger = Vault::open(
        store.clone(),
        Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap())),
    )
    .await
    .unwrap();
    assert!(stranger.load_analysis(&cpa_a, &fa, &a1.id).await.is_err());

    // Erasing one client (Admin only) destroys its key: even a copy of its ciphertext put back is unreadable,
    // and the firm's other client is untouched.
    let cafe_copy = row_of(&store, &fa, &a2.id).await;
    assert_eq!(
        vault.erase_client(&cpa_a, "cafe").await.unwrap_err().code(),
        "access_denied"
    );
    assert_eq!(vault.erase_client(&admin_a, "cafe").await.unwrap(), 1);
    assert!(
        store
            .get_record("analysis", &fa, &a2.id)
            .await
            .unwrap()
            .is_none()
    );
    store.put_record(&cafe_copy).await.unwrap();
    assert!(
        vault.load_analysis(&cpa_a, &fa, &a2.id).await.is_err(),
        "crypto-shredded"
    );
    store.delete_record("analysis", &fa, &a2.id).await.unwrap();
    assert_eq!(vault.load_analysis(&cpa_a, &fa, &a1.id).await.unwrap(), a1);

    // Erasure (Admin only) makes the firm's data unreadable and leaves the other firm's alone.
    assert_eq!(
        vault.erase_tenant(&cpa_a).await.unwrap_err().code(),
        "access_denied"
    );
    vault.erase_tenant(&admin_a).await.unwrap();
    assert!(vault.load_analysis(&cpa_a, &fa, &a1.id).await.is_err());
    assert!(vault.list_analyses(&cpa_a).await.unwrap().is_empty());
    assert_eq!(vault.list_analyses(&cpa_b).await.unwrap().len(), 1);

    // Known plaintexts the caller greps the backend's raw bytes for.
    vec![
        "Bistro Saint-Denis".into(),
        question.into(),
        "bistro".into(),
        "Marge brute".into(),
        "3331832.60".into(),
        b1.report.lines().nth(2).unwrap_or("").to_string(),
    ]
}

#[tokio::test]
async fn vault_on_sqlite_leaves_no_plaintext_in_the_file() {
    let dir = tempdir("vault");
    let path = dir.join("finops.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    let secrets = vault_properties(store.clone(), "sq").await;
    drop(store);
    let mut raw = std::fs::read(&path).unwrap();
    for extra in ["finops.db-wal", "finops.db-shm"] {
        if let Ok(mut more) = std::fs::read(dir.join(extra)) {
            raw.append(&mut more);
        }
    }
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "`{secret}` found in the SQLite file"
        );
    }
}

#[tokio::test]
async fn vault_on_postgres_leaves_no_plaintext_in_the_tables() {
    let Some(url) = postgres_url() else { return };
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let t = format!("pgv{}", uuid::Uuid::new_v4().simple());
    let secrets = vault_properties(store, &t).await;
    // A dump of this run's rows (its tenants' and their clients' scopes), as text. The database outlives test
    // runs and benchmarks: the whole of it would not fit in one string.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let mut dump = String::new();
    for table in ["finops_records", "finops_audit", "finops_keys"] {
        let sql =
            format!("SELECT string_agg(t::text, E'\\n') FROM {table} t WHERE t.tenant LIKE $1");
        let text: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(format!("{t}%"))
            .fetch_one(&pool)
            .await
            .unwrap();
        dump.push_str(&text.unwrap_or_default());
    }
    assert!(dump.contains(&t), "the dump holds this run's rows");
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        assert!(
            !dump.contains(secret.as_str()),
            "`{secret}` found in PostgreSQL"
        );
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        assert!(
            !dump.contains(&hex),
            "`{secret}` found hex-encoded in PostgreSQL"
        );
    }
}

#[tokio::test]
async fn only_a_cpa_of_the_firm_signs_off_and_clients_wait_for_it() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let vault = Vault::open(store, keys)
        .await
        .unwrap()
        .require_sign_off(true);
    let cpa = Principal::cpa("firm-a").unwrap();
    let other_cpa = Principal::cpa("firm-b").unwrap();
    let admin = Principal::new("firm-a", Role::Admin, None).unwrap();
    let client = Principal::new("firm-a", Role::Client, Some("bistro".into())).unwrap();
    let a = analysis("firm-a", "bistro", "Analyse la rentabilité").await;
    vault.save_analysis(&client, &a).await.unwrap();

    // A draft: the client who asked cannot read it yet; CPAs can.
    assert_eq!(
        vault.review(&cpa, "firm-a", &a.id).await.unwrap().status,
        ReviewStatus::Draft
    );
    assert_eq!(
        vault
            .load_analysis(&client, "firm-a", &a.id)
            .await
            .unwrap_err()
            .code(),
        "access_denied"
    );
    assert!(vault.list_analyses(&client).await.unwrap().is_empty());
    assert!(vault.load_analysis(&cpa, "firm-a", &a.id).await.is_ok());

    // Only a CPA of the same firm reviews and signs off.
    for p in [&client, &admin, &other_cpa] {
        let e = vault
            .act_on_review(p, "firm-a", &a.id, ReviewAction::SignOff)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "access_denied", "{p:?}");
    }
    vault
        .act_on_review(
            &cpa,
            "firm-a",
            &a.id,
            ReviewAction::Annotate("Check the 2022 depreciation.".into()),
        )
        .await
        .unwrap();
    assert_eq!(
        vault
            .act_on_review(&cpa, "firm-a", &a.id, ReviewAction::MarkReviewed)
            .await
            .unwrap()
            .status,
        ReviewStatus::Reviewed
    );
    assert!(
        vault
            .act_on_review(&cpa, "firm-a", &a.id, ReviewAction::Annotate(" ".into()))
            .await
            .is_err()
    );
    let signed = vault
        .act_on_review(&cpa, "firm-a", &a.id, ReviewAction::SignOff)
        .await
        .unwrap();
    assert_eq!(signed.status, ReviewStatus::SignedOff);
    assert_eq!(signed.signed_off_by.as_ref(), Some(&cpa));
    assert!(signed.signed_off_at.is_some());
    assert_eq!(signed.notes.len(), 1);

    // Now the client sees it, and the trail shows every step.
    assert_eq!(
        vault
            .load_analysis(&client, "firm-a", &a.id)
            .await
            .unwrap()
            .id,
        a.id
    );
    assert_eq!(vault.list_analyses(&client).await.unwrap().len(), 1);
    let (trail, _) = audit::verify_jsonl(&vault.export_audit(&admin).await.unwrap()).unwrap();
    let reviews: Vec<String> = trail
        .iter()
        .filter(|e| e.action == "review")
        .map(|e| e.details["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reviews, vec!["annotated", "reviewed", "signed_off"]);
    assert!(trail.iter().filter(|e| e.action == "access_denied").count() >= 4);
}

mod isolation {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Save {
            who: usize,
            tenant: usize,
            client: usize,
        },
        Load {
            who: usize,
            target: usize,
        },
        List {
            who: usize,
        },
    }

    fn principals() -> Vec<Principal> {
        let mut out = Vec::new();
        for t in ["t0", "t1"] {
            out.push(Principal::cpa(t).unwrap());
            out.push(Principal::new(t, Role::Admin, None).unwrap());
            for c in ["c0", "c1"] {
                out.push(Principal::new(t, Role::Client, Some(c.into())).unwrap());
            }
        }
        out
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..8usize, 0..2usize, 0..2usize).prop_map(|(who, tenant, client)| Op::Save {
                who,
                tenant,
                client
            }),
            (0..8usize, 0..32usize).prop_map(|(who, target)| Op::Load { who, target }),
            (0..8usize).prop_map(|who| Op::List { who }),
        ]
    }

    fn may_see(p: &Principal, a: &Analysis) -> bool {
        p.tenant == a.tenant
            && (p.role != Role::Client || p.client.as_deref() == Some(a.client.as_str()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Random principals doing random things: nobody ever reads another tenant's or another client's analysis,
        /// and everyone allowed to see an analysis can.
        #[test]
        fn no_cross_tenant_or_cross_client_reads(ops in proptest::collection::vec(op(), 1..14)) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
                let vault = Vault::open(store, Arc::new(LocalKeyProvider::new("m", SecretKey::generate().unwrap()))).await.unwrap();
                let people = principals();
                let mut saved: Vec<Analysis> = Vec::new();
                for op in ops {
                    match op {
                        Op::Save { who, tenant, client } => {
                            let a = analysis(["t0", "t1"][tenant], ["c0", "c1"][client], "marges").await;
                            let ok = vault.save_analysis(&people[who], &a).await.is_ok();
                            assert_eq!(ok, may_see(&people[who], &a), "save by {:?}", people[who]);
                            if ok {
                                saved.push(a);
                            }
                        }
                        Op::Load { who, target } => {
                            let Some(a) = saved.get(target % saved.len().max(1)) else { continue };
                            let p = &people[who];
                            match vault.load_analysis(p, &a.tenant, &a.id).await {
                                Ok(read) => assert!(may_see(p, &read) && read.id == a.id, "{p:?} read {}", read.client),
                                Err(e) => {
                                    assert!(!may_see(p, a), "{p:?} was refused its own analysis: {e}");
                                    assert_eq!(e.code(), "access_denied");
                                }
                            }
                        }
                        Op::List { who } => {
                            let p = &people[who];
                            let listed = vault.list_analyses(p).await.unwrap();
                            assert!(listed.iter().all(|a| may_see(p, a)));
                            let expected = saved.iter().filter(|a| may_see(p, a)).count();
                            assert_eq!(listed.len(), expected, "{p:?}");
                        }
                    }
                }
            });
        }
    }
}

/// A store whose next audit append never finishes (a request cut off midway), the rest delegated.
#[derive(Debug)]
struct Stalling {
    inner: Arc<dyn Store>,
    stall: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Store for Stalling {
    async fn put_record(&self, row: &RecordRow) -> finops_core::Result<()> {
        self.inner.put_record(row).await
    }
    async fn insert_record(&self, row: &RecordRow) -> finops_core::Result<bool> {
        self.inner.insert_record(row).await
    }
    async fn insert_record_audited(
        &self,
        row: &RecordRow,
        audit: &AuditRow,
    ) -> finops_core::Result<bool> {
        self.inner.insert_record_audited(row, audit).await
    }
    async fn insert_records_audited(
        &self,
        items: &[(RecordRow, AuditRow)],
    ) -> finops_core::Result<()> {
        self.inner.insert_records_audited(items).await
    }
    async fn replace_record_audited(
        &self,
        row: &RecordRow,
        audit: &AuditRow,
    ) -> finops_core::Result<()> {
        self.inner.replace_record_audited(row, audit).await
    }
    async fn get_record(
        &self,
        kind: &str,
        tenant: &str,
        id: &str,
    ) -> finops_core::Result<Option<RecordRow>> {
        self.inner.get_record(kind, tenant, id).await
    }
    async fn delete_record(&self, kind: &str, tenant: &str, id: &str) -> finops_core::Result<bool> {
        self.inner.delete_record(kind, tenant, id).await
    }
    async fn list_records(
        &self,
        kind: &str,
        tenant: &str,
        client_tag: Option<&str>,
    ) -> finops_core::Result<Vec<RecordRow>> {
        self.inner.list_records(kind, tenant, client_tag).await
    }
    async fn append_audit(&self, row: &AuditRow) -> finops_core::Result<()> {
        if self.stall.swap(false, std::sync::atomic::Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        self.inner.append_audit(row).await
    }
    async fn audit(&self, tenant: &str) -> finops_core::Result<Vec<AuditRow>> {
        self.inner.audit(tenant).await
    }
    async fn put_key(&self, key: &WrappedKey) -> finops_core::Result<()> {
        self.inner.put_key(key).await
    }
    async fn put_first_key(&self, key: &WrappedKey) -> finops_core::Result<bool> {
        self.inner.put_first_key(key).await
    }
    async fn keys_of(&self, owner: &str) -> finops_core::Result<Vec<WrappedKey>> {
        self.inner.keys_of(owner).await
    }
    async fn keys(&self) -> finops_core::Result<Vec<WrappedKey>> {
        self.inner.keys().await
    }
    async fn delete_keys(&self, owner: &str) -> finops_core::Result<()> {
        self.inner.delete_keys(owner).await
    }
    async fn tenants_with(&self, kind: &str) -> finops_core::Result<Vec<String>> {
        self.inner.tenants_with(kind).await
    }
    async fn erase_tenant(&self, tenant: &str) -> finops_core::Result<()> {
        self.inner.erase_tenant(tenant).await
    }
    async fn budget_reserve(
        &self,
        tenant: &str,
        month: &str,
        amount: rust_decimal::Decimal,
        limit: rust_decimal::Decimal,
        ttl: std::time::Duration,
    ) -> finops_core::Result<Result<String, rust_decimal::Decimal>> {
        self.inner
            .budget_reserve(tenant, month, amount, limit, ttl)
            .await
    }
    async fn budget_settle(
        &self,
        tenant: &str,
        month: &str,
        id: &str,
        estimate: rust_decimal::Decimal,
        actual: rust_decimal::Decimal,
    ) -> finops_core::Result<()> {
        self.inner
            .budget_settle(tenant, month, id, estimate, actual)
            .await
    }
    async fn budget_spent(
        &self,
        tenant: &str,
        month: &str,
    ) -> finops_core::Result<rust_decimal::Decimal> {
        self.inner.budget_spent(tenant, month).await
    }
}

/// An audit append cancelled midway (its future dropped: a timeout, a cancelled job) leaves the chain as the
/// store has it, so the next entry follows the stored one and the trail still verifies.
#[tokio::test]
async fn a_cancelled_audit_append_does_not_fork_the_chain() {
    let store = Arc::new(Stalling {
        inner: Arc::new(SqliteStore::in_memory().await.unwrap()),
        stall: std::sync::atomic::AtomicBool::new(false),
    });
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let vault = Vault::open(store.clone(), keys).await.unwrap();
    vault
        .record("firm", None, "first", None, serde_json::json!({}))
        .await
        .unwrap();
    store.stall.store(true, std::sync::atomic::Ordering::SeqCst);
    let cut = tokio::time::timeout(
        std::time::Duration::from_millis(50),
        vault.record("firm", None, "cut off", None, serde_json::json!({})),
    )
    .await;
    assert!(cut.is_err(), "the append was cut off");
    let next = vault
        .record("firm", None, "next", None, serde_json::json!({}))
        .await
        .unwrap();
    assert_eq!(next.seq, 2, "the cut-off entry left no trace");
    let admin = Principal::new("firm", Role::Admin, None).unwrap();
    let trail = vault.export_audit(&admin).await.unwrap();
    let (entries, head) = audit::verify_jsonl(&trail).unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, vec!["first", "next"]);
    assert_eq!(head.count, 2);
}

/// Many workers' results at once: group-committed, each stored once with one `analysis` entry, the chain intact;
/// a duplicate delivery (already stored) is discarded and audited as such.
async fn concurrent_results(store: Arc<dyn Store>, tenant: &str) {
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let vault = Arc::new(Vault::open(store, keys).await.unwrap());
    let base = analysis(tenant, "bistro", "Analyse la rentabilité").await;
    let cpa = Principal::new(tenant, Role::Cpa, Some("bistro".into())).unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..120 {
        let (vault, cpa, mut a) = (vault.clone(), cpa.clone(), base.clone());
        // Jobs 0 to 9 are delivered twice.
        a.id = format!("job-{}", i % 110);
        tasks.spawn(async move { vault.save_job_result(&cpa, &a).await.unwrap() });
    }
    let mut stored = 0;
    while let Some(r) = tasks.join_next().await {
        stored += usize::from(r.unwrap());
    }
    assert_eq!(stored, 110, "one of each duplicate pair is discarded");
    let admin = Principal::new(tenant, Role::Admin, None).unwrap();
    let trail = vault.export_audit(&admin).await.unwrap(); // verifies the chain
    let count = |action: &str| {
        trail
            .lines()
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["action"] == action)
            .count()
    };
    assert_eq!((count("analysis"), count("analysis_discarded")), (110, 10));
    let all = Principal::new(tenant, Role::Cpa, None).unwrap();
    assert_eq!(vault.list_analyses(&all).await.unwrap().len(), 110);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_results_on_sqlite_are_committed_in_groups_and_once() {
    let path = tempdir("group").join("finops.db");
    concurrent_results(Arc::new(SqliteStore::open(&path).await.unwrap()), "firm-g").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_results_on_postgres_are_committed_in_groups_and_once() {
    let Some(url) = postgres_url() else { return };
    let store = PostgresStore::connect(&url).await.unwrap();
    concurrent_results(Arc::new(store), &format!("group-{}", uuid::Uuid::new_v4())).await;
}

#[tokio::test]
async fn a_vault_is_opened_by_name_and_bad_names_are_refused() {
    let dir = tempdir("named");
    let cpa = Principal::new("named-firm", Role::Cpa, None).unwrap();
    let a = analysis("named-firm", "bistro", "Rentabilité ?").await;
    {
        let vault = finops_core::store::open(dir.to_str().unwrap())
            .await
            .unwrap();
        vault.save_analysis(&cpa, &a).await.unwrap();
    }
    // The directory keeps the database and its master key: a second opening reads what the first wrote.
    assert!(dir.join("finops.db").exists() && dir.join("master.key").exists());
    let again = finops_core::store::open(dir.to_str().unwrap())
        .await
        .unwrap();
    let back = again
        .load_analysis(&cpa, "named-firm", &a.id)
        .await
        .unwrap();
    assert_eq!(back.report, a.report);

    for bad in ["", "  ", "redis://127.0.0.1:6379", "mysql://x/y"] {
        let e = finops_core::store::open(bad).await.unwrap_err();
        assert_eq!(e.field(), Some("store"), "{bad}: {e}");
    }
}

#[test]
fn review_actions_are_named_with_their_note() {
    assert_eq!(
        ReviewAction::parse("annotate", Some("ok".into())).unwrap(),
        ReviewAction::Annotate("ok".into())
    );
    assert_eq!(
        ReviewAction::parse("reviewed", None).unwrap(),
        ReviewAction::MarkReviewed
    );
    assert_eq!(
        ReviewAction::parse("sign_off", None).unwrap(),
        ReviewAction::SignOff
    );
    for (action, note, field) in [
        ("annotate", None, "note"),
        ("sign_off", Some("x"), "note"),
        ("approve", None, "action"),
        ("", None, "action"),
    ] {
        let e = ReviewAction::parse(action, note.map(String::from)).unwrap_err();
        assert_eq!(e.field(), Some(field), "{action}");
    }
}

/// Two processes sharing one store (two vaults, one master key): each reads, lists, reviews and erases what the
/// other wrote under keys it created after the reader opened.
async fn vaults_share_keys_created_after_they_opened(store: Arc<dyn Store>, t: &str) {
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let reader = Vault::open(store.clone(), keys.clone()).await.unwrap();
    let writer = Vault::open(store.clone(), keys.clone()).await.unwrap();
    let tenant = format!("{t}-shared");
    let cpa = Principal::new(&tenant, Role::Cpa, None).unwrap();
    let client = Principal::new(&tenant, Role::Client, Some("bistro".into())).unwrap();
    let a = analysis(&tenant, "bistro", "Rentabilité ?").await;
    writer.save_analysis(&cpa, &a).await.unwrap();

    assert_eq!(
        reader.load_analysis(&cpa, &tenant, &a.id).await.unwrap().id,
        a.id
    );
    assert_eq!(reader.list_analyses(&client).await.unwrap().len(), 1);
    assert_eq!(
        reader
            .load_analysis(&client, &tenant, &a.id)
            .await
            .unwrap()
            .id,
        a.id
    );
    reader
        .act_on_review(&cpa, &tenant, &a.id, ReviewAction::SignOff)
        .await
        .unwrap();
    assert_eq!(
        writer.review(&cpa, &tenant, &a.id).await.unwrap().status,
        ReviewStatus::SignedOff
    );
    let admin = Principal::new(&tenant, Role::Admin, None).unwrap();
    let fresh = Vault::open(store.clone(), keys.clone()).await.unwrap();
    assert_eq!(fresh.erase_client(&admin, "bistro").await.unwrap(), 2);
    assert!(writer.list_analyses(&cpa).await.unwrap().is_empty());
}

#[tokio::test]
async fn vaults_on_one_sqlite_file_share_new_keys() {
    let path = tempdir("shared").join("finops.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    vaults_share_keys_created_after_they_opened(store, "sq").await;
}

#[tokio::test]
async fn vaults_on_one_postgres_share_new_keys() {
    let Some(url) = postgres_url() else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let t = format!("pg{}", uuid::Uuid::new_v4().simple());
    vaults_share_keys_created_after_they_opened(store, &t).await;
}

#[tokio::test]
async fn a_pipeline_with_a_vault_saves_every_analysis_before_returning_it() {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let vault = Arc::new(Vault::open(store.clone(), keys).await.unwrap());
    let pipeline = Pipeline::builder().vault(vault.clone()).build();
    assert!(pipeline.vault().is_some());
    let cpa = Principal::new("auto-firm", Role::Cpa, None).unwrap();
    let client = Principal::new("auto-firm", Role::Client, Some("bistro".into())).unwrap();

    // Asked by a client: saved as the client (its draft, visible to it and to the firm's CPAs).
    let asked = pipeline
        .analyze(AnalysisRequest::new(bistro(), "Rentabilité ?").principal(client.clone()))
        .await
        .unwrap();
    assert_eq!(
        vault
            .load_analysis(&client, "auto-firm", &asked.id)
            .await
            .unwrap()
            .report,
        asked.report
    );
    // No principal: saved as a CPA of the request's tenant.
    let plain = pipeline
        .analyze(
            AnalysisRequest::new(bistro(), "Liquidité ?")
                .tenant("auto-firm")
                .client("garage"),
        )
        .await
        .unwrap();
    assert_eq!(
        vault
            .load_analysis(&cpa, "auto-firm", &plain.id)
            .await
            .unwrap()
            .id,
        plain.id
    );
    // A streamed analysis is saved before `completed` arrives.
    let mut events =
        pipeline.stream(AnalysisRequest::new(bistro(), "Solvabilité ?").principal(cpa.clone()));
    let mut streamed = None;
    while let Some(event) = futures::StreamExt::next(&mut events).await {
        if let finops_core::Event::Completed { analysis } = event {
            assert!(
                vault
                    .load_analysis(&cpa, "auto-firm", &analysis.id)
                    .await
                    .is_ok()
            );
            streamed = Some(analysis.id.clone());
        }
    }
    assert!(streamed.is_some());
    let trail = vault
        .export_audit(&Principal::new("auto-firm", Role::Admin, None).unwrap())
        .await
        .unwrap();
    assert_eq!(
        trail
            .lines()
            .filter(|l| l.contains("\"action\":\"analysis\""))
            .count(),
        3
    );

    // A vault that cannot save (another master key over the same store): the analysis fails, nothing is lost
    // silently.
    let stranger = Arc::new(
        Vault::open(
            store,
            Arc::new(LocalKeyProvider::new("m2", SecretKey::generate().unwrap())),
        )
        .await
        .unwrap(),
    );
    let e = Pipeline::builder()
        .vault(stranger)
        .build()
        .analyze(AnalysisRequest::new(bistro(), "Rentabilité ?").principal(cpa))
        .await
        .unwrap_err();
    assert!(matches!(e.code(), "integrity" | "key_unavailable"), "{e}");
}

/// Processes meeting a new firm at the same moment agree on its keys: a client's analyses saved concurrently by
/// several vaults over one store are all the client's (listed, and erased together).
async fn first_keys_are_agreed(store: Arc<dyn Store>, t: &str) {
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let mut vaults = Vec::new();
    for _ in 0..4 {
        vaults.push(Arc::new(
            Vault::open(store.clone(), keys.clone()).await.unwrap(),
        ));
    }
    let tenant = format!("{t}-race");
    let cpa = Principal::new(&tenant, Role::Cpa, None).unwrap();
    let mut analyses = Vec::new();
    for i in 0..8 {
        analyses.push(analysis(&tenant, "bistro", &format!("Question {i} ?")).await);
    }
    let saves = analyses.iter().enumerate().map(|(i, a)| {
        let (vault, cpa) = (vaults[i % vaults.len()].clone(), cpa.clone());
        async move { vault.save_analysis(&cpa, a).await }
    });
    for r in futures::future::join_all(saves).await {
        r.unwrap();
    }
    let reader = Vault::open(store.clone(), keys.clone()).await.unwrap();
    let client = Principal::new(&tenant, Role::Client, Some("bistro".into())).unwrap();
    assert_eq!(reader.list_analyses(&client).await.unwrap().len(), 8);
    let admin = Principal::new(&tenant, Role::Admin, None).unwrap();
    assert_eq!(reader.erase_client(&admin, "bistro").await.unwrap(), 8);
    assert!(reader.list_analyses(&cpa).await.unwrap().is_empty());
    reader.export_audit(&admin).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_vaults_on_sqlite_agree_on_a_new_firms_keys() {
    let path = tempdir("race").join("finops.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await.unwrap());
    first_keys_are_agreed(store, "sq").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_vaults_on_postgres_agree_on_a_new_firms_keys() {
    let Some(url) = postgres_url() else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    first_keys_are_agreed(store, &format!("pg{}", uuid::Uuid::new_v4().simple())).await;
}
