#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The `Store` conformance suite: `store_conformance!` expands to one named test per behaviour for a backend, so a
//! failure says which behaviour broke on which backend (`sqlite_file::a_first_key_is_stored_once_whoever_asks_first`).
//! Backends: SQLite in memory, a SQLite file, PostgreSQL (`FINOPS_TEST_POSTGRES_URL`, set by `scripts/test`).
//! Every test works under tenants of its own, so tests share a database safely.

use std::sync::Arc;

use finops_core::security::crypto::{Sealed, WrappedKey};
use finops_core::store::{AuditRow, PostgresStore, RecordRow, SqliteStore, Store};

fn sealed(n: u8) -> Sealed {
    Sealed {
        key_id: format!("k{n}"),
        nonce: vec![n; 12],
        ciphertext: vec![n; 40],
    }
}

fn row(tenant: &str, id: &str, tag: &str, at: &str) -> RecordRow {
    RecordRow {
        kind: "analysis".into(),
        tenant: tenant.into(),
        id: id.into(),
        client_tag: tag.into(),
        created_at: at.into(),
        sealed: sealed(1),
    }
}

/// The audit row `seq` of a well-formed chain (hashes `h1`, `h2`, …, each naming the one before).
fn audit_row(tenant: &str, seq: u64) -> AuditRow {
    AuditRow {
        tenant: tenant.into(),
        seq,
        hash: format!("h{seq}"),
        prev_hash: match seq {
            1 => finops_core::security::audit::GENESIS.to_string(),
            n => format!("h{}", n - 1),
        },
        sealed: sealed(u8::try_from(seq).unwrap_or(0)),
        head: None,
    }
}

fn key(owner: &str, id: &str) -> WrappedKey {
    WrappedKey {
        tenant: owner.into(),
        key_id: id.into(),
        master_id: "m".into(),
        wrapped: vec![1, 2, 3],
    }
}

/// A prefix no other test (or earlier run on the same database) uses.
fn unique(backend: &str) -> String {
    format!("{backend}{}", uuid::Uuid::new_v4().simple())
}

fn postgres_url() -> Option<String> {
    let url = std::env::var("FINOPS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!(
            "FINOPS_TEST_POSTGRES_URL is not set: run scripts/services (scripts/test does) to test PostgreSQL"
        );
    }
    url
}

/// The behaviours, each on a fresh tenant prefix `t`.
mod behaviours {
    use super::*;

