use aes_gcm::KeyInit as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};

use super::*;

fn token(value: &str) -> SecretString {
    SecretString::from(value)
}

fn ig(id: &str) -> IgUserId {
    IgUserId::parse(id).unwrap()
}

/// A ring from fixed test keys: `version` → 32 bytes of `fill`.
fn ring(keys: &[(u32, u8)]) -> KeyRing {
    let value = keys
        .iter()
        .map(|(version, fill)| format!("{version}:{}", BASE64.encode([*fill; KEY_LEN])))
        .collect::<Vec<_>>()
        .join(",");
    KeyRing::parse(&SecretString::from(value)).unwrap()
}

fn context() -> TokenContext {
    TokenContext::instagram(UserId::new(), &ig("17841405822304914"))
}

#[test]
fn a_sealed_token_opens_with_its_context() {
    let vault = TokenVault::new(ring(&[(1, 7)]));
    let ctx = context();
    let sealed = vault.seal(&token("EAAG-secret"), &ctx).unwrap();
    assert_eq!(
        vault.open(&sealed, &ctx).unwrap().expose_secret(),
        "EAAG-secret"
    );
    assert_eq!(sealed.len(), HEADER_LEN + "EAAG-secret".len() + TAG_LEN);
    assert_eq!(sealed[0], FORMAT_V1);
    assert_eq!(key_version_of(&sealed), Ok(1));
}

#[test]
fn the_plaintext_does_not_appear_in_the_sealed_bytes() {
    let vault = TokenVault::new(ring(&[(1, 7)]));
    let sealed = vault.seal(&token("EAAG-plain-marker"), &context()).unwrap();
    assert!(!sealed.windows(5).any(|w| w == b"EAAG-"));
}

#[test]
fn sealing_the_same_token_twice_gives_different_ciphertexts_that_both_open() {
    let vault = TokenVault::new(ring(&[(1, 7)]));
    let ctx = context();
    let first = vault.seal(&token("same"), &ctx).unwrap();
    let second = vault.seal(&token("same"), &ctx).unwrap();
    assert_ne!(first, second);
    assert_ne!(first[5..HEADER_LEN], second[5..HEADER_LEN], "nonces differ");
    assert_eq!(vault.open(&first, &ctx).unwrap().expose_secret(), "same");
    assert_eq!(vault.open(&second, &ctx).unwrap().expose_secret(), "same");
}

#[test]
fn flipping_any_bit_of_a_sealed_token_makes_it_fail_to_open() {
    let vault = TokenVault::new(ring(&[(1, 7)]));
    let ctx = context();
    let sealed = vault.seal(&token("EAAG-token"), &ctx).unwrap();
    for position in 0..sealed.len() {
        for bit in 0..8 {
            let mut tampered = sealed.clone();
            tampered[position] ^= 1 << bit;
            let err = vault.open(&tampered, &ctx).unwrap_err();
            let expected_kind = match position {
                0 => matches!(err, VaultError::Malformed(_)),
                1..=4 => matches!(err, VaultError::UnknownKeyVersion(_)),
                // nonce, ciphertext and tag
                _ => err == VaultError::Unreadable,
            };
            assert!(expected_kind, "byte {position} bit {bit}: {err:?}");
        }
    }
}

#[test]
fn a_changed_key_version_fails_even_when_the_ring_knows_that_version() {
    // Version 2 exists, but the ciphertext was made under version 1 (and the version is bound
    // in the associated data as well as selecting the key).
    let vault = TokenVault::new(ring(&[(1, 7), (2, 9)]));
    let old = TokenVault::new(ring(&[(1, 7)]));
    let ctx = context();
    let mut sealed = old.seal(&token("t"), &ctx).unwrap();
    sealed[1..5].copy_from_slice(&2_u32.to_be_bytes());
    assert_eq!(
        vault.open(&sealed, &ctx).unwrap_err(),
        VaultError::Unreadable
    );
}

#[test]
fn every_truncation_of_a_sealed_token_is_an_error() {
    let vault = TokenVault::new(ring(&[(1, 7)]));
    let ctx = context();
    let sealed = vault.seal(&token("EAAG-token"), &ctx).unwrap();
    for len in 0..sealed.len() {
        assert!(vault.open(&sealed[..len], &ctx).is_err(), "length {len}");
    }
    let mut extended = sealed.clone();
    extended.push(0);
    assert_eq!(
        vault.open(&extended, &ctx).unwrap_err(),
        VaultError::Unreadable
    );
}

