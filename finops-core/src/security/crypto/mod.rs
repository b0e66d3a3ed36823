//! Encryption at rest (README "Storage, tenancy and security"): AES-256-GCM envelope encryption. Each tenant has data
//! keys, wrapped by a master key from a [`KeyProvider`]; each record gets a fresh random 96-bit nonce, and its
//! AAD binds tenant + record kind + record id + data key id, so a ciphertext moved to another row or tenant fails
//! to decrypt. Rotation adds a data key for new writes while old records still read; `reencrypt` moves a record
//! to the current key; destroying a tenant's keys makes its data unreadable (crypto-shredding). Key material is
//! zeroized on drop.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b)
        .map_err(|e| Error::Internal(format!("no randomness available: {e}")))?;
    Ok(b)
}

fn cipher(key: &[u8]) -> Result<Aes256Gcm> {
    Aes256Gcm::new_from_slice(key)
        .map_err(|_| Error::Internal("an AES-256 key must be 32 bytes".into()))
}

fn seal(key: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let nonce_bytes = random::<NONCE_LEN>()?;
    let nonce =
        Nonce::try_from(&nonce_bytes[..]).map_err(|_| Error::Internal("nonce length".into()))?;
    let ct = cipher(key)?
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| Error::Internal("encryption failed".into()))?;
    Ok((nonce_bytes.to_vec(), ct))
}

fn open(key: &[u8], aad: &[u8], nonce: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>> {
    let nonce = Nonce::try_from(nonce).map_err(|_| Error::Integrity {
        reason: format!("a nonce must be {NONCE_LEN} bytes, not {}", nonce.len()),
    })?;
    cipher(key)?
        .decrypt(&nonce, Payload { msg: ciphertext, aad })
        .map_err(|_| Error::Integrity {
            reason: "the record does not authenticate: altered, moved to another row or tenant, or the wrong key".into(),
        })
}

/// A 256-bit key, zeroized when dropped, never printed.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; KEY_LEN]>);

impl SecretKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self> {
        Ok(SecretKey(Zeroizing::new(random::<KEY_LEN>()?)))
    }

    /// A key from 64 hex characters (e.g. `FINOPS_MASTER_KEY`); anything else is refused, naming `field`.
    pub fn from_hex(field: &str, hex: &str) -> Result<Self> {
        let hex = hex.trim();
        if hex.len() != KEY_LEN * 2 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid_argument(
                field,
                "must be 64 hexadecimal characters (a 256-bit key)",
            ));
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| Error::invalid_argument(field, "must be hexadecimal"))?;
        }
        Ok(SecretKey(key))
    }

    /// The key as hex (to store it in a key file the host protects).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.iter().map(|b| format!("{b:02x}")).collect())
    }

    fn bytes(&self) -> &[u8] {
        &self.0[..]
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// Wraps and unwraps data keys with master keys. Implement it over a KMS; [`LocalKeyProvider`] keeps master keys
/// in memory (from an environment variable or a key file).
pub trait KeyProvider: Send + Sync + std::fmt::Debug {
    /// The master key id new data keys are wrapped with.
    fn current(&self) -> Result<String>;
    /// Encrypts `data_key` under the master key `master_id`, bound to `aad`.
    fn wrap(&self, master_id: &str, data_key: &SecretKey, aad: &[u8]) -> Result<Vec<u8>>;
    /// Decrypts a data key `wrap` made; fails when the master key, the bytes or `aad` differ.
    fn unwrap(&self, master_id: &str, wrapped: &[u8], aad: &[u8]) -> Result<SecretKey>;
}

/// Master keys held in memory; the newest added is current.
#[derive(Debug, Default)]
pub struct LocalKeyProvider {
    keys: RwLock<Vec<(String, SecretKey)>>,
}

impl LocalKeyProvider {
    /// A provider holding one master key, `id`, in memory.
    pub fn new(id: impl Into<String>, key: SecretKey) -> Self {
        LocalKeyProvider {
            keys: RwLock::new(vec![(id.into(), key)]),
        }
    }

    /// Reads a key file (64 hex characters), generating it (mode 0600) on first use. A key file others may read
    /// (group or world permissions) is made private (0600) with a warning; one that cannot be is refused.
    pub fn from_file(path: &std::path::Path) -> Result<Self> {
        let field = "master_key_file";
        let key = match std::fs::read_to_string(path) {
            Ok(text) => {
                make_private(path).map_err(|e| {
                    Error::invalid_argument(field, format!("{}: {e}", path.display()))
                })?;
                SecretKey::from_hex(field, &text)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate()?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        Error::invalid_argument(
                            field,
                            format!("cannot create {}: {e}", dir.display()),
                        )
                    })?;
                }
                write_private(path, key.to_hex().as_bytes()).map_err(|e| {
                    Error::invalid_argument(field, format!("cannot write {}: {e}", path.display()))
                })?;
                key
            }
            Err(e) => {
                return Err(Error::invalid_argument(
                    field,
                    format!("cannot read {}: {e}", path.display()),
                ));
            }
        };
        Ok(Self::new("file", key))
    }

    /// Adds a master key, which becomes current (rotation); older keys still unwrap what they wrapped.
    pub fn rotate(&self, id: impl Into<String>, key: SecretKey) -> Result<()> {
        let id = id.into();
        let mut keys = self.keys.write().unwrap_or_else(|p| p.into_inner());
        if keys.iter().any(|(k, _)| *k == id) {
            return Err(Error::invalid_argument(
                "master_key_id",
                format!("`{id}` already exists"),
            ));
        }
        keys.push((id, key));
        Ok(())
    }

    fn key(&self, id: &str) -> Result<SecretKey> {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, key)| key.clone())
            .ok_or_else(|| Error::KeyUnavailable {
                key_id: id.to_string(),
                reason: "no such master key".into(),
            })
    }
}

