//! Login shedding: `burst` logins sent at once (by default 200) at the server's bcrypt cost.
//! The password pool admits what its threads and queue hold and answers the rest
//! `503 overloaded` + `Retry-After` at once; this measures how fast the excess is shed and how
//! long the admitted logins take.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::Barrier;

use crate::load::{Summary, new_histogram, record};
use crate::server::{BenchUser, PASSWORD};

/// What a burst of logins got.
#[derive(Debug, Clone)]
pub struct Burst {
    /// Logins answered 200, with their latencies.
    pub admitted: Summary,
    /// Logins answered 503 with `Retry-After`, with their latencies.
    pub shed: Summary,
    /// Anything else (another status, a 503 without `Retry-After`, a transport error).
    pub other: u64,
    /// The first such answer, for the report.
    pub first_other: Option<String>,
}

/// Sends `burst` logins at once (a barrier releases them together), as `users` round robin.
pub async fn login_burst(
    client: &reqwest::Client,
    login_url: &str,
    users: &Arc<Vec<BenchUser>>,
    burst: usize,
) -> Burst {
    let start = Arc::new(Barrier::new(burst));
    let began = tokio::time::Instant::now();
    let tasks: Vec<_> = (0..burst)
        .map(|n| {
            let (client, users, start) = (client.clone(), Arc::clone(users), Arc::clone(&start));
            let url = login_url.to_owned();
            tokio::spawn(async move {
                let user = &users[n % users.len()];
                start.wait().await;
                let sent = tokio::time::Instant::now();
                let response = client
                    .post(url)
                    .json(&json!({"email": user.email, "password": PASSWORD}))
                    .send()
                    .await;
                let outcome = match response {
                    Ok(response) => {
                        let status = response.status();
                        let retry_after = response.headers().contains_key("retry-after");
                        let _ = response.bytes().await;
                        match status {
                            StatusCode::OK => Ok(true),
                            StatusCode::SERVICE_UNAVAILABLE if retry_after => Ok(false),
                            other => Err(format!("status {other}, Retry-After: {retry_after}")),
                        }
                    }
                    Err(error) => Err(error.to_string()),
                };
                (outcome, sent.elapsed())
            })
        })
        .collect();
    let (mut admitted, mut shed) = (new_histogram(), new_histogram());
    let (mut other, mut first_other) = (0, None);
    for task in tasks {
        match task.await {
            Ok((Ok(true), took)) => record(&mut admitted, took),
            Ok((Ok(false), took)) => record(&mut shed, took),
            Ok((Err(error), _)) => {
                other += 1;
                first_other.get_or_insert(error);
            }
            Err(error) => {
                other += 1;
                first_other.get_or_insert(error.to_string());
            }
        }
    }
    let elapsed = began.elapsed();
    Burst {
        admitted: Summary::from_parts(admitted, 0, None, elapsed),
        shed: Summary::from_parts(shed, 0, None, elapsed),
        other,
        first_other,
    }
}
