//! `kraftsoci-server config check` as an operator runs it (issue 18): the real binary, a clean
//! environment, and the database check on both engines and against a refused port.

use std::process::{Command, Output};

use crate::support::{TempDir, TestDb};

/// Runs `config check` in an empty directory with only `vars` set.
fn config_check(vars: &[(&str, &str)]) -> Output {
    let dir = TempDir::new("config-check");
    Command::new(env!("CARGO_BIN_EXE_kraftsoci-server"))
        .args(["config", "check"])
        .env_clear()
        .envs(vars.iter().copied())
        .current_dir(dir.path())
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn config_check_reports_a_migrated_sqlite_database_and_exits_zero() {
    let db = TestDb::sqlite().await;
    let output = config_check(&[("KRAFTSOCI_DATABASE_URL", &db.url())]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("configuration OK"), "{stdout}");
    assert!(
        stdout.contains("database: ") && stdout.contains("migrations applied"),
        "{stdout}"
    );
    assert!(!stdout.contains("pending"), "{stdout}");
}

#[tokio::test]
async fn config_check_reports_a_migrated_postgres_database_and_exits_zero() {
    let db = TestDb::postgres().await;
    let output = config_check(&[("KRAFTSOCI_DATABASE_URL", &db.url())]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("migrations applied"), "{stdout}");
    assert!(!stdout.contains("pending"), "{stdout}");
}

#[tokio::test]
async fn config_check_names_a_refused_database_port_masks_the_password_and_exits_non_zero() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://app:hunter2@127.0.0.1:{port}/kraftsoci");
    let output = config_check(&[("KRAFTSOCI_DATABASE_URL", &url)]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(&format!("database: connection refused to 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(stderr.contains("app:***@127.0.0.1"), "{stderr}");
    assert!(!stdout.contains("hunter2") && !stderr.contains("hunter2"));
}

#[tokio::test]
async fn config_check_reports_the_configuration_and_the_database_problems_together() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://app@127.0.0.1:{port}/kraftsoci");
    let output = config_check(&[
        ("KRAFTSOCI_DATABASE_URL", &url),
        ("KRAFTSOCI_ENV", "production"),
    ]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("the configuration would not start:"),
        "{stderr}"
    );
    assert!(stderr.contains("KRAFTSOCI_JWT_SECRET"), "{stderr}");
    assert!(
        stderr.contains(&format!("connection refused to 127.0.0.1:{port}")),
        "{stderr}"
    );
}