/// Restricts an existing key file to its owner (0600) when group or others may read or write it, warning that it
/// was exposed.
#[cfg(unix)]
fn make_private(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", mode & 0o777),
            "the master key file was readable by others: made private (0600); consider the key exposed"
        );
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("is readable by others and cannot be made private: {e}"),
            )
        })?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

impl KeyProvider for LocalKeyProvider {
    fn current(&self) -> Result<String> {
        self.keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .map(|(id, _)| id.clone())
            .ok_or_else(|| Error::KeyUnavailable {
                key_id: String::new(),
                reason: "no master key".into(),
            })
    }

    fn wrap(&self, master_id: &str, data_key: &SecretKey, aad: &[u8]) -> Result<Vec<u8>> {
        let (nonce, mut ct) = seal(self.key(master_id)?.bytes(), aad, data_key.bytes())?;
        let mut out = nonce;
        out.append(&mut ct);
        Ok(out)
    }

    fn unwrap(&self, master_id: &str, wrapped: &[u8], aad: &[u8]) -> Result<SecretKey> {
        if wrapped.len() < NONCE_LEN {
            return Err(Error::Integrity {
                reason: "a wrapped key is too short".into(),
            });
        }
        let (nonce, ct) = wrapped.split_at(NONCE_LEN);
        let mut plain = open(self.key(master_id)?.bytes(), aad, nonce, ct)?;
        let result = <[u8; KEY_LEN]>::try_from(plain.as_slice())
            .map(|k| SecretKey(Zeroizing::new(k)))
            .map_err(|_| Error::Integrity {
                reason: "a data key must be 32 bytes".into(),
            });
        plain.zeroize();
        result
    }
}

/// An encrypted record: which data key, the nonce, and the ciphertext (with its tag).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// The data key that sealed it.
    pub key_id: String,
    /// The AES-GCM nonce, fresh for every record.
    pub nonce: Vec<u8>,
    /// The ciphertext with its authentication tag.
    pub ciphertext: Vec<u8>,
}