#[test]
fn a_ciphertext_copied_to_another_owner_does_not_open() {
    let vault = TokenVault::new(ring(&[(1, 7)]));
    let ig_account = ig("17841405822304914");
    let alice = TokenContext::instagram(UserId::new(), &ig_account);
    let bob = TokenContext::instagram(UserId::new(), &ig_account);
    let sealed = vault.seal(&token("alice-token"), &alice).unwrap();
    assert_eq!(
        vault.open(&sealed, &bob).unwrap_err(),
        VaultError::Unreadable
    );
    assert!(VaultError::Unreadable.needs_reconnect());
}

#[test]
fn a_ciphertext_does_not_open_for_another_subject_or_purpose() {
    let vault = TokenVault::new(ring(&[(1, 7)]));
    let owner = UserId::new();
    let ctx = TokenContext::instagram(owner, &ig("1"));
    let sealed = vault.seal(&token("t"), &ctx).unwrap();
    let other_subject = TokenContext::instagram(owner, &ig("2"));
    let other_purpose = TokenContext::new(owner, TokenPurpose::MetaUserAccess, "1");
    assert_eq!(
        vault.open(&sealed, &other_subject).unwrap_err(),
        VaultError::Unreadable
    );
    assert_eq!(
        vault.open(&sealed, &other_purpose).unwrap_err(),
        VaultError::Unreadable
    );
}

#[test]
fn the_associated_data_names_purpose_owner_subject_and_key_version() {
    let owner = UserId::new();
    let ctx = TokenContext::instagram(owner, &ig("42"));
    assert_eq!(
        ctx.associated_data(3).as_bytes(),
        format!("kraftsoci.token.v1|instagram_access|{owner}|42|key=3").as_bytes()
    );
    let connection = ConnectionId::new();
    let by_row = TokenContext::connection(owner, TokenPurpose::InstagramAccess, connection);
    assert_eq!(by_row.subject, connection.to_string());
}

#[test]
fn a_different_key_under_the_same_version_cannot_open_the_token() {
    let ctx = context();
    let sealed = TokenVault::new(ring(&[(1, 7)]))
        .seal(&token("t"), &ctx)
        .unwrap();
    let impostor = TokenVault::new(ring(&[(1, 8)]));
    assert_eq!(
        impostor.open(&sealed, &ctx).unwrap_err(),
        VaultError::Unreadable
    );
}

#[test]
fn an_unknown_key_version_is_a_clean_error() {
    let ctx = context();
    let sealed = TokenVault::new(ring(&[(5, 7)]))
        .seal(&token("t"), &ctx)
        .unwrap();
    let vault = TokenVault::new(ring(&[(1, 7), (2, 8)]));
    assert_eq!(
        vault.open(&sealed, &ctx).unwrap_err(),
        VaultError::UnknownKeyVersion(5)
    );
    assert_eq!(
        vault.needs_rotation(&sealed),
        Err(VaultError::UnknownKeyVersion(5))
    );
    assert_eq!(
        vault.reseal(&sealed, &ctx),
        Err(VaultError::UnknownKeyVersion(5))
    );
    assert!(VaultError::UnknownKeyVersion(5).needs_reconnect());
}

#[test]
fn rotation_keeps_old_tokens_readable_and_reseal_leaves_no_old_version_behind() {
    let before = TokenVault::new(ring(&[(1, 7)]));
    let rows: Vec<(TokenContext, String, Vec<u8>)> = (0..5)
        .map(|i| {
            let ctx = TokenContext::instagram(UserId::new(), &ig(&format!("{}", 100 + i)));
            let plain = format!("token-{i}");
            let sealed = before.seal(&token(&plain), &ctx).unwrap();
            (ctx, plain, sealed)
        })
        .collect();

    let after = TokenVault::new(ring(&[(1, 7), (2, 9)]));
    assert_eq!(after.key_ring().current_version(), 2);
    for (ctx, plain, sealed) in &rows {
        assert_eq!(after.open(sealed, ctx).unwrap().expose_secret(), plain);
        assert_eq!(after.needs_rotation(sealed), Ok(true));
    }

    // The re-encryption job: reseal every row and store what it returns.
    let rotated: Vec<(TokenContext, String, Vec<u8>)> = rows
        .into_iter()
        .map(|(ctx, plain, sealed)| {
            let new = after
                .reseal(&sealed, &ctx)
                .unwrap()
                .expect("an old row is resealed");
            (ctx, plain, new)
        })
        .collect();
    for (ctx, plain, sealed) in &rotated {
        assert_eq!(key_version_of(sealed), Ok(2));
        assert_eq!(after.needs_rotation(sealed), Ok(false));
        assert_eq!(
            after.reseal(sealed, ctx),
            Ok(None),
            "current rows are left alone"
        );
        // Version 1 can now be retired: a ring with only version 2 reads everything.
        let retired = TokenVault::new(ring(&[(2, 9)]));
        assert_eq!(retired.open(sealed, ctx).unwrap().expose_secret(), plain);
    }
}

