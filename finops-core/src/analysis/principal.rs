//! Tenants (CPA firms), roles and client scope.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A principal's role within its firm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages the firm: keys, erasure, audit export.
    Admin,
    /// A CPA of the firm: works on every client of the firm.
    Cpa,
    /// A client company's user: sees only its own company.
    Client,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Admin => "admin",
            Role::Cpa => "cpa",
            Role::Client => "client",
        })
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "admin" => Ok(Role::Admin),
            "cpa" => Ok(Role::Cpa),
            "client" => Ok(Role::Client),
            _ => Err(Error::invalid_argument(
                "role",
                format!("unknown role `{s}`: expected admin, cpa or client"),
            )),
        }
    }
}

/// Who is asking: a tenant (CPA firm), a role, and for a `Client` the one client company it may see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    /// The CPA firm the principal belongs to.
    pub tenant: String,
    /// What the principal may do.
    pub role: Role,
    /// Required for `Client`; ignored for `Cpa` and `Admin`, who see every client of their firm.
    pub client: Option<String>,
    /// Who the person is at the identity provider (a token's `sub`), kept for the audit trail; it grants nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

impl Principal {
    /// A principal; a `Client` without a client scope, or a malformed id, is refused.
    pub fn new(tenant: impl Into<String>, role: Role, client: Option<String>) -> Result<Self> {
        let p = Principal {
            tenant: tenant.into(),
            role,
            client,
            sub: None,
        };
        super::check_id("tenant", &p.tenant)?;
        match (&p.client, role) {
            (None, Role::Client) => {
                return Err(Error::invalid_argument(
                    "client",
                    "a Client principal needs the client company it belongs to",
                ));
            }
            (Some(c), _) => super::check_id("client", c)?,
            (None, _) => {}
        }
        Ok(p)
    }

    /// A principal from JSON (`{"tenant", "role", "client"?, "sub"?}`), checked as [`Principal::new`] checks; a bad
    /// field is named under `principal.`.
    pub fn from_json(text: &str) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        let p: Principal = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let field = match e.path().to_string().as_str() {
                "." => "principal".to_string(),
                path => format!("principal.{path}"),
            };
            Error::invalid_argument(
                field,
                format!("{} (a principal is {{ tenant, role, client? }})", e.inner()),
            )
        })?;
        let sub = p.sub;
        Principal::new(p.tenant, p.role, p.client)
            .and_then(|checked| checked.with_sub(sub))
            .map_err(|e| match e {
                Error::InvalidArgument { field, reason } => {
                    Error::invalid_argument(format!("principal.{field}"), reason)
                }
                other => other,
            })
    }

    /// The same principal, naming the person (a token's `sub`: at most 256 characters, no control characters).
    pub fn with_sub(mut self, sub: Option<String>) -> Result<Self> {
        if let Some(s) = &sub
            && (s.is_empty() || s.chars().count() > 256 || s.chars().any(char::is_control))
        {
            return Err(Error::invalid_argument(
                "sub",
                "must be 1 to 256 characters, without control characters",
            ));
        }
        self.sub = sub;
        Ok(self)
    }

    /// A CPA of `tenant`.
    pub fn cpa(tenant: impl Into<String>) -> Result<Self> {
        Self::new(tenant, Role::Cpa, None)
    }

    /// Whether this principal may see or create analyses of `client` in `tenant`; a denial names why.
    pub fn authorize(&self, tenant: &str, client: &str) -> Result<()> {
        if self.tenant != tenant {
            return Err(Error::AccessDenied {
                reason: format!(
                    "principal of tenant `{}` may not act in tenant `{tenant}`",
                    self.tenant
                ),
            });
        }
        if self.role == Role::Client && self.client.as_deref() != Some(client) {
            return Err(Error::AccessDenied {
                reason: format!("a Client principal may only see its own company, not `{client}`"),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_see_only_their_company_and_nobody_crosses_tenants() {
        let cpa = Principal::cpa("firm-a").unwrap();
        assert!(cpa.authorize("firm-a", "any-client").is_ok());
        assert_eq!(
            cpa.authorize("firm-b", "x").unwrap_err().code(),
            "access_denied"
        );
        let client = Principal::new("firm-a", Role::Client, Some("bistro".into())).unwrap();
        assert!(client.authorize("firm-a", "bistro").is_ok());
        assert!(client.authorize("firm-a", "other").is_err());
        assert_eq!(
            Principal::new("firm-a", Role::Client, None)
                .unwrap_err()
                .field(),
            Some("client")
        );
        assert_eq!(
            Principal::cpa("bad tenant").unwrap_err().field(),
            Some("tenant")
        );
        assert_eq!("auditor".parse::<Role>().unwrap_err().field(), Some("role"));
    }
}
