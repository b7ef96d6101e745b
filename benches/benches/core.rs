//! Micro-benchmarks of kraftsoci-core's hot paths: the token vault beside raw AES-256-GCM, the
//! content hash and lifecycle transitions.
//!
//! Reproduce with: `cargo bench -p kraftsoci-benches --bench core`
//!
//! After criterion's groups, the vault's goal (issue 17: seal + open at ≥ 90 % of raw
//! AES-256-GCM) is measured as a ratio in the same run: short rounds of the vault and of the
//! raw work interleave, so that load from the rest of the machine falls on both alike, and
//! the table gives the median of the per-round ratios.
use std::time::Instant;

use aes_gcm::aead::{Aead as _, Payload};
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
use chrono::Utc;
use criterion::{Criterion, Throughput, black_box, criterion_group};
use kraftsoci_core::{
    AltText, Approval, Caption, Hashtag, IgUserId, KeyRing, MediaDigest, MediaKind, Post,
    PostContent, Restrictions, TokenContext, TokenVault, UserId,
};
use rand::RngCore as _;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret as _, SecretString};

/// A stand-in for a Meta long-lived token (about 200 characters).
fn token() -> String {
    format!("EAAG{}", "mZ7qXr2Kb9Tc".repeat(16))
}

fn content() -> PostContent {
    PostContent {
        caption: Caption::parse(&"Fresh simit every morning from our stone oven. ".repeat(20))
            .expect("caption fits"),
        hashtags: (0..20)
            .map(|i| Hashtag::parse(&format!("bakery{i}")).expect("valid tag"))
            .collect(),
        alt_text: Some(AltText::parse("A basket of sesame bread rings").expect("valid alt")),
        media_kind: MediaKind::Image,
        media: vec![MediaDigest::of(&[7u8; 4096])],
        target: Some(IgUserId::parse("17841405822304914").expect("valid id")),
    }
}

fn content_hash(c: &mut Criterion) {
    let content = content();
    c.bench_function("content_hash/1k caption + 20 tags", |b| {
        b.iter(|| black_box(&content).hash())
    });
}

fn transitions(c: &mut Criterion) {
    let owner = UserId::new();
    let post = Post::generated(owner, content(), Utc::now()).expect("valid post");
    c.bench_function("lifecycle/approve + begin_publishing", |b| {
        b.iter(|| {
            let mut p = post.clone();
            p.approve(Approval {
                user: owner,
                shown_hash: p.content_hash(),
                target: IgUserId::parse("17841405822304914").expect("valid id"),
                at: Utc::now(),
                ip: None,
                user_agent: None,
                scheduled_for: None,
                api_key: None,
            })
            .expect("approval");
            black_box(p.begin_publishing(Utc::now(), &Restrictions::default()))
        })
    });
}

/// What the vault benchmarks share: a vault, a context, a 200-byte token, and a raw cipher with
/// the same associated data.
struct VaultBench {
    vault: TokenVault,
    context: TokenContext,
    plain: String,
    token: SecretString,
    key: [u8; 32],
    cipher: Aes256Gcm,
    aad: Vec<u8>,
}

impl VaultBench {
    fn new() -> Self {
        let owner = UserId::new();
        let ig = IgUserId::parse("17841405822304914").expect("valid id");
        let plain = token();
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Self {
            vault: TokenVault::new(KeyRing::generate().expect("os randomness")),
            context: TokenContext::instagram(owner, &ig),
            token: SecretString::from(plain.clone()),
            plain,
            cipher: Aes256Gcm::new_from_slice(&key).expect("32-byte key"),
            key,
            aad: format!("kraftsoci.token.v1|instagram_access|{owner}|{ig}|key=1").into_bytes(),
        }
    }

    /// The vault's seal + open: random nonce from the OS, the encryption counter, the envelope,
    /// owner-bound associated data, a zeroized plaintext buffer.
    fn vault_roundtrip(&self) -> usize {
        let sealed = self
            .vault
            .seal(black_box(&self.token), &self.context)
            .expect("seal");
        let opened = self.vault.open(&sealed, &self.context).expect("open");
        black_box(opened.expose_secret().len())
    }

    /// The same AES-256-GCM work done directly with `cipher`: a fresh nonce from the OS, the same
    /// associated data, one buffer allocated by each of encrypt and decrypt.
    fn raw_roundtrip(&self, cipher: &Aes256Gcm) -> usize {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let nonce = Nonce::from_slice(&nonce);
        let sealed = cipher
            .encrypt(
                nonce,
                Payload {
                    msg: self.plain.as_bytes(),
                    aad: &self.aad,
                },
            )
            .expect("encrypt");
        let opened = cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed,
                    aad: &self.aad,
                },
            )
            .expect("decrypt");
        black_box(opened.len())
    }

    /// The raw work with the key expanded on every call (what the vault did before it cached
    /// its ciphers).
    fn raw_roundtrip_key_per_call(&self) -> usize {
        let cipher = Aes256Gcm::new_from_slice(black_box(&self.key)).expect("32-byte key");
        self.raw_roundtrip(&cipher)
    }
}

