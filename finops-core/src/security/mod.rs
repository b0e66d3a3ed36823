//! Who is asking: the [`Principal`] every operation is scoped by (README "Storage, tenancy and security").

pub mod audit;
pub mod crypto;
pub mod jwt;
pub mod limits;
pub mod pii;

/// Principals are part of the contracts (a request names who asks); re-exported here with the rest of security.
pub use crate::analysis::{Principal, Role};
pub use pii::Pseudonymizer;

/// A URL as it may be shown in `Debug` output, logs and errors: its password (and a user name that looks like a
/// token) replaced with `***`. Text that does not parse as a URL is shown only up to its first `@`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => match url.rsplit_once('@') {
            Some((_, host)) => format!("***@{host}"),
            None => url.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_show() {
        for (url, shown) in [
            (
                "postgres://finops:s3cret@db:5432/f",
                "postgres://finops:***@db:5432/f",
            ),
            ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
            ("rediss://user:p%40ss@cache/0", "rediss://user:***@cache/0"),
            ("postgres://db/f", "postgres://db/f"),
            ("not a url user:pw@host", "***@host"),
        ] {
            assert_eq!(super::redact_url(url), shown);
        }
    }
}
