//! Micro-benchmarks of kraftsoci-core's hot paths: the token vault beside raw AES-256-GCM, the
//! content hash and lifecycle transitions.
//!
//! Reproduce with: `cargo bench -p kraftsoci-benches --bench core`
use aes_gcm::aead::{Aead as _, Payload};
use aes_gcm::{Aes256Gcm, KeyInit as _, Nonce};
use chrono::Utc;
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
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
            })
            .expect("approval");
            black_box(p.begin_publishing(Utc::now(), &Restrictions::default()))
        })
    });
}

/// The vault's seal + open (random nonce from the OS, key schedule per call, bound associated
/// data, zeroized buffers) beside the same AES-256-GCM work done directly: once with the cipher
/// built per call (what the vault does) and once with a cipher built up front (the floor).
fn vault(c: &mut Criterion) {
    let vault = TokenVault::new(KeyRing::generate().expect("os randomness"));
    let owner = UserId::new();
    let ig = IgUserId::parse("17841405822304914").expect("valid id");
    let context = TokenContext::instagram(owner, &ig);
    let plain = token();
    let token = SecretString::from(plain.clone());

    let mut group = c.benchmark_group("vault");
    group.throughput(Throughput::Bytes(plain.len() as u64));
    group.bench_function("TokenVault seal + open", |b| {
        b.iter(|| {
            let sealed = vault.seal(black_box(&token), &context).expect("seal");
            let opened = vault.open(&sealed, &context).expect("open");
            black_box(opened.expose_secret().len())
        })
    });

    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    let aad = format!("kraftsoci.token.v1|instagram_access|{owner}|{ig}|key=1").into_bytes();
    let roundtrip = |cipher: &Aes256Gcm| {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let nonce = Nonce::from_slice(&nonce);
        let sealed = cipher
            .encrypt(
                nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("encrypt");
        let opened = cipher
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed,
                    aad: &aad,
                },
            )
            .expect("decrypt");
        black_box(opened.len())
    };
    group.bench_function("raw Aes256Gcm encrypt + decrypt (key per call)", |b| {
        b.iter(|| roundtrip(&Aes256Gcm::new_from_slice(black_box(&key)).expect("32-byte key")))
    });
    let cipher = Aes256Gcm::new_from_slice(&key).expect("32-byte key");
    group.bench_function("raw Aes256Gcm encrypt + decrypt (cipher reused)", |b| {
        b.iter(|| roundtrip(black_box(&cipher)))
    });
    group.finish();
}

criterion_group!(benches, vault, content_hash, transitions);
criterion_main!(benches);
