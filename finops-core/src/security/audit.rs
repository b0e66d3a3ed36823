//! The audit trail, fit for a CPA's working papers: append-only and hash-chained per tenant (each entry carries
//! the hash of the previous one), so `verify` detects any edited, deleted or reordered entry. Each entry also
//! carries a MAC under a key of the tenant's that never lives in the store in the clear (see
//! [`crate::security::crypto::Keyring::mac`]), so an edited trail with recomputed hashes is refused; and a signed
//! head (entry count and last hash), kept apart from the entries and ending every export, shows when entries were
//! cut from the end. Exported as JSON Lines for an auditor.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Principal;
use crate::analysis::Analysis;
use crate::error::{Error, Result};

/// The hash before a tenant's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry. `hash` covers every other field, `prev_hash` included, but `mac`, which authenticates `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// 1, 2, 3, … within the tenant.
    pub seq: u64,
    /// RFC 3339, UTC.
    pub at: String,
    /// The CPA firm whose trail it is.
    pub tenant: String,
    /// Who acted (None for the system itself).
    pub actor: Option<Principal>,
    /// e.g. `analysis`, `access_denied`, `key_rotated`, `erasure`, `review`.
    pub action: String,
    /// What it acted on, e.g. an analysis id.
    pub subject: Option<String>,
    /// What else the entry records (fingerprint, plan, models, cost, verdict…; clients by keyed tag only).
    pub details: serde_json::Value,
    /// The previous entry's hash (zeros for the first).
    pub prev_hash: String,
    /// This entry's hash, over its canonical encoding and the previous hash.
    pub hash: String,
    /// The tenant's MAC of `hash` (hex); empty only in an entry not yet stored.
    #[serde(default)]
    pub mac: String,
}

impl AuditEntry {
    /// What the entry's MAC authenticates.
    pub fn mac_message(&self) -> Vec<u8> {
        format!(
            "finops-audit-entry\n{}\n{}\n{}",
            self.tenant, self.seq, self.hash
        )
        .into_bytes()
    }
}

/// A tenant's trail at one moment: how many entries and the last one's hash, authenticated like the entries. The
/// vault keeps it apart from the entries and ends every export with it: a trail cut short no longer matches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHead {
    /// The CPA firm.
    pub tenant: String,
    /// How many entries the export holds.
    pub count: u64,
    /// The last entry's hash.
    pub last_hash: String,
    /// An HMAC of the head under the firm's key: an export edited and re-hashed does not verify.
    pub mac: String,
}

impl AuditHead {
    /// What the head's MAC authenticates.
    pub fn mac_message(tenant: &str, count: u64, last_hash: &str) -> Vec<u8> {
        format!("finops-audit-head\n{tenant}\n{count}\n{last_hash}").into_bytes()
    }

    /// Checks that `chain` is the trail this head describes, or longer (entries appended after the head was
    /// written are authenticated on their own); a chain shorter than its head was cut.
    pub fn covers(&self, chain: &[AuditEntry]) -> Result<()> {
        let count = usize::try_from(self.count).unwrap_or(usize::MAX);
        let at_head = count.checked_sub(1).and_then(|i| chain.get(i));
        match at_head {
            Some(e) if e.hash == self.last_hash => Ok(()),
            Some(_) => Err(Error::Integrity {
                reason: format!(
                    "audit entry {} is not the one the trail's signed head names",
                    self.count
                ),
            }),
            None => Err(Error::Integrity {
                reason: format!(
                    "the audit trail has {} entries but its signed head counts {}: entries were cut",
                    chain.len(),
                    self.count
                ),
            }),
        }
    }
}

/// The canonical form of a JSON value for hashing: object keys sorted at every depth, whatever order they were
/// written or parsed in.
fn canonical(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let sorted: std::collections::BTreeMap<&String, serde_json::Value> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(canonical).collect())
        }
        other => other.clone(),
    }
}

