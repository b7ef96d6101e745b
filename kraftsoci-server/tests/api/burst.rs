//! Contention: 16 clients write at once (sign-ups, edits and Publish clicks, double clicks
//! included, two clients on each account so that they race on the same posts), 400 writes in
//! all, on SQLite and on PostgreSQL. Losing a race is a 409; waiting for the database's write
//! lock is never a 5xx.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Barrier;

use crate::helpers::{TestApp, signup_body, spawn_app_on};
use crate::posts::FlowUser;
use crate::support::TestDb;

const CLIENTS: usize = 16;
/// Two clients per account.
const ACCOUNTS: usize = CLIENTS / 2;
const POSTS_PER_ACCOUNT: usize = 2;
/// Per client: 5 sign-ups, 10 edits, 10 clicks (each click made twice in a row).
const WRITES_PER_CLIENT: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Write {
    SignUp,
    Edit,
    Click,
}

/// One client's writes, each answered with its status.
async fn client(
    app: Arc<TestApp>,
    start: Arc<Barrier>,
    n: usize,
    owner: Arc<FlowUser>,
    posts: Arc<Vec<Value>>,
) -> Vec<(Write, StatusCode)> {
    let access = owner.user.access.as_str();
    // The first client of each account works on its first post. The second client of half
    // the accounts works on the second post, racing the first only for the database; of the
    // other half, on the same post, racing for it (one edit or click wins, the other is 409).
    let second_post = (ACCOUNTS..ACCOUNTS + ACCOUNTS / 2).contains(&n);
    let mut shown = posts[usize::from(second_post)].clone();
    let mut answers = Vec::with_capacity(WRITES_PER_CLIENT);
    start.wait().await;
    for step in 0..WRITES_PER_CLIENT {
        let answer = match step % 5 {
            0 => {
                let email = format!("burst-{n}-{step}@example.com");
                let response = app.signup(&signup_body(&email)).await;
                (Write::SignUp, response.status())
            }
            1 | 4 => {
                let id = shown["id"].as_str().unwrap().to_owned();
                let caption = format!("Fresh simit, batch {n}-{step}");
                let (status, post) = app
                    .patch_post(access, &id, &json!({ "caption": caption }))
                    .await;
                if status == StatusCode::OK {
                    shown = post;
                }
                (Write::Edit, status)
            }
            // A click, then the same click again (a double click: the job is found, not made
            // twice).
            _ => {
                let (status, post) = app.click_publish(access, &shown, &owner.account_id).await;
                if status == StatusCode::ACCEPTED {
                    shown = post;
                }
                (Write::Click, status)
            }
        };
        answers.push(answer);
    }
    answers
}

async fn burst(db: TestDb) {
    let app = Arc::new(spawn_app_on(db, |_| {}, |builder| builder).await);
    let mut accounts = Vec::new();
    for a in 0..ACCOUNTS {
        let owner = app.flow_user(&format!("owner-{a}@example.com")).await;
        let mut posts = Vec::new();
        for _ in 0..POSTS_PER_ACCOUNT {
            posts.push(app.generated(&owner.user.access).await);
        }
        accounts.push((Arc::new(owner), Arc::new(posts)));
    }

    let start = Arc::new(Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let (owner, posts) = accounts[n % ACCOUNTS].clone();
            tokio::spawn(client(
                Arc::clone(&app),
                Arc::clone(&start),
                n,
                owner,
                posts,
            ))
        })
        .collect();
    let mut answers: BTreeMap<(Write, u16), usize> = BTreeMap::new();
    let mut writes = 0;
    for client in clients {
        for (write, status) in client.await.unwrap() {
            writes += 1;
            *answers.entry((write, status.as_u16())).or_default() += 1;
        }
    }

    assert_eq!(writes, CLIENTS * WRITES_PER_CLIENT);
    let failures: Vec<_> = answers
        .iter()
        .filter(|((_, status), _)| *status >= 500)
        .collect();
    assert!(
        failures.is_empty(),
        "server errors under contention: {answers:?}"
    );
    for (write, done) in [
        (Write::SignUp, StatusCode::CREATED),
        (Write::Edit, StatusCode::OK),
        (Write::Click, StatusCode::ACCEPTED),
    ] {
        assert!(
            answers.get(&(write, done.as_u16())).is_some_and(|n| *n > 0),
            "no {write:?} succeeded: {answers:?}"
        );
    }
    assert_eq!(
        answers.get(&(Write::SignUp, 201)),
        Some(&(CLIENTS * 5)),
        "every sign-up went through: {answers:?}"
    );

    // What the races left behind is consistent: a job exactly for each approved post.
    let jobs_without_approval = app
        .count("publish_jobs j JOIN posts p ON p.id = j.post_id WHERE p.status <> 'approved'")
        .await;
    let approvals_without_job = app
        .count(
            "posts p WHERE p.status = 'approved' \
             AND NOT EXISTS (SELECT 1 FROM publish_jobs j WHERE j.post_id = p.id)",
        )
        .await;
    assert_eq!((jobs_without_approval, approvals_without_job), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_hundred_concurrent_writes_from_sixteen_clients_never_answer_5xx_on_sqlite() {
    burst(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_hundred_concurrent_writes_from_sixteen_clients_never_answer_5xx_on_postgres() {
    burst(TestDb::postgres().await).await;
}