#[test]
fn reseal_refuses_a_row_that_belongs_to_someone_else() {
    let ctx = context();
    let sealed = TokenVault::new(ring(&[(1, 7)]))
        .seal(&token("t"), &ctx)
        .unwrap();
    let vault = TokenVault::new(ring(&[(1, 7), (2, 9)]));
    assert_eq!(
        vault.reseal(&sealed, &context()),
        Err(VaultError::Unreadable)
    );
}

#[test]
fn rotate_adds_a_newer_key_and_the_ring_survives_its_env_format() {
    let mut keys = KeyRing::generate().unwrap();
    assert_eq!(keys.versions(), vec![1]);
    let ctx = context();
    let old = TokenVault::new(KeyRing::parse(&keys.to_env_value()).unwrap())
        .seal(&token("t"), &ctx)
        .unwrap();
    assert_eq!(keys.rotate(), Ok(2));
    let vault = TokenVault::new(KeyRing::parse(&keys.to_env_value()).unwrap());
    assert_eq!(vault.key_ring().versions(), vec![1, 2]);
    assert_eq!(vault.open(&old, &ctx).unwrap().expose_secret(), "t");
    assert_eq!(
        key_version_of(&vault.seal(&token("t"), &ctx).unwrap()),
        Ok(2)
    );
}

#[test]
fn generated_keys_are_random() {
    let a = KeyRing::generate().unwrap().to_env_value();
    let b = KeyRing::generate().unwrap().to_env_value();
    assert_ne!(a.expose_secret(), b.expose_secret());
}

#[test]
fn the_highest_key_id_encrypts_whatever_the_order_of_the_entries() {
    let keys = format!(
        " 7:{} , 3:{},",
        BASE64.encode([1_u8; 32]),
        BASE64.encode([2_u8; 32])
    );
    let keys = KeyRing::parse(&SecretString::from(keys)).unwrap();
    assert_eq!(keys.current_version(), 7);
    assert_eq!(keys.versions(), vec![3, 7]);
    assert!(keys.contains(3) && !keys.contains(4));
}

#[test]
fn invalid_key_configurations_are_rejected_without_echoing_the_key() {
    let good = BASE64.encode([3_u8; 32]);
    let short = BASE64.encode([3_u8; 31]);
    let cases = [
        (String::new(), VaultError::EmptyKeyRing),
        (" , ".to_owned(), VaultError::EmptyKeyRing),
        (good.clone(), invalid(1, "expected ID:BASE64")),
        (
            format!("x:{good}"),
            invalid(1, "the id is not an unsigned 32-bit integer"),
        ),
        (
            format!("-1:{good}"),
            invalid(1, "the id is not an unsigned 32-bit integer"),
        ),
        (
            format!("1:{good},2:not base64!"),
            invalid(2, "the key is not valid base64"),
        ),
        (format!("1:{short}"), invalid(1, "the key is not 32 bytes")),
        (
            format!("1:{good},1:{good}"),
            invalid(2, "the id appears twice"),
        ),
    ];
    for (value, expected) in cases {
        let err = KeyRing::parse(&SecretString::from(value.clone())).unwrap_err();
        assert_eq!(err, expected, "{value}");
        assert!(!err.to_string().contains(&good));
    }
}

fn invalid(entry: usize, reason: &'static str) -> VaultError {
    VaultError::InvalidKey { entry, reason }
}

#[test]
fn debug_output_of_the_ring_and_vault_shows_no_key_material() {
    let key = [0xAB_u8; 32];
    let encoded = BASE64.encode(key);
    let vault =
        TokenVault::new(KeyRing::parse(&SecretString::from(format!("1:{encoded}"))).unwrap());
    let debug = format!(
        "{vault:?} {:?} {:#?}",
        vault.key_ring(),
        vault.key_ring().usage()
    );
    assert!(debug.contains("REDACTED"));
    assert!(!debug.contains(&encoded));
    assert!(!debug.to_lowercase().contains("abab"));
    assert!(!debug.contains("171, 171"), "no byte list: {debug}");
}