fn digest(e: &AuditEntry) -> Result<String> {
    // The entry's JSON without `hash` and `mac`, keys sorted at every depth: the same bytes every time.
    let body = canonical(&serde_json::json!({
        "seq": e.seq, "at": e.at, "tenant": e.tenant, "actor": e.actor, "action": e.action,
        "subject": e.subject, "details": e.details, "prev_hash": e.prev_hash,
    }));
    let bytes = serde_json::to_vec(&body).map_err(|err| Error::Internal(err.to_string()))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// What an analysis entry records: the data fingerprint, the client's pseudonymous tag (a keyed hash, never its
/// name or id, which is often a slug of the company's name), plan, models and prompt version, cache outcome,
/// grounding verdict and cost — never the statements, question or report themselves.
pub fn analysis_details(a: &Analysis, client_tag: &str) -> serde_json::Value {
    serde_json::json!({
        "fingerprint": a.fingerprint,
        "client_tag": client_tag,
        "plan": {"intents": a.plan.intents, "metrics": a.plan.metrics, "periods": a.plan.periods},
        "models": a.usage.iter().map(|u| serde_json::json!({"phase": u.phase, "provider": u.provider, "model": u.model})).collect::<Vec<_>>(),
        "prompt_version": a.prompt_version,
        "cache": a.cache,
        "grounded": a.validation.grounded,
        "report_source": a.report_source,
        "degraded": a.degraded,
        "total_cost_usd": a.total_cost_usd,
    })
}

/// An append-only, hash-chained log per tenant (in memory; a store persists the entries it returns).
#[derive(Debug, Default)]
pub struct AuditLog {
    chains: Mutex<HashMap<String, Vec<AuditEntry>>>,
    /// Keep only each chain's last entry (what the next append needs): a vault's memory stays one entry per
    /// tenant however long its trail, and exports read the store.
    tail_only: bool,
}

impl AuditLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A log that remembers only each tenant's last entry.
    pub fn tail_only() -> Self {
        AuditLog {
            chains: Mutex::default(),
            tail_only: true,
        }
    }

    /// Continues chains a store kept (each tenant's entries in order); refused if they do not verify.
    pub fn load(entries: Vec<AuditEntry>) -> Result<Self> {
        let mut chains: HashMap<String, Vec<AuditEntry>> = HashMap::new();
        for e in entries {
            chains.entry(e.tenant.clone()).or_default().push(e);
        }
        for chain in chains.values() {
            verify(chain)?;
        }
        Ok(AuditLog {
            chains: Mutex::new(chains),
            tail_only: false,
        })
    }

    /// Takes over a tenant's chain read back from a store (verified first); a tenant already held is left as is.
    pub fn adopt(&self, tenant: &str, mut entries: Vec<AuditEntry>) -> Result<()> {
        verify(&entries)?;
        if self.tail_only && entries.len() > 1 {
            entries.drain(..entries.len() - 1);
        }
        if let Some(e) = entries.iter().find(|e| e.tenant != tenant) {
            return Err(Error::Integrity {
                reason: format!(
                    "audit entry {} belongs to tenant `{}`, not `{tenant}`",
                    e.seq, e.tenant
                ),
            });
        }
        self.chains
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(tenant.to_string())
            .or_insert(entries);
        Ok(())
    }

    /// Ends a tenant's chain (after an erasure), returning how many entries it had and its last hash.
    pub fn reset(&self, tenant: &str) -> (u64, String) {
        let old = self
            .chains
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(tenant)
            .unwrap_or_default();
        (
            old.len() as u64,
            old.last().map_or(GENESIS.to_string(), |e| e.hash.clone()),
        )
    }

    /// Appends an entry to its tenant's chain and returns it.
    pub fn append(
        &self,
        tenant: &str,
        actor: Option<&Principal>,
        action: &str,
        subject: Option<&str>,
        details: serde_json::Value,
    ) -> Result<AuditEntry> {
        let entry = self.next(tenant, actor, action, subject, details)?;
        self.push(entry.clone())?;
        Ok(entry)
    }

    /// Adds an entry made by [`AuditLog::next`] to its tenant's chain, if it still follows the chain's last one.
    pub fn push(&self, entry: AuditEntry) -> Result<()> {
        let mut chains = self.chains.lock().unwrap_or_else(|p| p.into_inner());
        let chain = chains.entry(entry.tenant.clone()).or_default();
        let follows = chain
            .last()
            .map_or(entry.seq == 1 && entry.prev_hash == GENESIS, |last| {
                entry.seq == last.seq + 1 && entry.prev_hash == last.hash
            });
        if !follows {
            return Err(Error::Integrity {
                reason: format!("audit entry {} does not follow the chain", entry.seq),
            });
        }
        chain.push(entry);
        if self.tail_only && chain.len() > 1 {
            chain.drain(..chain.len() - 1);
        }
        Ok(())
    }

    /// The entry that would follow the tenant's chain, without adding it: a store appends it first, and the
    /// chain takes it only once it is stored (an append that fails or is cancelled midway leaves no trace here).
    pub fn next(
        &self,
        tenant: &str,
        actor: Option<&Principal>,
        action: &str,
        subject: Option<&str>,
        details: serde_json::Value,
    ) -> Result<AuditEntry> {
        Self::entry_after(self.last(tenant), tenant, actor, action, subject, details)
    }

    /// The entry that follows the entry `prev` (its sequence number and hash; `None` for a chain's first), for
    /// several entries written together.
    pub fn entry_after(
        prev: Option<(u64, String)>,
        tenant: &str,
        actor: Option<&Principal>,
        action: &str,
        subject: Option<&str>,
        details: serde_json::Value,
    ) -> Result<AuditEntry> {
        let (seq, prev_hash) = prev.map_or((1, GENESIS.to_string()), |(seq, hash)| (seq + 1, hash));
        let mut entry = AuditEntry {
            seq,
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            tenant: tenant.to_string(),
            actor: actor.cloned(),
            action: action.to_string(),
            subject: subject.map(str::to_string),
            details,
            prev_hash,
            hash: String::new(),
            mac: String::new(),
        };
        entry.hash = digest(&entry)?;
        Ok(entry)
    }

    /// The sequence number and hash of a tenant's last entry.
    pub fn last(&self, tenant: &str) -> Option<(u64, String)> {
        self.chains
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .and_then(|c| c.last().map(|e| (e.seq, e.hash.clone())))
    }

    /// A tenant's entries, in order.
    pub fn entries(&self, tenant: &str) -> Vec<AuditEntry> {
        self.chains
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .cloned()
            .unwrap_or_default()
    }

    /// A tenant's trail as JSON Lines (one entry per line), ended by `{"head": …}` with the given head, for an
    /// auditor; [`verify_jsonl`] checks its structure, and the vault its MACs.
    pub fn export_jsonl(&self, tenant: &str, head: &AuditHead) -> Result<String> {
        export_jsonl(&self.entries(tenant), head)
    }
}

