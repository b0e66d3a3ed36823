#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Backend outages surface as `Error::Backend`, naming the backend and whether a retry may help, never as an
//! internal error (a bug in finops), and in the one serialized form every binding reads.

use finops_core::store::{PostgresStore, SqliteStore};
use finops_core::{BackendKind, Error};

/// A loopback port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn an_unreachable_postgres_is_a_retryable_backend_error() {
    let url = format!(
        "postgres://finops:finops@127.0.0.1:{}/finops",
        closed_port()
    );
    let err = PostgresStore::connect(&url).await.unwrap_err();
    match &err {
        Error::Backend {
            backend, retryable, ..
        } => {
            assert_eq!(*backend, BackendKind::Postgres);
            assert!(*retryable, "{err}");
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
    assert!(err.is_retryable());
    let payload = serde_json::to_value(&err).unwrap();
    assert_eq!(payload["code"], "backend");
    assert_eq!(payload["retryable"], true);
    assert_eq!(payload["details"]["backend"], "postgres");
}

#[tokio::test]
async fn an_unreachable_redis_is_a_retryable_backend_error() {
    let dir = tempfile::tempdir().unwrap();
    let vault = std::sync::Arc::new(
        finops_core::store::open_local_vault(dir.path())
            .await
            .unwrap(),
    );
    let url = format!("redis://127.0.0.1:{}/", closed_port());
    let err =
        finops_core::cache::RedisCache::connect(&url, vault, std::time::Duration::from_secs(60))
            .await
            .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                backend: BackendKind::Redis,
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_sqlite_file_that_cannot_be_opened_is_a_backend_error_not_worth_retrying() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("finops.db");
    std::fs::write(
        &path,
        b"this is not a SQLite database, whatever its name says".repeat(100),
    )
    .unwrap();
    let err = SqliteStore::open(&path).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Backend {
                backend: BackendKind::Sqlite,
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "backend");
}

#[test]
fn every_error_serializes_to_one_form() {
    let errors = [
        Error::InvalidArgument {
            field: "question".into(),
            reason: "must not be empty".into(),
        },
        Error::RateLimited {
            scope: finops_core::RateLimitScope::Tenant,
            retry_after: std::time::Duration::from_millis(1500),
        },
        Error::InvalidToken {
            kind: finops_core::TokenRefusal::Expired,
            reason: "the token has expired".into(),
        },
        Error::BudgetExceeded {
            tenant: "firm-1".into(),
            limit_usd: "50".parse().unwrap(),
            spent_usd: "50.01".parse().unwrap(),
        },
        Error::backend(BackendKind::Host, "get() raised", true),
        Error::Cancelled,
    ];
    for e in errors {
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["code"], e.code());
        assert_eq!(v["message"], e.to_string());
        assert_eq!(v["retryable"], e.is_retryable());
        assert!(v["details"].is_object(), "{v}");
        match &e {
            Error::InvalidArgument { .. } => {
                assert_eq!(v["field"], "question");
                assert_eq!(v["reason"], "must not be empty");
            }
            Error::RateLimited { .. } => {
                assert_eq!(v["details"]["scope"], "tenant");
                assert_eq!(v["details"]["retry_after_ms"], 1500);
            }
            Error::InvalidToken { .. } => assert_eq!(v["details"]["kind"], "expired"),
            Error::BudgetExceeded { .. } => assert_eq!(v["details"]["spent_usd"], "50.01"),
            Error::Backend { .. } => assert_eq!(v["details"]["backend"], "host"),
            _ => assert!(v.get("field").is_none()),
        }
    }
}
