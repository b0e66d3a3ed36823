#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! TLS to PostgreSQL and Redis, against real servers that refuse plaintext (scripts/services starts them with a
//! certificate of a test authority): `sslmode=verify-full` with `sslrootcert`, `rediss://` with `ca_file`, through
//! the store, the queues, the cache synchronisation and the facade. A TLS requirement never falls back to
//! plaintext: a server that declines TLS, or a certificate from another authority, fails the connection with a
//! typed error.

use std::sync::Arc;
use std::time::Duration;

use finops_core::cache::{CacheOptions, RedisCache};
use finops_core::embed::HashingEmbedder;
use finops_core::finops::{Finops, RequestOptions};
use finops_core::queue::{PgQueue, RedisQueue};
use finops_core::security::crypto::{LocalKeyProvider, SecretKey};
use finops_core::store::{PostgresStore, SqliteStore, Store, Vault};
use finops_core::{BackendKind, Error, Statements};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The TLS servers and the authorities, or `None` (with a note) when scripts/services did not start them.
struct Tls {
    postgres: String,
    redis: String,
    ca: String,
    other_ca: String,
}

fn tls() -> Option<Tls> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (
        var("FINOPS_TEST_POSTGRES_TLS_URL"),
        var("FINOPS_TEST_REDIS_TLS_URL"),
        var("FINOPS_TEST_TLS_CA"),
        var("FINOPS_TEST_TLS_OTHER_CA"),
    ) {
        (Some(postgres), Some(redis), Some(ca), Some(other_ca)) => Some(Tls {
            postgres,
            redis,
            ca,
            other_ca,
        }),
        _ => {
            eprintln!(
                "the TLS servers are not running: scripts/services starts them (scripts/test runs it)"
            );
            None
        }
    }
}

async fn vault() -> Arc<Vault> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().await.unwrap());
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    Arc::new(Vault::open(store, keys).await.unwrap())
}

fn bistro() -> Statements {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/data/bistro-saint-denis.json"
    );
    Statements::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn is_backend_failure(e: &Error, backend: BackendKind) -> bool {
    matches!(e, Error::Backend { backend: b, .. } if *b == backend)
}

#[tokio::test]
async fn postgres_verify_full_reaches_the_store_the_queue_and_the_cache_sync() {
    let Some(t) = tls() else { return };
    let url = format!("{}?sslmode=verify-full&sslrootcert={}", t.postgres, t.ca);
    // The server rejects every plaintext connection (hostnossl reject): working at all proves TLS.
    let store = PostgresStore::connect(&url).await.unwrap();
    assert_eq!(store.statement_timeout().await.unwrap(), "30s");
    let store: Arc<dyn Store> = Arc::new(store);
    let keys = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let vault = Arc::new(Vault::open(store, keys).await.unwrap());
    // The queue's pools and its LISTEN connection take the same options.
    let queue = PgQueue::connect(&url, vault.clone()).await.unwrap();
    drop(queue);
    // The caches over that store with their LISTEN/NOTIFY synchronisation, over TLS.
    let options = CacheOptions {
        postgres_url: Some(url.clone()),
        ..CacheOptions::default()
    };
    let caches = options
        .open_with(Some(vault), Arc::new(HashingEmbedder::default()))
        .await
        .unwrap();
    assert!(caches.semantic.is_some());
}

#[tokio::test]
async fn postgres_refuses_a_certificate_of_another_authority_and_a_missing_root_file() {
    let Some(t) = tls() else { return };
    let other = format!(
        "{}?sslmode=verify-full&sslrootcert={}",
        t.postgres, t.other_ca
    );
    let e = PostgresStore::connect(&other).await.unwrap_err();
    assert!(is_backend_failure(&e, BackendKind::Postgres), "{e:?}");
    assert!(e.to_string().contains("certificate"), "{e}");
    // A root certificate file that does not exist is an error, never a reason to skip verification.
    let missing = format!(
        "{}?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        t.postgres
    );
    match PostgresStore::connect(&missing).await.unwrap_err() {
        Error::InvalidArgument { field, reason } => {
            assert_eq!(field, "postgres_url");
            assert!(reason.contains("/nonexistent/ca.pem"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // `require` encrypts without verifying (libpq's meaning): it connects to the same server.
    PostgresStore::connect(&format!("{}?sslmode=require", t.postgres))
        .await
        .unwrap();
}

/// A PostgreSQL look-alike that declines TLS (answers `N` to the SSLRequest) and records whether the client went
/// on in plaintext (a StartupMessage after the refusal).
async fn declining_server() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let plaintext = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = plaintext.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                if socket.read_exact(&mut request).await.is_err() {
                    return;
                }
                // 80877103: the SSLRequest code.
                if request[4..] == [0x04, 0xd2, 0x16, 0x2f] {
                    let _ = socket.write_all(b"N").await;
                    let mut next = [0u8; 8];
                    let read =
                        tokio::time::timeout(Duration::from_secs(2), socket.read(&mut next)).await;
                    if let Ok(Ok(n)) = read
                        && n > 0
                    {
                        seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            });
        }
    });
    (
        format!("postgres://finops:finops@127.0.0.1:{port}/finops_test"),
        plaintext,
    )
}

