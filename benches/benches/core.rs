//! Micro-benchmarks of kraftsoci-core's hot paths.
//!
//! Reproduce with: `cargo bench -p kraftsoci-benches --bench core`
use chrono::Utc;
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use kraftsoci_core::{
    AltText, Approval, Caption, Hashtag, IgUserId, MediaDigest, MediaKind, Post, PostContent,
    Restrictions, UserId,
};

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

criterion_group!(benches, content_hash, transitions);
criterion_main!(benches);