    pub async fn records_are_put_read_replaced_and_listed(store: Arc<dyn Store>, t: &str) {
        let (a, b) = (format!("{t}-a"), format!("{t}-b"));
        store
            .put_record(&row(&a, "r2", "tag-1", "2026-01-02T00:00:00Z"))
            .await
            .unwrap();
        store
            .put_record(&row(&a, "r1", "tag-2", "2026-01-01T00:00:00Z"))
            .await
            .unwrap();
        store
            .put_record(&row(&b, "r1", "tag-1", "2026-01-01T00:00:00Z"))
            .await
            .unwrap();
        let got = store
            .get_record("analysis", &a, "r2")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, row(&a, "r2", "tag-1", "2026-01-02T00:00:00Z"));
        assert!(
            store
                .get_record("analysis", &a, "nope")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .get_record("other-kind", &a, "r2")
                .await
                .unwrap()
                .is_none()
        );
        let mut replaced = row(&a, "r2", "tag-1", "2026-01-02T00:00:00Z");
        replaced.sealed = sealed(9);
        store.put_record(&replaced).await.unwrap();
        let got = store
            .get_record("analysis", &a, "r2")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.sealed, sealed(9));
        let ids = |rows: Vec<RecordRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.list_records("analysis", &a, None).await.unwrap()),
            ["r1", "r2"],
            "oldest first"
        );
        assert_eq!(
            ids(store
                .list_records("analysis", &a, Some("tag-1"))
                .await
                .unwrap()),
            ["r2"]
        );
        assert_eq!(
            ids(store.list_records("analysis", &b, None).await.unwrap()),
            ["r1"]
        );
        assert!(store.delete_record("analysis", &a, "r1").await.unwrap());
        assert!(
            !store.delete_record("analysis", &a, "r1").await.unwrap(),
            "deleted once"
        );
        assert_eq!(
            ids(store.list_records("analysis", &a, None).await.unwrap()),
            ["r2"]
        );
    }

    pub async fn audit_rows_come_back_in_order_and_are_never_overwritten(
        store: Arc<dyn Store>,
        t: &str,
    ) {
        let (a, b) = (format!("{t}-a"), format!("{t}-b"));
        // A row that does not follow the stored chain (a gap, or another process's view of it) is refused.
        assert!(store.append_audit(&audit_row(&a, 2)).await.is_err());
        let mut stray = audit_row(&a, 1);
        stray.prev_hash = "not-genesis".into();
        assert!(store.append_audit(&stray).await.is_err());
        for seq in [1u64, 2] {
            store.append_audit(&audit_row(&a, seq)).await.unwrap();
        }
        let mut fork = audit_row(&a, 3);
        fork.prev_hash = "h1".into();
        assert!(
            store.append_audit(&fork).await.is_err(),
            "a fork is refused"
        );
        let mut dup = audit_row(&a, 1);
        dup.hash = "x".into();
        assert!(
            store.append_audit(&dup).await.is_err(),
            "an audit entry cannot be overwritten"
        );
        let rows = store.audit(&a).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(rows[0].hash, "h1", "the first entry is the one kept");
        assert!(store.audit(&b).await.unwrap().is_empty());
    }

    pub async fn a_result_and_its_charge_are_stored_together_or_not_at_all(
        store: Arc<dyn Store>,
        t: &str,
    ) {
        let a = format!("{t}-a");
        store.append_audit(&audit_row(&a, 1)).await.unwrap();
        store.append_audit(&audit_row(&a, 2)).await.unwrap();
        let job = row(&a, "job-1", "tag-a", "2026-01-03T00:00:00Z");
        // A taken sequence number writes nothing, not even the record.
        assert!(
            store
                .insert_record_audited(&job, &audit_row(&a, 2))
                .await
                .is_err()
        );
        assert!(
            store
                .get_record("analysis", &a, "job-1")
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .insert_record_audited(&job, &audit_row(&a, 3))
                .await
                .unwrap()
        );
        // An existing record writes nothing, not even the audit row.
        assert!(
            !store
                .insert_record_audited(&job, &audit_row(&a, 4))
                .await
                .unwrap()
        );
        assert_eq!(store.audit(&a).await.unwrap().len(), 3);
        assert!(!store.insert_record(&job).await.unwrap(), "inserted once");
        let mut other = job.clone();
        other.id = "job-2".into();
        assert!(store.insert_record(&other).await.unwrap());
    }

    pub async fn a_replacement_and_its_audit_row_are_written_together_with_the_head(
        store: Arc<dyn Store>,
        t: &str,
    ) {
        let a = format!("{t}-a");
        let head = |n: u8| row(&a, "audit.head", "", &format!("2026-01-0{n}T00:00:00Z"));
        let mut first = audit_row(&a, 1);
        first.head = Some(head(1));
        store.append_audit(&first).await.unwrap();
        let stored = |kind: &'static str, id: &'static str| {
            let (store, a) = (store.clone(), a.clone());
            async move { store.get_record(kind, &a, id).await.unwrap() }
        };
        assert_eq!(
            stored("analysis", "audit.head").await.map(|r| r.created_at),
            Some("2026-01-01T00:00:00Z".into()),
            "the head is written with its row"
        );
        let draft = row(&a, "a-1", "tag-a", "2026-01-02T00:00:00Z");
        store.put_record(&draft).await.unwrap();
        let mut revised = draft.clone();
        revised.created_at = "2026-01-05T00:00:00Z".into();
        // A row that does not follow the chain writes nothing: neither the record nor the head.
        let mut stale = audit_row(&a, 1);
        stale.head = Some(head(9));
        assert!(
            store
                .replace_record_audited(&revised, &stale)
                .await
                .is_err()
        );
        assert_eq!(
            stored("analysis", "a-1").await.map(|r| r.created_at),
            Some(draft.created_at.clone())
        );
        assert_eq!(
            stored("analysis", "audit.head").await.map(|r| r.created_at),
            Some("2026-01-01T00:00:00Z".into())
        );
        let mut next = audit_row(&a, 2);
        next.head = Some(head(2));
        store.replace_record_audited(&revised, &next).await.unwrap();
        assert_eq!(
            stored("analysis", "a-1").await.map(|r| r.created_at),
            Some(revised.created_at)
        );
        assert_eq!(store.audit(&a).await.unwrap().len(), 2);
        assert_eq!(
            stored("analysis", "audit.head").await.map(|r| r.created_at),
            Some("2026-01-02T00:00:00Z".into())
        );
    }

    pub async fn two_kinds_under_one_id_are_read_together(store: Arc<dyn Store>, t: &str) {
        let a = format!("{t}-a");
        let analysis = row(&a, "x-1", "tag-a", "2026-01-01T00:00:00Z");
        let mut review = analysis.clone();
        review.kind = "review".into();
        review.created_at = "2026-01-02T00:00:00Z".into();
        store.put_record(&analysis).await.unwrap();
        let [first, second] = store
            .get_record_pair(["analysis", "review"], &a, "x-1")
            .await
            .unwrap();
        assert_eq!(first.as_ref(), Some(&analysis));
        assert_eq!(second, None, "no review yet");
        store.put_record(&review).await.unwrap();
        let pair = store
            .get_record_pair(["review", "analysis"], &a, "x-1")
            .await
            .unwrap();
        assert_eq!(pair, [Some(review), Some(analysis)], "in the order asked");
        let other = store
            .get_record_pair(["analysis", "review"], &format!("{t}-b"), "x-1")
            .await
            .unwrap();
        assert_eq!(other, [None, None], "another tenant's id is not found");
    }

    pub async fn batches_of_results_are_all_or_nothing(store: Arc<dyn Store>, t: &str) {
        let a = format!("{t}-a");
        store.append_audit(&audit_row(&a, 1)).await.unwrap();
        store
            .put_record(&row(&a, "job-1", "tag-a", "2026-01-03T00:00:00Z"))
            .await
            .unwrap();
        let batch = |ids: &[&str], first_seq: u64| -> Vec<(RecordRow, AuditRow)> {
            ids.iter()
                .zip(first_seq..)
                .map(|(id, seq)| {
                    (
                        row(&a, id, "tag-a", "2026-01-04T00:00:00Z"),
                        audit_row(&a, seq),
                    )
                })
                .collect()
        };
        // One existing record, or one taken sequence number, refuses the whole batch.
        assert!(
            store
                .insert_records_audited(&batch(&["job-3", "job-1"], 2))
                .await
                .is_err()
        );
        assert!(
            store
                .insert_records_audited(&batch(&["job-3", "job-4"], 1))
                .await
                .is_err()
        );
        assert!(
            store
                .get_record("analysis", &a, "job-3")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(store.audit(&a).await.unwrap().len(), 1);
        store
            .insert_records_audited(&batch(&["job-3", "job-4"], 2))
            .await
            .unwrap();
        store.insert_records_audited(&[]).await.unwrap();
        assert_eq!(store.audit(&a).await.unwrap().len(), 3);
        assert!(
            store
                .get_record("analysis", &a, "job-4")
                .await
                .unwrap()
                .is_some()
        );
    }

    pub async fn keys_come_back_in_insertion_order_per_owner(store: Arc<dyn Store>, t: &str) {
        let (a, b) = (format!("{t}-a"), format!("{t}-b"));
        for (owner, id) in [(&a, "k1"), (&b, "k1"), (&a, "k2")] {
            store.put_key(&key(owner, id)).await.unwrap();
        }
        let keys: Vec<(String, String)> = store
            .keys()
            .await
            .unwrap()
            .into_iter()
            .filter(|k| k.tenant.starts_with(t))
            .map(|k| (k.tenant, k.key_id))
            .collect();
        assert_eq!(
            keys,
            [
                (a.clone(), "k1".into()),
                (b.clone(), "k1".into()),
                (a.clone(), "k2".into())
            ]
        );
        let of_a: Vec<String> = store
            .keys_of(&a)
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.key_id)
            .collect();
        assert_eq!(of_a, ["k1", "k2"]);
        assert!(
            store
                .keys_of(&format!("{t}-none"))
                .await
                .unwrap()
                .is_empty()
        );
        store.delete_keys(&a).await.unwrap();
        assert!(store.keys_of(&a).await.unwrap().is_empty());
        assert_eq!(
            store.keys_of(&b).await.unwrap().len(),
            1,
            "another owner's keys stay"
        );
    }

    pub async fn a_first_key_is_stored_once_whoever_asks_first(store: Arc<dyn Store>, t: &str) {
        let (a, c) = (format!("{t}-a"), format!("{t}-c"));
        store.put_key(&key(&a, "k1")).await.unwrap();
        let race = futures::future::join_all((0..8).map(|i| {
            let (store, key) = (store.clone(), key(&c, &format!("f{i}")));
            async move { store.put_first_key(&key).await.unwrap() }
        }))
        .await;
        assert_eq!(race.iter().filter(|won| **won).count(), 1, "{race:?}");
        assert!(
            !store.put_first_key(&key(&a, "k3")).await.unwrap(),
            "a already has keys"
        );
        assert_eq!(store.keys_of(&c).await.unwrap().len(), 1);
        store.delete_keys(&c).await.unwrap();
        assert!(
            store.put_first_key(&key(&c, "after")).await.unwrap(),
            "after an erasure"
        );
    }

    pub async fn tenants_are_listed_by_record_kind(store: Arc<dyn Store>, t: &str) {
        let (a, b) = (format!("{t}-a"), format!("{t}-b"));
        store
            .put_record(&row(&a, "r1", "tag", "2026-01-01T00:00:00Z"))
            .await
            .unwrap();
        let mut review = row(&b, "r1", "tag", "2026-01-01T00:00:00Z");
        review.kind = "review".into();
        store.put_record(&review).await.unwrap();
        let analysis_tenants = store.tenants_with("analysis").await.unwrap();
        assert!(analysis_tenants.contains(&a) && !analysis_tenants.contains(&b));
        assert!(store.tenants_with("review").await.unwrap().contains(&b));
    }

    pub async fn erasing_a_tenant_removes_its_records_keys_and_audit_only(
        store: Arc<dyn Store>,
        t: &str,
    ) {
        let (a, b) = (format!("{t}-a"), format!("{t}-b"));
        for tenant in [&a, &b] {
            store
                .put_record(&row(tenant, "r1", "tag", "2026-01-01T00:00:00Z"))
                .await
                .unwrap();
            store.put_key(&key(tenant, "k1")).await.unwrap();
            store
                .put_key(&key(&format!("{tenant}#client"), "k2"))
                .await
                .unwrap();
            store.append_audit(&audit_row(tenant, 1)).await.unwrap();
        }
        store.erase_tenant(&a).await.unwrap();
        assert!(
            store
                .list_records("analysis", &a, None)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(store.keys_of(&a).await.unwrap().is_empty());
        assert!(
            store
                .keys_of(&format!("{a}#client"))
                .await
                .unwrap()
                .is_empty(),
            "its clients' keys too"
        );
        assert!(store.audit(&a).await.unwrap().is_empty());
        assert_eq!(
            store
                .list_records("analysis", &b, None)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(store.keys_of(&b).await.unwrap().len(), 1);
        assert_eq!(
            store.keys_of(&format!("{b}#client")).await.unwrap().len(),
            1
        );
        assert_eq!(store.audit(&b).await.unwrap().len(), 1);
    }
}

/// One test per behaviour for the backend `$make` opens (an `Option<Arc<dyn Store>>`: `None` when its server is
/// not configured, said on stderr).
macro_rules! store_conformance {
    ($backend:ident, $make:expr) => {
        mod $backend {
            use super::*;

            async fn open() -> Option<(Arc<dyn Store>, String)> {
                let store: Option<Arc<dyn Store>> = $make;
                store.map(|s| (s, unique(stringify!($backend))))
            }

            store_conformance!(@tests
                records_are_put_read_replaced_and_listed,
                audit_rows_come_back_in_order_and_are_never_overwritten,
                a_result_and_its_charge_are_stored_together_or_not_at_all,
                batches_of_results_are_all_or_nothing,
                two_kinds_under_one_id_are_read_together,
                a_replacement_and_its_audit_row_are_written_together_with_the_head,
                keys_come_back_in_insertion_order_per_owner,
                a_first_key_is_stored_once_whoever_asks_first,
                tenants_are_listed_by_record_kind,
                erasing_a_tenant_removes_its_records_keys_and_audit_only,
            );
        }
    };
    (@tests $($behaviour:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $behaviour() {
                if let Some((store, t)) = open().await {
                    super::behaviours::$behaviour(store, &t).await;
                }
            }
        )+
    };
}

store_conformance!(
    sqlite_memory,
    Some(Arc::new(SqliteStore::in_memory().await.unwrap()))
);
store_conformance!(sqlite_file, {
    let dir = std::env::temp_dir().join(format!(
        "finops-store-conformance-{}",
        uuid::Uuid::new_v4().simple()
    ));
    Some(Arc::new(
        SqliteStore::open(&dir.join("finops.db")).await.unwrap(),
    ))
});
store_conformance!(
    postgres,
    match postgres_url() {
        Some(url) => Some(Arc::new(PostgresStore::connect(&url).await.unwrap())),
        None => None,
    }
);

#[tokio::test]
async fn a_sqlite_file_keeps_its_records_across_a_reopen() {
    let dir = std::env::temp_dir().join(format!(
        "finops-store-reopen-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let path = dir.join("finops.db");
    let store = SqliteStore::open(&path).await.unwrap();
    store
        .put_record(&row("t", "r1", "tag", "2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    drop(store);
    let again = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        again
            .list_records("analysis", "t", None)
            .await
            .unwrap()
            .len(),
        1,
        "data survives a reopen"
    );
    let _ = std::fs::remove_dir_all(dir);
}
