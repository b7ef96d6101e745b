//! The token vault's seal + open beside raw AES-256-GCM, counted in instructions instead of
//! time: on a machine shared by several people, time moves with their load, instruction
//! counts do not. Run it under `valgrind --tool=callgrind` (see `docs/performance.md`, §6):
//!
//! ```sh
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/vault_instructions vault 2000
//! ```
//!
//! Each run does `calls` round trips of one routine after the same set-up; the difference
//! between two runs with different counts is the routines' own cost, set-up and process start
//! cancelled out.
//!
//! Routines: `vault` (`TokenVault::seal` + `open`, 200-byte token), `raw` (the same
//! AES-256-GCM work with a cipher built once: fresh OS nonce, the same associated data, one
//! buffer for each of encrypt and decrypt) and `raw-key-per-call` (`raw` with the key expanded
//! on every call, what the vault did before it cached its ciphers).

use std::hint::black_box;

use aes_gcm::aead::{Aead as _, Payload};
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
use kraftsoci_core::{IgUserId, KeyRing, TokenContext, TokenVault, UserId};
use rand::RngCore as _;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret as _, SecretString};

fn raw_roundtrip(cipher: &Aes256Gcm, plain: &[u8], aad: &[u8]) -> usize {
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    let nonce = Nonce::from_slice(&nonce);
    let sealed = cipher
        .encrypt(nonce, Payload { msg: plain, aad })
        .expect("encrypt");
    let opened = cipher
        .decrypt(nonce, Payload { msg: &sealed, aad })
        .expect("decrypt");
    opened.len()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let routine = args.next().unwrap_or_default();
    let calls: u32 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);

    let owner = UserId::new();
    let ig = IgUserId::parse("17841405822304914").expect("valid id");
    let plain = format!("EAAG{}", "mZ7qXr2Kb9Tc".repeat(16));
    let token = SecretString::from(plain.clone());
    let context = TokenContext::instagram(owner, &ig);
    let vault = TokenVault::new(KeyRing::generate().expect("os randomness"));
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    let cipher = Aes256Gcm::new_from_slice(&key).expect("32-byte key");
    let aad = format!("kraftsoci.token.v1|instagram_access|{owner}|{ig}|key=1").into_bytes();

    let mut total = 0usize;
    match routine.as_str() {
        "vault" => {
            for _ in 0..calls {
                let sealed = vault.seal(black_box(&token), &context).expect("seal");
                let opened = vault.open(&sealed, &context).expect("open");
                total += black_box(opened.expose_secret().len());
            }
        }
        "raw" => {
            for _ in 0..calls {
                total += black_box(raw_roundtrip(&cipher, plain.as_bytes(), &aad));
            }
        }
        "raw-key-per-call" => {
            for _ in 0..calls {
                let cipher = Aes256Gcm::new_from_slice(black_box(&key)).expect("32-byte key");
                total += black_box(raw_roundtrip(&cipher, plain.as_bytes(), &aad));
            }
        }
        other => {
            eprintln!("usage: vault_instructions vault|raw|raw-key-per-call CALLS (not {other:?})");
            std::process::exit(2);
        }
    }
    println!("{routine}: {calls} round trips, {total} bytes opened");
}