#[test]
fn encryptions_are_counted_per_key_version() {
    let vault = TokenVault::new(ring(&[(1, 7), (2, 9)]));
    for _ in 0..3 {
        vault.seal(&token("t"), &context()).unwrap();
    }
    let usage = vault.key_ring().usage();
    assert_eq!(
        usage,
        vec![
            KeyUsage {
                version: 1,
                encryptions: 0,
                current: false
            },
            KeyUsage {
                version: 2,
                encryptions: 3,
                current: true
            },
        ]
    );
}

#[test]
fn rotation_is_advised_well_before_the_key_limit_and_the_limit_is_enforced() {
    let vault = TokenVault::new(ring(&[(1, 7)]));
    let keys = vault.key_ring();
    keys.note_prior_encryptions(1, ROTATION_ADVISED_AFTER - 1);
    assert!(!keys.rotation_advised());
    vault.seal(&token("t"), &context()).unwrap();
    assert!(keys.rotation_advised());

    keys.note_prior_encryptions(1, MAX_ENCRYPTIONS_PER_KEY - ROTATION_ADVISED_AFTER - 1);
    vault.seal(&token("the last one"), &context()).unwrap();
    assert_eq!(
        vault.seal(&token("t"), &context()),
        Err(VaultError::KeyExhausted(1))
    );
    assert_eq!(keys.usage()[0].encryptions, MAX_ENCRYPTIONS_PER_KEY);
    // Unknown versions are ignored rather than invented.
    keys.note_prior_encryptions(9, 1);
    assert_eq!(keys.versions(), vec![1]);
}

#[test]
fn a_token_over_the_size_limit_is_refused() {
    let vault = TokenVault::new(ring(&[(1, 7)]));
    let big = "x".repeat(MAX_TOKEN_BYTES + 1);
    assert_eq!(
        vault.seal(&token(&big), &context()),
        Err(VaultError::TokenTooLarge {
            max: MAX_TOKEN_BYTES
        })
    );
    let at_limit = "x".repeat(MAX_TOKEN_BYTES);
    assert!(vault.seal(&token(&at_limit), &context()).is_ok());
}

#[test]
fn a_sealed_non_utf8_payload_is_malformed_not_a_panic() {
    // Encrypted with the right key and context but not by the vault (e.g. another tool).
    let vault = TokenVault::new(ring(&[(1, 7)]));
    let ctx = context();
    let nonce = [4_u8; NONCE_LEN];
    let mut body = vec![0xFF_u8, 0xFE];
    let tag = aes_gcm::Aes256Gcm::new(<&aes_gcm::Key<aes_gcm::Aes256Gcm>>::from(&[7; KEY_LEN]))
        .encrypt_in_place_detached(
            <&Nonce<U12>>::from(&nonce),
            ctx.associated_data(1).as_bytes(),
            &mut body,
        )
        .unwrap();
    let mut sealed = vec![FORMAT_V1];
    sealed.extend_from_slice(&1_u32.to_be_bytes());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&body);
    sealed.extend_from_slice(&tag);
    assert_eq!(
        vault.open(&sealed, &ctx).unwrap_err(),
        VaultError::Malformed("the token is not utf-8")
    );
}

#[test]
fn key_version_of_rejects_what_is_not_a_sealed_token() {
    assert_eq!(key_version_of(&[]), Err(VaultError::Malformed("empty")));
    assert_eq!(
        key_version_of(&[2; 40]),
        Err(VaultError::Malformed("unknown format"))
    );
    assert_eq!(
        key_version_of(&[1; 32]),
        Err(VaultError::Malformed("too short"))
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_make_open_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        let vault = TokenVault::new(ring(&[(1, 7)]));
        let _ = vault.open(&bytes, &context());
        let _ = vault.needs_rotation(&bytes);
        let _ = vault.reseal(&bytes, &context());
    }

    #[test]
    fn arbitrary_bytes_behind_a_valid_header_are_unreadable(
        nonce in any::<[u8; NONCE_LEN]>(),
        rest in proptest::collection::vec(any::<u8>(), TAG_LEN..80),
    ) {
        let vault = TokenVault::new(ring(&[(1, 7)]));
        let mut bytes = vec![FORMAT_V1, 0, 0, 0, 1];
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&rest);
        prop_assert_eq!(vault.open(&bytes, &context()).unwrap_err(), VaultError::Unreadable);
    }

    #[test]
    fn any_token_round_trips(plain in ".{0,300}", subject in ".{0,40}") {
        let vault = TokenVault::new(ring(&[(1, 7)]));
        let ctx = TokenContext::new(UserId::new(), TokenPurpose::InstagramAccess, subject);
        let sealed = vault.seal(&token(&plain), &ctx).unwrap();
        let opened = vault.open(&sealed, &ctx).unwrap();
        prop_assert_eq!(opened.expose_secret(), plain.as_str());
    }
}

