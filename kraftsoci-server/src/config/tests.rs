//! The configuration as the environment gives it: defaults, production's refusals, and every
//! malformed value naming its variable.

use std::collections::HashMap;
use std::path::PathBuf;

use secrecy::ExposeSecret as _;

use super::*;

const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fn load(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|name| map.get(name).cloned())
}

fn production() -> Vec<(&'static str, &'static str)> {
    vec![
        ("KRAFTSOCI_ENV", "production"),
        ("KRAFTSOCI_PUBLIC_URL", "https://api.example.com"),
        (
            "KRAFTSOCI_DATABASE_URL",
            "postgres://app:pw@db.internal/kraftsoci",
        ),
        ("KRAFTSOCI_MEDIA_URL", "s3://kraftsoci-media/prod"),
        (
            "KRAFTSOCI_SMTP_URL",
            "smtps://mailer:pw@smtp.example.com:465",
        ),
        (
            "KRAFTSOCI_JWT_SECRET",
            "0123456789abcdef0123456789abcdef-jwt",
        ),
        (
            "KRAFTSOCI_TOKEN_KEYS",
            "1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        ),
        ("META_APP_ID", "123"),
        ("META_APP_SECRET", "meta-secret-value"),
        ("OPENAI_API_KEY", "sk-openai-secret-value"),
        ("STRIPE_SECRET_KEY", "sk_test_stripe-secret-value"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_stripe-webhook-value"),
        (
            "KRAFTSOCI_PLANS",
            r#"[{"name":"starter","price_id":"price_1Q","monthly_posts":60,"monthly_images":30}]"#,
        ),
    ]
}

fn without(vars: &[(&'static str, &'static str)], name: &str) -> Vec<(&'static str, &'static str)> {
    vars.iter().copied().filter(|(k, _)| *k != name).collect()
}

fn with(
    vars: &[(&'static str, &'static str)],
    name: &'static str,
    value: &'static str,
) -> Vec<(&'static str, &'static str)> {
    let mut vars = without(vars, name);
    vars.push((name, value));
    vars
}

#[test]
fn development_starts_with_nothing_set_and_generates_its_keys() {
    let config = load(&[]).unwrap();
    assert_eq!(config.environment, Environment::Development);
    assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(config.database_url.backend(), Backend::Sqlite);
    assert_eq!(
        config.database_url.expose(),
        "sqlite://kraftsoci.db?mode=rwc"
    );
    assert_eq!(
        config.media_url,
        MediaUrl::Directory(PathBuf::from("./media"))
    );
    assert_eq!(
        config.generated,
        vec!["KRAFTSOCI_JWT_SECRET", "KRAFTSOCI_TOKEN_KEYS"]
    );
    assert!(config.sandbox, "no provider credentials: sandbox on");
    assert!(matches!(config.mail.transport, MailTransport::Outbox(_)));
    assert_eq!(
        config.meta.redirect_uri.as_str(),
        "http://127.0.0.1:8080/v1/instagram/callback"
    );
    assert_eq!(config.meta.graph_version, "v25.0");
}

#[test]
fn production_accepts_a_complete_https_configuration() {
    let config = load(&production()).unwrap();
    assert!(config.environment.is_production());
    assert!(!config.sandbox);
    assert!(config.generated.is_empty());
    assert_eq!(config.token_keys.current().0, 1);
}

#[test]
fn production_refuses_to_start_without_each_secret_and_names_it() {
    for variable in [
        "KRAFTSOCI_JWT_SECRET",
        "KRAFTSOCI_TOKEN_KEYS",
        "META_APP_ID",
        "META_APP_SECRET",
        "OPENAI_API_KEY",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "KRAFTSOCI_PLANS",
    ] {
        let err = load(&without(&production(), variable)).unwrap_err();
        assert_eq!(err.variable, variable);
        assert!(err.to_string().starts_with(variable), "{err}");
    }
}

#[test]
fn production_refuses_plain_http_external_urls() {
    for variable in [
        "KRAFTSOCI_PUBLIC_URL",
        "KRAFTSOCI_FRONTEND_URL",
        "META_REDIRECT_URI",
        "META_GRAPH_URL",
        "META_DIALOG_URL",
        "OPENAI_BASE_URL",
        "STRIPE_API_BASE",
    ] {
        let err = load(&with(
            &production(),
            variable,
            "http://insecure.example.com",
        ))
        .unwrap_err();
        assert_eq!(err.variable, variable, "{err}");
    }
}

#[test]
fn production_refuses_the_sandbox_weak_bcrypt_and_plain_smtp() {
    let err = load(&with(&production(), "KRAFTSOCI_SANDBOX", "1")).unwrap_err();
    assert_eq!(err.variable, "KRAFTSOCI_SANDBOX");
    let err = load(&with(&production(), "KRAFTSOCI_BCRYPT_COST", "4")).unwrap_err();
    assert_eq!(err.variable, "KRAFTSOCI_BCRYPT_COST");
    let err = load(&with(
        &production(),
        "KRAFTSOCI_SMTP_URL",
        "smtp://mail.example.com",
    ))
    .unwrap_err();
    assert_eq!(err.variable, "KRAFTSOCI_SMTP_URL");
    assert!(
        load(&with(
            &production(),
            "KRAFTSOCI_SMTP_URL",
            "smtps://u:p@mail.example.com"
        ))
        .is_ok()
    );
    assert!(
        load(&[("KRAFTSOCI_BCRYPT_COST", "4")]).is_ok(),
        "tests may use cost 4"
    );
}

#[test]
fn a_short_jwt_secret_is_refused_even_in_development() {
    let err = load(&[("KRAFTSOCI_JWT_SECRET", "short")]).unwrap_err();
    assert_eq!(err.variable, "KRAFTSOCI_JWT_SECRET");
}

#[test]
fn token_keys_parse_and_the_highest_id_encrypts() {
    let keys = TokenKeys::parse(&format!("1:{KEY}, 3:{KEY},2:{KEY}")).unwrap();
    assert_eq!(keys.current().0, 3);
    assert_eq!(
        keys.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(keys.get(2).unwrap().expose_secret().len(), 32);
    for bad in [
        "",
        "1",
        "x:AAAA",
        "1:not base64!",
        "1:AAAA",
        &format!("1:{KEY},1:{KEY}"),
    ] {
        let err = TokenKeys::parse(bad).unwrap_err();
        assert!(!err.contains(KEY), "{err}");
    }
}

#[test]
fn debug_output_never_shows_a_secret() {
    let vars = with(
        &with(
            &production(),
            "KRAFTSOCI_DATABASE_URL",
            "postgres://kraft:db-password-value@db/kraftsoci",
        ),
        "KRAFTSOCI_SMTP_URL",
        "smtps://mailer:smtp-password-value@mail.example.com",
    );
    let config = load(&vars).unwrap();
    let debug = format!("{config:?}");
    for secret in [
        "0123456789abcdef0123456789abcdef-jwt",
        KEY,
        "meta-secret-value",
        "sk-openai-secret-value",
        "sk_test_stripe-secret-value",
        "whsec_stripe-webhook-value",
        "db-password-value",
        "smtp-password-value",
    ] {
        assert!(!debug.contains(secret), "{secret} leaked into {debug}");
    }
    assert!(debug.contains("REDACTED"));
    assert!(debug.contains("postgres://kraft:***@db/kraftsoci"));
}

#[test]
fn malformed_values_name_their_variable() {
    for (variable, value) in [
        ("KRAFTSOCI_ENV", "staging"),
        ("KRAFTSOCI_LISTEN", "localhost"),
        ("KRAFTSOCI_PUBLIC_URL", "not a url"),
        ("KRAFTSOCI_DATABASE_URL", "mysql://x"),
        ("KRAFTSOCI_MEDIA_URL", "ftp://x"),
        ("KRAFTSOCI_SANDBOX", "maybe"),
        ("KRAFTSOCI_TRUSTED_PROXIES", "10.0.0.0/99"),
        ("KRAFTSOCI_AUTH_RATE_PER_IP", "fast"),
        ("KRAFTSOCI_MAIL_FROM", "not a mailbox"),
        ("META_GRAPH_VERSION", "25"),
        ("KRAFTSOCI_SMTP_URL", "http://mail.example.com"),
    ] {
        let err = load(&[(variable, value)]).unwrap_err();
        assert_eq!(err.variable, variable, "{err}");
    }
}

#[test]
fn cors_wildcard_with_credentials_fails_at_load() {
    let err = load(&[
        ("KRAFTSOCI_CORS_ORIGINS", "*"),
        ("KRAFTSOCI_CORS_CREDENTIALS", "1"),
    ])
    .unwrap_err();
    assert_eq!(err.variable, "KRAFTSOCI_CORS_ORIGINS");
}

#[test]
fn the_publish_worker_settings_are_read_and_zero_is_refused() {
    let defaults = load(&[]).unwrap().worker;
    assert!(defaults.enabled);
    assert_eq!(defaults.lease, std::time::Duration::from_secs(60));
    assert_eq!(defaults.renew_every, std::time::Duration::from_secs(20));
    assert_eq!(
        defaults.policy.reconcile_grace(),
        std::time::Duration::from_secs(300)
    );
    let worker = load(&[
        ("KRAFTSOCI_WORKER", "0"),
        ("KRAFTSOCI_WORKER_CONCURRENCY", "4"),
        ("KRAFTSOCI_WORKER_POLL_MS", "250"),
        ("KRAFTSOCI_PUBLISH_LEASE", "300"),
        ("KRAFTSOCI_PUBLISH_RECONCILE_GRACE", "30"),
        ("KRAFTSOCI_WORKER_RECHECK", "60"),
        ("KRAFTSOCI_WORKER_MAX_RETRIES", "8"),
    ])
    .unwrap()
    .worker;
    assert!(!worker.enabled);
    assert_eq!(worker.concurrency, 4);
    assert_eq!(worker.poll_interval, std::time::Duration::from_millis(250));
    assert_eq!(worker.lease, std::time::Duration::from_secs(300));
    assert_eq!(worker.renew_every, std::time::Duration::from_secs(100));
    assert_eq!(worker.recheck, std::time::Duration::from_secs(60));
    assert_eq!(worker.max_transient_deferrals, 8);
    assert_eq!(
        worker.policy.reconcile_grace(),
        std::time::Duration::from_secs(30),
        "development accepts a short grace (tests, the chaos bench)"
    );
    // The lease's former name is still read when the new one is unset, and loses to it.
    let old = load(&[("KRAFTSOCI_WORKER_LEASE", "90")]).unwrap().worker;
    assert_eq!(old.lease, std::time::Duration::from_secs(90));
    let both = load(&[
        ("KRAFTSOCI_WORKER_LEASE", "90"),
        ("KRAFTSOCI_PUBLISH_LEASE", "45"),
    ])
    .unwrap()
    .worker;
    assert_eq!(both.lease, std::time::Duration::from_secs(45));
    for variable in [
        "KRAFTSOCI_WORKER_CONCURRENCY",
        "KRAFTSOCI_WORKER_LEASE",
        "KRAFTSOCI_PUBLISH_LEASE",
        "KRAFTSOCI_PUBLISH_RECONCILE_GRACE",
        "KRAFTSOCI_WORKER_MAX_RETRIES",
    ] {
        assert_eq!(load(&[(variable, "0")]).unwrap_err().variable, variable);
    }
    assert_eq!(
        load(&[("KRAFTSOCI_WORKER", "maybe")]).unwrap_err().variable,
        "KRAFTSOCI_WORKER"
    );
}

#[test]
fn production_refuses_a_reconcile_grace_shorter_than_metas_delayed_answers() {
    let short = load(&with(
        &production(),
        "KRAFTSOCI_PUBLISH_RECONCILE_GRACE",
        "179",
    ))
    .unwrap_err();
    assert_eq!(short.variable, "KRAFTSOCI_PUBLISH_RECONCILE_GRACE");
    assert!(short.to_string().contains("180"), "{short}");
    let floor = load(&with(
        &production(),
        "KRAFTSOCI_PUBLISH_RECONCILE_GRACE",
        "180",
    ))
    .unwrap();
    assert_eq!(
        floor.worker.policy.reconcile_grace(),
        crate::config::MIN_PRODUCTION_RECONCILE_GRACE
    );
    assert_eq!(
        load(&production()).unwrap().worker.policy.reconcile_grace(),
        std::time::Duration::from_secs(300)
    );
}

#[test]
fn media_urls_are_directories_or_buckets() {
    assert_eq!(
        "s3://bucket/some/prefix/".parse::<MediaUrl>().unwrap(),
        MediaUrl::S3 {
            bucket: "bucket".to_owned(),
            prefix: "some/prefix".to_owned()
        }
    );
    assert_eq!(
        "file:///var/media".parse::<MediaUrl>().unwrap(),
        MediaUrl::Directory(PathBuf::from("/var/media"))
    );
    assert!("s3://".parse::<MediaUrl>().is_err());
}

#[test]
fn the_password_pool_settings_default_to_automatic_and_refuse_nonsense() {
    let config = load(&[]).unwrap();
    assert_eq!(config.password_threads, None);
    assert_eq!(config.password_queue, None);
    let config = load(&[
        ("KRAFTSOCI_PASSWORD_THREADS", "3"),
        ("KRAFTSOCI_PASSWORD_QUEUE", "0"),
    ])
    .unwrap();
    assert_eq!(config.password_threads, Some(3));
    assert_eq!(
        config.password_queue,
        Some(0),
        "a queue of 0: only the running jobs"
    );
    for (variable, value) in [
        ("KRAFTSOCI_PASSWORD_THREADS", "0"),
        ("KRAFTSOCI_PASSWORD_THREADS", "many"),
        ("KRAFTSOCI_PASSWORD_QUEUE", "-1"),
    ] {
        let err = load(&[(variable, value)]).unwrap_err();
        assert_eq!(err.variable, variable, "{value}");
    }
}

#[test]
fn connection_limits_and_the_drain_are_read_and_nonsense_is_refused() {
    use std::time::Duration;
    assert_eq!(load(&[]).unwrap().server, ServerConfig::default());
    let server = load(&[
        ("KRAFTSOCI_HTTP_HEADER_TIMEOUT", "5"),
        ("KRAFTSOCI_HTTP_BODY_TIMEOUT", "120"),
        ("KRAFTSOCI_HTTP_WRITE_TIMEOUT", "45"),
        ("KRAFTSOCI_MAX_CONNECTIONS", "100"),
        ("KRAFTSOCI_MAX_CONNECTIONS_PER_CLIENT", "10"),
        ("KRAFTSOCI_SHUTDOWN_DELAY", "5"),
        ("KRAFTSOCI_SHUTDOWN_TIMEOUT", "15"),
    ])
    .unwrap()
    .server;
    assert_eq!(
        server,
        ServerConfig {
            header_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(120),
            write_timeout: Duration::from_secs(45),
            max_connections: 100,
            max_connections_per_client: 10,
            shutdown_delay: Duration::from_secs(5),
            shutdown_timeout: Duration::from_secs(15),
        }
    );
    for (variable, value) in [
        ("KRAFTSOCI_HTTP_HEADER_TIMEOUT", "0"),
        ("KRAFTSOCI_HTTP_BODY_TIMEOUT", "soon"),
        ("KRAFTSOCI_HTTP_WRITE_TIMEOUT", "0"),
        ("KRAFTSOCI_MAX_CONNECTIONS", "0"),
        ("KRAFTSOCI_SHUTDOWN_TIMEOUT", "-1"),
        ("KRAFTSOCI_MAX_CONNECTIONS_PER_CLIENT", "2000"),
    ] {
        assert_eq!(
            load(&[(variable, value)]).unwrap_err().variable,
            variable,
            "{variable}={value}"
        );
    }
}

#[test]
fn the_log_format_is_chosen_by_its_own_variable_not_the_environment() {
    assert_eq!(load(&[]).unwrap().log_format, LogFormat::Text);
    let mut vars = production();
    assert_eq!(load(&vars).unwrap().log_format, LogFormat::Text);
    vars.push(("KRAFTSOCI_LOG_FORMAT", "json"));
    assert_eq!(load(&vars).unwrap().log_format, LogFormat::Json);
    assert_eq!(
        load(&[("KRAFTSOCI_LOG_FORMAT", "JSON")])
            .unwrap()
            .log_format,
        LogFormat::Json
    );
    assert_eq!(
        load(&[("KRAFTSOCI_LOG_FORMAT", "xml")])
            .unwrap_err()
            .variable,
        "KRAFTSOCI_LOG_FORMAT"
    );
}

#[test]
fn production_reports_every_missing_or_unsafe_setting_at_once() {
    let err = load(&[("KRAFTSOCI_ENV", "production")]).unwrap_err();
    let problems = err.problems();
    for variable in [
        "KRAFTSOCI_JWT_SECRET",
        "KRAFTSOCI_TOKEN_KEYS",
        "KRAFTSOCI_PUBLIC_URL",
        "META_APP_ID",
        "OPENAI_API_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "KRAFTSOCI_DATABASE_URL",
        "KRAFTSOCI_MEDIA_URL",
        "KRAFTSOCI_SMTP_URL",
    ] {
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(&format!("{variable}: "))),
            "{variable} missing from {problems:#?}"
        );
    }
    assert_eq!(err.variable, "KRAFTSOCI_JWT_SECRET");
}

#[test]
fn every_malformed_value_is_reported_at_once_with_the_missing_settings() {
    let err = load(&[
        ("KRAFTSOCI_HTTP_BODY_TIMEOUT", "soon"),
        ("KRAFTSOCI_HTTP_WRITE_TIMEOUT", "0"),
        ("KRAFTSOCI_MAX_CONNECTIONS", "0"),
        ("KRAFTSOCI_SWEEP", "maybe"),
        ("KRAFTSOCI_PUBLIC_URL", "not a url"),
    ])
    .unwrap_err();
    let problems = err.problems();
    for variable in [
        "KRAFTSOCI_HTTP_BODY_TIMEOUT",
        "KRAFTSOCI_MAX_CONNECTIONS",
        "KRAFTSOCI_SWEEP",
        "KRAFTSOCI_PUBLIC_URL",
    ] {
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with(&format!("{variable}: "))),
            "{variable} missing from {problems:#?}"
        );
    }
    let mut vars = without(&production(), "KRAFTSOCI_JWT_SECRET");
    vars.push(("KRAFTSOCI_DAILY_PUBLISH_LIMIT", "many"));
    let problems = load(&vars).unwrap_err().problems();
    assert!(
        problems[0].starts_with("KRAFTSOCI_DAILY_PUBLISH_LIMIT: "),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("KRAFTSOCI_JWT_SECRET: ")),
        "{problems:#?}"
    );
}