/// The first byte of [`Sealed::to_bytes`] (a JSON-encoded `Sealed` starts with `{`).
const SEALED_FORMAT: u8 = 1;

impl Sealed {
    /// A compact binary form for a single column or value: format byte, key id (length-prefixed), nonce
    /// (length-prefixed), ciphertext. A third of the JSON form's size, and nothing for a database to try to
    /// compress.
    pub fn to_bytes(&self) -> Vec<u8> {
        let key = self.key_id.as_bytes();
        let mut out = Vec::with_capacity(4 + key.len() + self.nonce.len() + self.ciphertext.len());
        out.push(SEALED_FORMAT);
        out.extend_from_slice(&u16::try_from(key.len()).unwrap_or(u16::MAX).to_be_bytes());
        out.extend_from_slice(&key[..key.len().min(usize::from(u16::MAX))]);
        out.push(u8::try_from(self.nonce.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&self.nonce[..self.nonce.len().min(usize::from(u8::MAX))]);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Reads [`Sealed::to_bytes`] (or the JSON form earlier versions wrote).
    pub fn from_bytes(bytes: &[u8]) -> Result<Sealed> {
        let bad = |why: &str| Error::Integrity {
            reason: format!("not a sealed value: {why}"),
        };
        match bytes.first() {
            Some(&SEALED_FORMAT) => {}
            Some(b'{') => return serde_json::from_slice(bytes).map_err(|e| bad(&e.to_string())),
            _ => return Err(bad("unknown format")),
        }
        let key_len = bytes
            .get(1..3)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or_else(|| bad("truncated"))?;
        let key = bytes.get(3..3 + key_len).ok_or_else(|| bad("truncated"))?;
        let nonce_len = usize::from(*bytes.get(3 + key_len).ok_or_else(|| bad("truncated"))?);
        let start = 4 + key_len;
        let nonce = bytes
            .get(start..start + nonce_len)
            .ok_or_else(|| bad("truncated"))?;
        Ok(Sealed {
            key_id: String::from_utf8(key.to_vec()).map_err(|_| bad("key id is not UTF-8"))?,
            nonce: nonce.to_vec(),
            ciphertext: bytes[start + nonce_len..].to_vec(),
        })
    }
}

/// A tenant's data key, as stored: wrapped by a master key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// The owner's tenant.
    pub tenant: String,
    /// The data key's id.
    pub key_id: String,
    /// The master key that wraps it.
    pub master_id: String,
    /// The wrapped key bytes.
    pub wrapped: Vec<u8>,
}

/// Bytes from lowercase or uppercase hex; `None` when it is not hex.
fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

fn aad(parts: &[&str]) -> Vec<u8> {
    // Length-prefixed, so ("ab","c") and ("a","bc") differ.
    let mut out = Vec::with_capacity(64);
    for p in parts {
        out.extend_from_slice(&(p.len() as u64).to_be_bytes());
        out.extend_from_slice(p.as_bytes());
    }
    out
}

/// Per-tenant data keys over a [`KeyProvider`]: encrypt and decrypt records, rotate, re-encrypt, shred.
#[derive(Debug)]
pub struct Keyring {
    provider: Arc<dyn KeyProvider>,
    /// Wrapped keys per tenant, oldest first (the last is current).
    wrapped: RwLock<HashMap<String, Vec<WrappedKey>>>,
    /// Unwrapped keys, cached.
    open: RwLock<HashMap<String, SecretKey>>,
}

impl Keyring {
    /// A keyring over a key provider (the data keys are loaded from the store as they are met).
    pub fn new(provider: Arc<dyn KeyProvider>) -> Self {
        Keyring {
            provider,
            wrapped: RwLock::new(HashMap::new()),
            open: RwLock::new(HashMap::new()),
        }
    }

    /// Loads wrapped keys kept by a store.
    pub fn load(&self, keys: Vec<WrappedKey>) {
        let mut w = self.wrapped.write().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            w.entry(k.tenant.clone()).or_default().push(k);
        }
    }