#[tokio::test]
async fn a_tls_requirement_never_falls_back_to_plaintext() {
    use std::sync::atomic::Ordering;
    let (url, plaintext) = declining_server().await;
    for mode in ["require", "verify-ca", "verify-full"] {
        let e = PostgresStore::connect(&format!("{url}?sslmode={mode}"))
            .await
            .unwrap_err();
        assert!(
            is_backend_failure(&e, BackendKind::Postgres),
            "{mode}: {e:?}"
        );
        assert_eq!(
            plaintext.load(Ordering::SeqCst),
            0,
            "{mode}: the client sent its login in plaintext after the server declined TLS"
        );
    }
    // The look-alike does see a plaintext login when one is allowed: the check above can fail.
    let _ = PostgresStore::connect(&format!("{url}?sslmode=prefer")).await;
    assert!(plaintext.load(Ordering::SeqCst) > 0);
}

#[tokio::test]
async fn rediss_with_a_ca_file_serves_the_cache_and_the_queue() {
    let Some(t) = tls() else { return };
    let url = format!("{}/?ca_file={}", t.redis, t.ca);
    let cache = RedisCache::connect(&url, vault().await, Duration::from_secs(60))
        .await
        .unwrap()
        .with_prefix(&format!("tls-{}", uuid::Uuid::new_v4()));
    use finops_core::cache::Cache;
    assert!(
        cache
            .get("tenant-a", "no-such-key")
            .await
            .unwrap()
            .is_none()
    );
    RedisQueue::connect(
        &url,
        &format!("tls-{}", uuid::Uuid::new_v4()),
        vault().await,
    )
    .await
    .unwrap();
    // The facade with the Redis exact tier over TLS: the second identical question is an exact hit.
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({
        "offline": true,
        "cache": {"data_dir": dir.path(), "redis_url": url},
    })
    .to_string();
    let fo = Finops::from_json(&config).await.unwrap();
    let request = RequestOptions {
        tenant: Some(format!("tls-{}", uuid::Uuid::new_v4())),
        ..RequestOptions::default()
    }
    .request(bistro(), "Is our working capital getting tighter?")
    .unwrap();
    fo.analyze(request.clone()).await.unwrap();
    let again = fo.analyze(request).await.unwrap();
    assert_eq!(again.cache, finops_core::pipeline::CacheOutcome::Exact);
}

#[tokio::test]
async fn rediss_refuses_unknown_authorities_plaintext_servers_and_bad_ca_files() {
    let Some(t) = tls() else { return };
    let connect = |url: String| async move {
        RedisCache::connect(&url, vault().await, Duration::from_secs(60)).await
    };
    // The test authority is not among the system's roots, and the other authority signed nothing.
    for url in [
        t.redis.clone(),
        format!("{}/?ca_file={}", t.redis, t.other_ca),
    ] {
        let e = connect(url.clone()).await.unwrap_err();
        assert!(is_backend_failure(&e, BackendKind::Redis), "{url}: {e:?}");
        assert!(e.to_string().contains("certificate"), "{url}: {e}");
    }
    // A TLS URL to a plaintext server fails instead of talking in clear.
    if let Ok(plain) = std::env::var("FINOPS_TEST_REDIS_URL") {
        let tls_to_plain = plain.replacen("redis://", "rediss://", 1);
        let e = connect(format!("{tls_to_plain}/?ca_file={}", t.ca))
            .await
            .unwrap_err();
        assert!(is_backend_failure(&e, BackendKind::Redis), "{e:?}");
    }
    // The host's mistakes are named.
    for (url, words) in [
        (
            format!("redis://127.0.0.1:6379/?ca_file={}", t.ca),
            "rediss://",
        ),
        (
            format!("{}/?ca_file=/nonexistent/ca.pem", t.redis),
            "cannot read",
        ),
        (
            format!(
                "{}/?ca_file={}",
                t.redis,
                concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")
            ),
            "no PEM certificate",
        ),
    ] {
        match connect(url.clone()).await.unwrap_err() {
            Error::InvalidArgument { field, reason } => {
                assert_eq!(field, "cache.redis_url", "{url}");
                assert!(reason.contains(words), "{url}: {reason}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}