#[test]
fn production_runs_on_sqlite_and_local_media_only_when_told_to() {
    let mut vars = without(
        &without(&production(), "KRAFTSOCI_DATABASE_URL"),
        "KRAFTSOCI_MEDIA_URL",
    );
    let err = load(&vars).unwrap_err();
    assert_eq!(err.variable, "KRAFTSOCI_DATABASE_URL");
    assert_eq!(err.problems().len(), 2, "{err}");
    assert!(
        err.problems()[1].starts_with("KRAFTSOCI_MEDIA_URL: "),
        "{err}"
    );
    vars.push(("KRAFTSOCI_ALLOW_SQLITE", "1"));
    vars.push(("KRAFTSOCI_ALLOW_LOCAL_MEDIA", "1"));
    let config = load(&vars).unwrap();
    assert_eq!(config.database_url.backend(), Backend::Sqlite);

    let err = load(&without(&production(), "KRAFTSOCI_SMTP_URL")).unwrap_err();
    assert_eq!(err.variable, "KRAFTSOCI_SMTP_URL", "mail needs SMTP");
}

#[test]
fn in_development_the_public_url_follows_the_listen_address() {
    let config = load(&[("KRAFTSOCI_LISTEN", "0.0.0.0:3000")]).unwrap();
    assert_eq!(config.public_url.as_str(), "http://127.0.0.1:3000/");
    let config = load(&[("KRAFTSOCI_LISTEN", "192.0.2.10:8081")]).unwrap();
    assert_eq!(config.public_url.as_str(), "http://192.0.2.10:8081/");
    let config = load(&[
        ("KRAFTSOCI_LISTEN", "0.0.0.0:3000"),
        ("KRAFTSOCI_PUBLIC_URL", "http://localhost:9999"),
    ])
    .unwrap();
    assert_eq!(config.public_url.as_str(), "http://localhost:9999/");
}

#[test]
fn a_separate_metrics_listener_is_read_and_a_malformed_one_refused() {
    let config = load(&[]).unwrap();
    assert_eq!(config.metrics.listen, None);
    assert!(!config.metrics.enabled());
    let config = load(&[("KRAFTSOCI_METRICS_LISTEN", "127.0.0.1:9090")]).unwrap();
    assert_eq!(
        config.metrics.listen,
        Some("127.0.0.1:9090".parse().unwrap())
    );
    assert!(config.metrics.enabled(), "served without a token there");
    for wrong in ["9090", "localhost", "127.0.0.1:99999"] {
        assert_eq!(
            load(&[("KRAFTSOCI_METRICS_LISTEN", wrong)])
                .unwrap_err()
                .variable,
            "KRAFTSOCI_METRICS_LISTEN",
            "{wrong}"
        );
    }
}