    /// Every wrapped key (for a store to persist).
    pub fn wrapped_keys(&self) -> Vec<WrappedKey> {
        self.wrapped
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .flatten()
            .cloned()
            .collect()
    }

    /// Whether a key owner (a tenant, or a client scope) has a data key.
    pub fn has_key(&self, owner: &str) -> bool {
        self.wrapped
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(owner)
            .is_some_and(|ks| !ks.is_empty())
    }

    /// Creates a new current data key for a tenant (its first one, or a rotation).
    pub fn rotate(&self, tenant: &str) -> Result<String> {
        let key = self.new_key(tenant)?;
        let key_id = key.key_id.clone();
        self.wrapped
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(tenant.to_string())
            .or_default()
            .push(key);
        Ok(key_id)
    }

    /// A new data key for an owner, wrapped, not yet in use: [`Keyring::load`] it once the store agreed to it (a
    /// store shared by processes keeps one first key per owner).
    pub fn new_key(&self, tenant: &str) -> Result<WrappedKey> {
        let master_id = self.provider.current()?;
        let key = SecretKey::generate()?;
        let suffix = random::<8>()?;
        let key_id = format!(
            "{tenant}:{}",
            suffix
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let wrapped = self.provider.wrap(
            &master_id,
            &key,
            &aad(&["finops-data-key", tenant, &key_id]),
        )?;
        self.open
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key_id.clone(), key);
        Ok(WrappedKey {
            tenant: tenant.into(),
            key_id,
            master_id,
            wrapped,
        })
    }

