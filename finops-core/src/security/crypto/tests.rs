use super::*;

fn keyring() -> (Arc<LocalKeyProvider>, Keyring) {
    let provider = Arc::new(LocalKeyProvider::new("m1", SecretKey::generate().unwrap()));
    let ring = Keyring::new(provider.clone());
    (provider, ring)
}

#[test]
fn records_round_trip_with_fresh_nonces() {
    let (_, ring) = keyring();
    let a = ring
        .encrypt(
            "firm-a",
            "analysis",
            "r1",
            b"Bistro Saint-Denis: 3331832.60",
        )
        .unwrap();
    let b = ring
        .encrypt(
            "firm-a",
            "analysis",
            "r1",
            b"Bistro Saint-Denis: 3331832.60",
        )
        .unwrap();
    assert_ne!(a.nonce, b.nonce, "a fresh nonce per record");
    assert_ne!(a.ciphertext, b.ciphertext);
    assert_eq!(
        &ring.decrypt("firm-a", "analysis", "r1", &a).unwrap()[..],
        b"Bistro Saint-Denis: 3331832.60"
    );
    assert!(!a.ciphertext.windows(6).any(|w| w == b"Bistro"));
}

#[test]
fn tampering_and_moving_records_are_detected() {
    let (_, ring) = keyring();
    let sealed = ring
        .encrypt("firm-a", "analysis", "r1", b"secret report")
        .unwrap();
    ring.encrypt("firm-b", "analysis", "r1", b"other").unwrap();
    for i in 0..sealed.ciphertext.len() {
        let mut bad = sealed.clone();
        bad.ciphertext[i] ^= 0x01;
        assert_eq!(
            ring.decrypt("firm-a", "analysis", "r1", &bad)
                .unwrap_err()
                .code(),
            "integrity"
        );
    }
    let mut bad = sealed.clone();
    bad.nonce[0] ^= 1;
    assert!(ring.decrypt("firm-a", "analysis", "r1", &bad).is_err());
    // Another row, another kind, another tenant: all refused.
    assert_eq!(
        ring.decrypt("firm-a", "analysis", "r2", &sealed)
            .unwrap_err()
            .code(),
        "integrity"
    );
    assert_eq!(
        ring.decrypt("firm-a", "audit", "r1", &sealed)
            .unwrap_err()
            .code(),
        "integrity"
    );
    assert!(ring.decrypt("firm-b", "analysis", "r1", &sealed).is_err());
}

#[test]
fn rotation_keeps_old_records_readable_and_reencrypt_moves_them() {
    let (provider, ring) = keyring();
    let old = ring.encrypt("firm-a", "analysis", "r1", b"v1").unwrap();
    provider
        .rotate("m2", SecretKey::generate().unwrap())
        .unwrap();
    let new_key = ring.rotate("firm-a").unwrap();
    let new = ring.encrypt("firm-a", "analysis", "r2", b"v2").unwrap();
    assert_eq!(new.key_id, new_key);
    assert_ne!(old.key_id, new.key_id);
    assert_eq!(
        &ring.decrypt("firm-a", "analysis", "r1", &old).unwrap()[..],
        b"v1"
    );
    let moved = ring.reencrypt("firm-a", "analysis", "r1", &old).unwrap();
    assert_eq!(moved.key_id, new_key);
    assert_eq!(
        &ring.decrypt("firm-a", "analysis", "r1", &moved).unwrap()[..],
        b"v1"
    );
    assert!(
        provider
            .rotate("m2", SecretKey::generate().unwrap())
            .is_err()
    );
}

#[test]
fn wrong_master_key_and_wrapped_keys_reloaded_elsewhere() {
    let (provider, ring) = keyring();
    let sealed = ring.encrypt("firm-a", "analysis", "r1", b"v1").unwrap();
    // The same wrapped keys under the right master key read; under another master key they do not.
    let again = Keyring::new(provider);
    again.load(ring.wrapped_keys());
    assert_eq!(
        &again.decrypt("firm-a", "analysis", "r1", &sealed).unwrap()[..],
        b"v1"
    );
    let stranger = Keyring::new(Arc::new(LocalKeyProvider::new(
        "m1",
        SecretKey::generate().unwrap(),
    )));
    stranger.load(ring.wrapped_keys());
    assert_eq!(
        stranger
            .decrypt("firm-a", "analysis", "r1", &sealed)
            .unwrap_err()
            .code(),
        "integrity"
    );
}

#[test]
fn shredding_makes_a_tenant_unreadable() {
    let (_, ring) = keyring();
    let a = ring.encrypt("firm-a", "analysis", "r1", b"v1").unwrap();
    let b = ring.encrypt("firm-b", "analysis", "r1", b"v2").unwrap();
    assert_eq!(ring.shred("firm-a"), 1);
    assert_eq!(
        ring.decrypt("firm-a", "analysis", "r1", &a)
            .unwrap_err()
            .code(),
        "key_unavailable"
    );
    assert_eq!(
        &ring.decrypt("firm-b", "analysis", "r1", &b).unwrap()[..],
        b"v2"
    );
}

#[test]
fn master_keys_from_hex_and_files() {
    assert_eq!(
        SecretKey::from_hex("FINOPS_MASTER_KEY", "abc")
            .unwrap_err()
            .field(),
        Some("FINOPS_MASTER_KEY")
    );
    assert!(SecretKey::from_hex("k", &"g".repeat(64)).is_err());
    let k = SecretKey::generate().unwrap();
    let again = SecretKey::from_hex("k", &k.to_hex()).unwrap();
    assert_eq!(k.bytes(), again.bytes());
    assert_eq!(format!("{k:?}"), "SecretKey([redacted])");
    let dir = std::env::temp_dir().join(format!("finops-key-{}", std::process::id()));
    let path = dir.join("master.key");
    let _ = std::fs::remove_file(&path);
    let first = LocalKeyProvider::from_file(&path).unwrap();
    let second = LocalKeyProvider::from_file(&path).unwrap();
    assert_eq!(
        first.key("file").unwrap().bytes(),
        second.key("file").unwrap().bytes()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    std::fs::write(&path, "not a key").unwrap();
    assert_eq!(
        LocalKeyProvider::from_file(&path).unwrap_err().field(),
        Some("master_key_file")
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn sealed_values_round_trip_in_their_compact_form_and_bad_bytes_are_refused() {
    let (_, ring) = keyring();
    let sealed = ring.encrypt("firm-a", "job", "j1", b"statements").unwrap();
    let bytes = sealed.to_bytes();
    assert_eq!(Sealed::from_bytes(&bytes).unwrap(), sealed);
    assert!(bytes.len() < serde_json::to_vec(&sealed).unwrap().len() / 2);
    // The JSON form earlier versions wrote still reads.
    let json = serde_json::to_vec(&sealed).unwrap();
    assert_eq!(Sealed::from_bytes(&json).unwrap(), sealed);
    for bad in [&b""[..], b"garbage", &bytes[..5], &[1u8, 0, 9, b'k'][..]] {
        let err = Sealed::from_bytes(bad).unwrap_err();
        assert_eq!(err.code(), "integrity", "{bad:?}");
    }
    // A cut ciphertext reads as a sealed value but fails to decrypt.
    let cut = Sealed::from_bytes(&bytes[..bytes.len() - 1]).unwrap();
    assert!(ring.decrypt("firm-a", "job", "j1", &cut).is_err());
}