// ----- Known answers: tokens sealed by earlier releases must keep opening -----

/// The owner of the known-answer tokens.
fn kat_owner() -> UserId {
    UserId::from_uuid(uuid::Uuid::from_u128(
        0x5f0c6a0e_8b7d_4c1e_9a53_2d1f4e6b7c80,
    ))
}

/// `(context, plaintext, sealed hex)`, sealed by the vault as it was before the cipher was
/// cached and the associated data stopped going through `format!` (key version 3 = 32 bytes of
/// 9). The second subject is longer than the stack buffer and holds `|`, `key=` and non-ASCII.
fn known_answers() -> Vec<(TokenContext, &'static str, &'static str)> {
    vec![
        (
            TokenContext::instagram(kat_owner(), &ig("17841405822304914")),
            "EAAG-known-answer-token",
            "0100000003327d468480e3c242980a28e0bfbd69f82fc790f1a56f23b3fd7f6f1b0cebaf62fe7b3c73ed775f12078c717e1d989f14e588ae",
        ),
        (
            TokenContext::new(
                kat_owner(),
                TokenPurpose::MetaUserAccess,
                "Ş|key=7 ü".repeat(30),
            ),
            "meta-user-token-ü",
            "0100000003960061915a3f724f3bbecb443e8053c695846027694d856b4e2637fdf895eedb464931056f36067d03ee47b0a23e",
        ),
    ]
}

#[test]
fn tokens_sealed_by_earlier_releases_still_open() {
    let vault = TokenVault::new(ring(&[(1, 7), (3, 9)]));
    for (ctx, plain, sealed) in known_answers() {
        let sealed = hex::decode(sealed).unwrap();
        assert_eq!(key_version_of(&sealed), Ok(3));
        assert_eq!(vault.open(&sealed, &ctx).unwrap().expose_secret(), plain);
    }
}

#[test]
fn sealing_with_the_same_key_and_nonce_gives_the_earlier_bytes_exactly() {
    let vault = TokenVault::new(ring(&[(1, 7), (3, 9)]));
    for (ctx, plain, expected) in known_answers() {
        let expected = hex::decode(expected).unwrap();
        let nonce: [u8; NONCE_LEN] = expected[5..HEADER_LEN].try_into().unwrap();
        let sealed = vault
            .seal_with_nonce(plain.as_bytes(), &ctx, nonce)
            .unwrap();
        assert_eq!(hex::encode(sealed), hex::encode(expected));
    }
}

/// The associated data as the vault wrote it with `format!`, which stored tokens depend on.
fn formatted_associated_data(ctx: &TokenContext, key_version: u32) -> Vec<u8> {
    format!(
        "kraftsoci.token.v1|{}|{}|{}|key={key_version}",
        ctx.purpose, ctx.owner, ctx.subject
    )
    .into_bytes()
}

#[test]
fn associated_data_longer_than_the_stack_buffer_is_still_exact() {
    let owner = UserId::new();
    for subject_len in [0, 1, 167, 168, 169, 300, 5000] {
        let ctx = TokenContext::new(owner, TokenPurpose::MetaUserAccess, "s".repeat(subject_len));
        for version in [0, 1, 9, 10, 4_294_967_295] {
            assert_eq!(
                ctx.associated_data(version).as_bytes(),
                formatted_associated_data(&ctx, version).as_slice(),
                "subject of {subject_len} bytes, key {version}"
            );
        }
    }
}

#[test]
fn key_versions_are_written_in_plain_decimal() {
    let mut buf = [0_u8; 10];
    for (n, text) in [
        (0, "0"),
        (7, "7"),
        (10, "10"),
        (1_000_000, "1000000"),
        (u32::MAX, "4294967295"),
    ] {
        assert_eq!(decimal(n, &mut buf), text.as_bytes());
    }
}

proptest! {
    #[test]
    fn the_associated_data_is_byte_for_byte_what_format_wrote(
        subject in ".{0,400}",
        version in any::<u32>(),
        meta in any::<bool>(),
    ) {
        let purpose = if meta { TokenPurpose::MetaUserAccess } else { TokenPurpose::InstagramAccess };
        let ctx = TokenContext::new(UserId::new(), purpose, subject);
        let built = ctx.associated_data(version);
        let formatted = formatted_associated_data(&ctx, version);
        prop_assert_eq!(built.as_bytes(), formatted.as_slice());
    }
}