    fn data_key(&self, tenant: &str, key_id: &str) -> Result<SecretKey> {
        if let Some(k) = self
            .open
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key_id)
        {
            return Ok(k.clone());
        }
        let wrapped = self
            .wrapped
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .and_then(|ks| ks.iter().find(|k| k.key_id == key_id).cloned())
            .ok_or_else(|| Error::KeyUnavailable {
                key_id: key_id.to_string(),
                reason: format!("tenant `{tenant}` has no such key (never created, or erased)"),
            })?;
        let key = self.provider.unwrap(
            &wrapped.master_id,
            &wrapped.wrapped,
            &aad(&["finops-data-key", tenant, key_id]),
        )?;
        self.open
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key_id.to_string(), key.clone());
        Ok(key)
    }

    fn current(&self, tenant: &str) -> Result<String> {
        let existing = self
            .wrapped
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
            .and_then(|ks| ks.last().map(|k| k.key_id.clone()));
        match existing {
            Some(id) => Ok(id),
            None => self.rotate(tenant),
        }
    }

    /// A keyed hash of `value` for lookups (e.g. which client a record belongs to) that reveals nothing without the
    /// tenant's keys. It uses the tenant's first data key, so it stays stable across rotations until erasure.
    pub fn tag(&self, tenant: &str, value: &str) -> Result<String> {
        let first = {
            let w = self.wrapped.read().unwrap_or_else(|p| p.into_inner());
            w.get(tenant)
                .and_then(|ks| ks.first().map(|k| k.key_id.clone()))
        };
        let key_id = match first {
            Some(id) => id,
            None => self.rotate(tenant)?,
        };
        let key = self.data_key(tenant, &key_id)?;
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(key.bytes());
        h.update(aad(&["finops-tag", tenant, value]));
        let inner = h.finalize();
        let outer = Sha256::new()
            .chain_update(key.bytes())
            .chain_update(inner)
            .finalize();
        Ok(outer.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// An HMAC-SHA256 of `message` (hex) under a key derived from the tenant's first data key: authenticates the
    /// audit trail. The data key is stored only wrapped by the key provider's master key, so whoever can edit the
    /// store cannot compute it.
    pub fn mac(&self, tenant: &str, message: &[u8]) -> Result<String> {
        use hmac::Mac;
        let tag = self.mac_of(tenant, message)?.finalize().into_bytes();
        Ok(tag.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Whether `mac` (hex) is the tenant's [`Keyring::mac`] of `message` (compared in constant time).
    pub fn verify_mac(&self, tenant: &str, message: &[u8], mac: &str) -> Result<bool> {
        let Some(expected) = hex_bytes(mac) else {
            return Ok(false);
        };
        use hmac::Mac;
        Ok(self
            .mac_of(tenant, message)?
            .verify_slice(&expected)
            .is_ok())
    }

    fn mac_of(&self, tenant: &str, message: &[u8]) -> Result<hmac::Hmac<sha2::Sha256>> {
        use hmac::{KeyInit, Mac};
        let first = {
            let w = self.wrapped.read().unwrap_or_else(|p| p.into_inner());
            w.get(tenant)
                .and_then(|ks| ks.first().map(|k| k.key_id.clone()))
        };
        let key_id = match first {
            Some(id) => id,
            None => self.rotate(tenant)?,
        };
        let key = self.data_key(tenant, &key_id)?;
        let bad = |e: hmac::digest::InvalidLength| Error::Internal(e.to_string());
        // A key of its own for the audit MACs, derived from the data key (which also encrypts).
        let derived = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.bytes())
            .map_err(bad)?
            .chain_update(aad(&["finops-audit-mac-key", tenant]))
            .finalize()
            .into_bytes();
        let mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&derived).map_err(bad)?;
        Ok(mac.chain_update(message))
    }

    /// Encrypts a record with the tenant's current data key, bound to (tenant, kind, record id, key id).
    pub fn encrypt(
        &self,
        tenant: &str,
        kind: &str,
        record_id: &str,
        plaintext: &[u8],
    ) -> Result<Sealed> {
        let key_id = self.current(tenant)?;
        let key = self.data_key(tenant, &key_id)?;
        let (nonce, ciphertext) = seal(
            key.bytes(),
            &aad(&[tenant, kind, record_id, &key_id]),
            plaintext,
        )?;
        Ok(Sealed {
            key_id,
            nonce,
            ciphertext,
        })
    }

    /// Decrypts a record; a record altered, moved to another row or tenant, or whose key was erased is refused.
    pub fn decrypt(
        &self,
        tenant: &str,
        kind: &str,
        record_id: &str,
        sealed: &Sealed,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let key = self.data_key(tenant, &sealed.key_id)?;
        let plain = open(
            key.bytes(),
            &aad(&[tenant, kind, record_id, &sealed.key_id]),
            &sealed.nonce,
            &sealed.ciphertext,
        )?;
        Ok(Zeroizing::new(plain))
    }

    /// Re-encrypts a record with the tenant's current key (after a rotation).
    pub fn reencrypt(
        &self,
        tenant: &str,
        kind: &str,
        record_id: &str,
        sealed: &Sealed,
    ) -> Result<Sealed> {
        let plain = self.decrypt(tenant, kind, record_id, sealed)?;
        self.encrypt(tenant, kind, record_id, &plain)
    }

    /// Key owners (a tenant, or a client scope such as `tenant#tag`) whose name starts with `prefix`.
    pub fn owners(&self, prefix: &str) -> Vec<String> {
        self.wrapped
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .filter(|o| o.starts_with(prefix))
            .cloned()
            .collect()
    }

    /// The id of an owner's first data key (the one its tags and audit MACs use).
    pub fn first_key_id(&self, owner: &str) -> Option<String> {
        self.wrapped
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(owner)
            .and_then(|ks| ks.first().map(|k| k.key_id.clone()))
    }

    /// Crypto-shredding: destroys every data key of a tenant; its records can never be read again.
    pub fn shred(&self, tenant: &str) -> usize {
        let removed = self
            .wrapped
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(tenant)
            .unwrap_or_default();
        let mut open = self.open.write().unwrap_or_else(|p| p.into_inner());
        for k in &removed {
            open.remove(&k.key_id);
        }
        removed.len()
    }
}

#[cfg(test)]
mod tests;
