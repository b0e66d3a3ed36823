//! The firm's portfolio: each client's latest statements, sealed under the client's key (one record per client,
//! found by its keyed tag), so peer benchmarks can be computed from the firm's own books. Erasing a client erases
//! its statements with its analyses.

use super::*;
use crate::portfolio::Client;
use crate::statements::Statements;

/// The record kind of a client's statements.
pub(super) const STATEMENTS: &str = "statements";

/// What a statements record holds: the client's id (the record itself only names a keyed tag) and the canonical
/// statements document's text.
#[derive(serde::Serialize, serde::Deserialize)]
struct Held {
    client: String,
    statements: String,
}

impl Vault {
    /// Keeps a client's statements in the firm's portfolio, replacing the ones held unless those reach a later
    /// period (an analysis of an older year does not move the client back in time). The principal must be allowed
    /// the client (a Client principal: its own company).
    pub async fn save_statements(
        &self,
        principal: &Principal,
        tenant: &str,
        client: &str,
        statements: &Statements,
    ) -> Result<()> {
        if let Err(e) = principal.authorize(tenant, client) {
            return Err(self.deny(principal, tenant, None, e).await);
        }
        let tag = self.client_tag(tenant, client).await?;
        if let Some(row) = self.store.get_record(STATEMENTS, tenant, &tag).await?
            && let Ok(held) = self.open_statements(&row).await
            && held.statements.latest().end > statements.latest().end
        {
            return Ok(());
        }
        let held = Held {
            client: client.to_string(),
            statements: statements.canonical_json(),
        };
        let body = serde_json::to_vec(&held).map_err(|e| Error::Internal(e.to_string()))?;
        let scope = self.client_scope(tenant, &tag).await?;
        let sealed = self.keyring.encrypt(&scope, STATEMENTS, &tag, &body)?;
        self.store
            .put_record(&RecordRow {
                kind: STATEMENTS.into(),
                tenant: tenant.to_string(),
                id: tag.clone(),
                client_tag: tag,
                created_at: now(),
                sealed,
            })
            .await
    }

    /// Every client of the principal's firm with its latest statements held, for peer benchmarks. A CPA's or an
    /// Admin's: a Client principal never reads other companies' books (denied and audited). The read is audited
    /// with the number of clients.
    pub async fn portfolio(&self, principal: &Principal) -> Result<Vec<Client>> {
        let tenant = &principal.tenant;
        if principal.role == Role::Client {
            let e = Error::AccessDenied {
                reason: "a Client principal may not read the firm's portfolio".into(),
            };
            return Err(self.deny(principal, tenant, None, e).await);
        }
        let mut clients = Vec::new();
        for row in self.store.list_records(STATEMENTS, tenant, None).await? {
            clients.push(self.open_statements(&row).await?);
        }
        self.record(
            tenant,
            Some(principal),
            "portfolio_read",
            None,
            serde_json::json!({ "clients": clients.len() }),
        )
        .await?;
        Ok(clients)
    }

    /// A statements record opened and validated again, as the client it holds.
    async fn open_statements(&self, row: &RecordRow) -> Result<Client> {
        let plain = self.open_row(row).await?;
        let held: Held = serde_json::from_slice(&plain).map_err(|e| Error::Integrity {
            reason: format!(
                "the statements record of client tag `{}` is not readable: {e}",
                row.id
            ),
        })?;
        let statements =
            Statements::from_json_str(&held.statements).map_err(|e| Error::Integrity {
                reason: format!(
                    "the statements held for client tag `{}` no longer validate: {e}",
                    row.id
                ),
            })?;
        Ok(Client::new(held.client, statements))
    }
}