/// The vault's seal + open beside the same AES-256-GCM work done directly: with a cipher built
/// up front (the ceiling, as the vault caches its ciphers) and with the key expanded per call.
fn vault(c: &mut Criterion) {
    let bench = VaultBench::new();
    let mut group = c.benchmark_group("vault");
    group.throughput(Throughput::Bytes(bench.plain.len() as u64));
    group.bench_function("TokenVault seal + open", |b| {
        b.iter(|| bench.vault_roundtrip())
    });
    group.bench_function("raw Aes256Gcm encrypt + decrypt (cipher reused)", |b| {
        b.iter(|| bench.raw_roundtrip(black_box(&bench.cipher)))
    });
    group.bench_function("raw Aes256Gcm encrypt + decrypt (key per call)", |b| {
        b.iter(|| bench.raw_roundtrip_key_per_call())
    });
    group.finish();
}

/// The nanoseconds per call of `routine` over `iterations` calls.
fn time_per_call(iterations: u32, mut routine: impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(routine());
    }
    start.elapsed().as_nanos() as f64 / f64::from(iterations)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at]
}

/// Issue 17's vault goal as a ratio measured in this run: raw AES-256-GCM time ÷ vault time
/// (so 100 % means the vault costs nothing on top), from `rounds` interleaved rounds.
fn vault_ratio(rounds: usize, iterations: u32) {
    let bench = VaultBench::new();
    // Warm-up: page in the code and the OS's random number source.
    for _ in 0..iterations {
        bench.vault_roundtrip();
        bench.raw_roundtrip(&bench.cipher);
    }
    let (mut vault, mut reused, mut per_call) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Rotate the order so that none of the three always runs first.
        for slot in 0..3 {
            match (round + slot) % 3 {
                0 => vault.push(time_per_call(iterations, || bench.vault_roundtrip())),
                1 => reused.push(time_per_call(iterations, || {
                    bench.raw_roundtrip(&bench.cipher)
                })),
                _ => per_call.push(time_per_call(iterations, || {
                    bench.raw_roundtrip_key_per_call()
                })),
            }
        }
    }
    let ratios = |raw: &[f64]| {
        let mut r: Vec<f64> = raw.iter().zip(&vault).map(|(raw, v)| raw / v).collect();
        r.sort_by(f64::total_cmp);
        r
    };
    let (ratio_reused, ratio_per_call) = (ratios(&reused), ratios(&per_call));
    for times in [&mut vault, &mut reused, &mut per_call] {
        times.sort_by(f64::total_cmp);
    }
    let row = |name: &str, times: &[f64], ratio: Option<&[f64]>| {
        let ratio = ratio.map_or_else(
            || "–".to_owned(),
            |r| {
                format!(
                    "**{:.1} %** [{:.1}, {:.1}]",
                    100.0 * percentile(r, 0.5),
                    100.0 * percentile(r, 0.25),
                    100.0 * percentile(r, 0.75)
                )
            },
        );
        println!(
            "| {name} | {:.0} ns [{:.0}, {:.0}] | {ratio} |",
            percentile(times, 0.5),
            percentile(times, 0.25),
            percentile(times, 0.75)
        );
    };
    println!();
    println!(
        "vault ÷ raw AES-256-GCM, {rounds} interleaved rounds of {iterations} calls each \
         (median [25th, 75th percentile])"
    );
    println!();
    println!("| routine (200-byte token) | seal + open | raw ÷ vault per round |");
    println!("|---|---|---|");
    row("TokenVault seal + open", &vault, None);
    row(
        "raw, cipher reused (the ceiling)",
        &reused,
        Some(&ratio_reused),
    );
    row(
        "raw, key expanded per call",
        &per_call,
        Some(&ratio_per_call),
    );
    println!();
}

/// Criterion options that take a value, so that the value is not read as a filter.
const VALUE_OPTIONS: [&str; 14] = [
    "--warm-up-time",
    "--measurement-time",
    "--sample-size",
    "--save-baseline",
    "--baseline",
    "--load-baseline",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--nresamples",
    "--output-format",
    "--plotting-backend",
    "--color",
    "--profile-time",
];

/// Whether the command line selects the vault ratio: no filter, or one that `vault` matches.
fn ratio_selected(args: &[String]) -> bool {
    let mut filter = None;
    let mut skip_value = false;
    for arg in args {
        if skip_value {
            skip_value = false;
        } else if VALUE_OPTIONS.contains(&arg.as_str()) {
            skip_value = true;
        } else if !arg.starts_with('-') {
            filter = Some(arg.as_str());
        }
    }
    filter.is_none_or(|f| "vault".contains(f) || f.contains("vault"))
}

criterion_group!(benches, vault, content_hash, transitions);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();

    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") || !ratio_selected(&args) {
        return;
    }
    // As criterion does: `cargo bench` passes `--bench`; without it (`cargo test --benches`,
    // or `--test`) the binary only checks that everything runs.
    let measuring = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    if measuring {
        let started = Instant::now();
        vault_ratio(90, 3000);
        eprintln!("vault ratio measured in {:?}", started.elapsed());
    } else {
        println!("(a smoke run under `cargo test`: these numbers are not a measurement)");
        vault_ratio(3, 10);
    }
}