/// Checks one tenant's chain: consecutive sequence numbers from 1, each `prev_hash` the previous `hash`, each
/// `hash` recomputed. The error names the first entry that fails.
pub fn verify(chain: &[AuditEntry]) -> Result<()> {
    let mut prev = GENESIS.to_string();
    for (i, e) in chain.iter().enumerate() {
        let fail = |why: &str| Error::Integrity {
            reason: format!("audit entry {} (seq {}): {why}", i + 1, e.seq),
        };
        if e.seq != i as u64 + 1 {
            return Err(fail("out of sequence: an entry was deleted or reordered"));
        }
        if e.tenant != chain[0].tenant {
            return Err(fail("belongs to another tenant's chain"));
        }
        if e.prev_hash != prev {
            return Err(fail("does not follow the previous entry"));
        }
        if digest(e)? != e.hash {
            return Err(fail("its content was edited"));
        }
        prev.clone_from(&e.hash);
    }
    Ok(())
}

/// A trail's entries as JSON Lines, ended by `{"head": …}`.
pub fn export_jsonl(entries: &[AuditEntry], head: &AuditHead) -> Result<String> {
    let mut out = String::new();
    for e in entries {
        out.push_str(&line(e)?);
        out.push('\n');
    }
    out.push_str(&line(&serde_json::json!({ "head": head }))?);
    out.push('\n');
    Ok(out)
}

/// One line of an export.
fn line<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

/// Parses an exported trail and checks its structure: at least one entry, an unbroken hash chain, and a head that
/// counts every entry and names the last. It cannot check the MACs, which need the tenant's key: whoever can
/// rewrite the file can also recompute hashes, so an auditor verifies with
/// the firm's vault (`Vault::verify_audit_export`).
pub fn verify_jsonl(text: &str) -> Result<(Vec<AuditEntry>, AuditHead)> {
    #[derive(Deserialize)]
    struct HeadLine {
        head: AuditHead,
    }
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let Some((last, body)) = lines.split_last() else {
        return Err(Error::Integrity {
            reason: "the audit export is empty: a trail has at least one entry and its head".into(),
        });
    };
    let head = serde_json::from_str::<HeadLine>(last)
        .map_err(|e| Error::Integrity {
            reason: format!("the audit export does not end with its signed head: {e}"),
        })?
        .head;
    let entries: Vec<AuditEntry> = body
        .iter()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| Error::Integrity {
                reason: format!("audit line {}: not an entry: {e}", i + 1),
            })
        })
        .collect::<Result<_>>()?;
    if entries.is_empty() {
        return Err(Error::Integrity {
            reason: "the audit export has no entries".into(),
        });
    }
    verify(&entries)?;
    if head.tenant != entries[0].tenant || head.count != entries.len() as u64 {
        return Err(Error::Integrity {
            reason: format!(
                "the export has {} entries but its head counts {}: entries were cut or added",
                entries.len(),
                head.count
            ),
        });
    }
    head.covers(&entries)?;
    Ok((entries, head))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::Role;

    fn trail() -> (AuditLog, Vec<AuditEntry>) {
        let log = AuditLog::new();
        let cpa = Principal::cpa("firm-a").unwrap();
        let client = Principal::new("firm-a", Role::Client, Some("bistro".into())).unwrap();
        log.append(
            "firm-a",
            Some(&cpa),
            "analysis",
            Some("a1"),
            serde_json::json!({"cost": "0.012"}),
        )
        .unwrap();
        log.append(
            "firm-a",
            Some(&client),
            "access_denied",
            Some("a9"),
            serde_json::json!({"reason": "other client"}),
        )
        .unwrap();
        log.append("firm-b", None, "key_rotated", None, serde_json::json!({}))
            .unwrap();
        log.append(
            "firm-a",
            Some(&cpa),
            "review",
            Some("a1"),
            serde_json::json!({"status": "signed_off"}),
        )
        .unwrap();
        let entries = log.entries("firm-a");
        (log, entries)
    }

    #[test]
    fn chains_are_per_tenant_and_verify() {
        let (log, a) = trail();
        assert_eq!(a.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(a[0].prev_hash, GENESIS);
        assert_eq!(a[1].prev_hash, a[0].hash);
        assert!(verify(&a).is_ok());
        assert_eq!(log.entries("firm-b").len(), 1);
        let head = AuditHead {
            tenant: "firm-a".into(),
            count: 3,
            last_hash: a[2].hash.clone(),
            mac: String::new(),
        };
        let exported = log.export_jsonl("firm-a", &head).unwrap();
        assert_eq!(exported.lines().count(), 4, "three entries and the head");
        assert_eq!(verify_jsonl(&exported).unwrap(), (a.clone(), head.clone()));
        // A cut export: the head no longer matches.
        let cut: String = exported
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        assert!(
            verify_jsonl(&cut)
                .unwrap_err()
                .to_string()
                .contains("head counts 3")
        );
        // Nothing, or a head alone, does not verify.
        assert!(verify_jsonl("").is_err());
        assert!(verify_jsonl(exported.lines().last().unwrap()).is_err());
        let reloaded = AuditLog::load(a.clone()).unwrap();
        let next = reloaded
            .append(
                "firm-a",
                None,
                "erasure",
                Some("bistro"),
                serde_json::json!({}),
            )
            .unwrap();
        assert_eq!((next.seq, next.prev_hash.as_str()), (4, a[2].hash.as_str()));
    }

    #[test]
    fn edits_deletions_reorders_and_insertions_are_detected() {
        let (_, a) = trail();
        let mut edited = a.clone();
        edited[1].details = serde_json::json!({"reason": "nothing to see"});
        assert!(
            verify(&edited)
                .unwrap_err()
                .to_string()
                .contains("entry 2 (seq 2): its content was edited")
        );
        let mut deleted = a.clone();
        deleted.remove(1);
        assert!(
            verify(&deleted)
                .unwrap_err()
                .to_string()
                .contains("out of sequence")
        );
        let mut reordered = a.clone();
        reordered.swap(1, 2);
        assert!(verify(&reordered).is_err());
        // Renumbering after a deletion does not help: the chain breaks.
        let mut renumbered = deleted.clone();
        renumbered[1].seq = 2;
        assert!(
            verify(&renumbered)
                .unwrap_err()
                .to_string()
                .contains("does not follow")
        );
        // Rewriting the hash too does not help either: the next entry no longer follows.
        let mut rehashed = a.clone();
        rehashed[0].action = "nothing".into();
        rehashed[0].hash = digest(&rehashed[0]).unwrap();
        assert!(
            verify(&rehashed)
                .unwrap_err()
                .to_string()
                .contains("entry 2")
        );
        assert!(AuditLog::load(edited).is_err());
        let mut text = serde_json::to_string(&a[0]).unwrap();
        text.push_str("\n{broken");
        assert!(verify_jsonl(&text).is_err());
    }

    #[test]
    fn the_hash_does_not_depend_on_the_order_of_keys() {
        let log = AuditLog::new();
        let e = log
            .append(
                "firm-a",
                None,
                "review",
                Some("a1"),
                serde_json::json!({"b": 1, "a": {"y": [1, {"q": 2, "p": 3}], "x": "z"}}),
            )
            .unwrap();
        // The same entry written with its keys in another order (as another tool might export it).
        let text = serde_json::to_string(&e).unwrap();
        let reordered = text.replace(
            r#"{"a":{"x":"z","y":[1,{"p":3,"q":2}]},"b":1}"#,
            r#"{"b":1,"a":{"y":[1,{"q":2,"p":3}],"x":"z"}}"#,
        );
        assert_ne!(text, reordered, "{text}");
        let parsed: AuditEntry = serde_json::from_str(&reordered).unwrap();
        assert_eq!(digest(&parsed).unwrap(), e.hash);
        assert!(verify(&[parsed]).is_ok());
    }
}
