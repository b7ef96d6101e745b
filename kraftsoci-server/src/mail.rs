//! Outgoing mail through core's [`Mailer`] port: SMTP (lettre, rustls) when
//! `KRAFTSOCI_SMTP_URL` is set, otherwise one file per mail in the outbox directory.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use kraftsoci_core::Clock;
use kraftsoci_core::ports::{Mail, MailError, Mailer};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use crate::config::{Config, MailConfig, MailTransport};

/// Mails sent in the background (a reset link, a password-changed notice: the request
/// answers before the mail is out), so shutdown waits for them instead of dropping them.
#[derive(Clone, Default)]
pub struct MailTasks(Arc<Mutex<tokio::task::JoinSet<()>>>);

impl std::fmt::Debug for MailTasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailTasks").finish_non_exhaustive()
    }
}

impl MailTasks {
    /// Runs `task` (which sends a mail and logs its own failure) on its own task.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // Forget the finished ones, so the set holds only mails still on their way.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    /// Waits up to `deadline` for the mails on their way; returns how many were cut off
    /// (logged as a warning).
    pub async fn drain(&self, deadline: Duration) -> usize {
        let mut tasks = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        if tasks.is_empty() {
            return 0;
        }
        tracing::info!(mails = tasks.len(), "waiting for mails still being sent");
        let finished = tokio::time::timeout(deadline, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if finished.is_ok() {
            return 0;
        }
        let unsent = tasks.len();
        tracing::warn!(
            mails = unsent,
            "shutdown deadline passed: mails still being sent were dropped"
        );
        tasks.shutdown().await;
        unsent
    }
}

/// Builds the configured mailer.
///
/// # Errors
/// When the SMTP URL or the sender mailbox is invalid.
pub fn from_config(config: &MailConfig, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn Mailer>> {
    let from: Mailbox = config
        .from
        .parse()
        .map_err(|_| anyhow::anyhow!("KRAFTSOCI_MAIL_FROM is not a mailbox"))?;
    Ok(match &config.transport {
        MailTransport::Smtp(url) => {
            let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                // lettre's error may quote the URL, which can hold a password.
                .map_err(|_| anyhow::anyhow!("KRAFTSOCI_SMTP_URL is not a valid SMTP URL"))?
                .build();
            Arc::new(SmtpMailer { transport, from })
        }
        MailTransport::Outbox(dir) => Arc::new(OutboxMailer {
            dir: dir.clone(),
            from: config.from.clone(),
            clock,
        }),
    })
}

/// The configured mailer, every mail ending with the privacy contact line
/// (`KRAFTSOCI_PRIVACY_CONTACT`): who to write to about one's data.
///
/// # Errors
/// As [`from_config`].
pub fn for_config(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Arc<dyn Mailer>> {
    Ok(with_contact_line(
        from_config(&config.mail, clock)?,
        &config.privacy.contact,
    ))
}

/// Wraps `mailer` so that every mail ends with the contact line for `contact`.
pub fn with_contact_line(mailer: Arc<dyn Mailer>, contact: &str) -> Arc<dyn Mailer> {
    Arc::new(ContactLine {
        inner: mailer,
        line: contact_line(contact),
    })
}

/// The line every mail ends with.
pub fn contact_line(contact: &str) -> String {
    format!(
        "Questions about your data, or a request under your privacy rights: {contact}. \
         Kişisel verilerinizle ilgili sorular ve başvurular için: {contact}."
    )
}

/// Appends the contact line to each mail's body.
struct ContactLine {
    inner: Arc<dyn Mailer>,
    line: String,
}

impl ContactLine {
    fn with_line(&self, mail: &Mail) -> Mail {
        Mail {
            body: format!("{}\n\n--\n{}\n", mail.body.trim_end(), self.line),
            ..mail.clone()
        }
    }
}

/// `html` with `line` (escaped) as a last paragraph of its body.
fn html_with_line(html: &str, line: &str) -> String {
    let escaped = line
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let paragraph = format!("<p style=\"font-size: 0.85rem; color: #57606a;\">{escaped}</p>\n");
    match html.rfind("</body>") {
        Some(at) => format!("{}{paragraph}{}", &html[..at], &html[at..]),
        None => format!("{html}{paragraph}"),
    }
}

#[async_trait]
impl Mailer for ContactLine {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.inner.send(&self.with_line(mail)).await
    }

    async fn send_with_html(&self, mail: &Mail, html: &str) -> Result<(), MailError> {
        self.inner
            .send_with_html(&self.with_line(mail), &html_with_line(html, &self.line))
            .await
    }
}

/// Sends over SMTP.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpMailer {
    fn builder(&self, mail: &Mail) -> Result<lettre::message::MessageBuilder, MailError> {
        let to: Mailbox = mail
            .to
            .as_str()
            .parse()
            .map_err(|_| MailError("the recipient is not a valid mailbox".to_owned()))?;
        Ok(Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject))
    }

    async fn deliver(&self, message: Message) -> Result<(), MailError> {
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError(format!("smtp: {e}")))?;
        Ok(())
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send_with_html(&self, mail: &Mail, html: &str) -> Result<(), MailError> {
        let message = self
            .builder(mail)?
            .multipart(MultiPart::alternative_plain_html(
                mail.body.clone(),
                html.to_owned(),
            ))
            .map_err(|e| MailError(format!("building the message: {e}")))?;
        self.deliver(message).await
    }

    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        let message = self
            .builder(mail)?
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| MailError(format!("building the message: {e}")))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| MailError(format!("smtp: {e}")))?;
        Ok(())
    }
}

/// Writes each mail as a UTF-8 text file `{unix-millis}-{uuid}.eml` into a directory
/// (development: read your password-reset links there).
pub struct OutboxMailer {
    dir: PathBuf,
    from: String,
    clock: Arc<dyn Clock>,
}

impl OutboxMailer {
    /// An outbox in `dir` (created on first use).
    #[cfg(any(test, feature = "testing"))]
    pub fn new(dir: PathBuf, from: String, clock: Arc<dyn Clock>) -> Self {
        Self { dir, from, clock }
    }
}

impl OutboxMailer {
    async fn write(&self, mail: &Mail, content_type: &str, body: &str) -> Result<(), MailError> {
        let io = |e: std::io::Error| MailError(format!("outbox: {e}"));
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        let now = self.clock.now();
        let name = format!("{}-{}", now.timestamp_millis(), uuid::Uuid::new_v4());
        let text = format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nDate: {}\r\nContent-Type: {content_type}\
             \r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
            self.from,
            mail.to,
            mail.subject,
            now.to_rfc2822(),
        );
        // Written under a temporary name and renamed, so a reader never sees half a mail.
        let partial = self.dir.join(format!("{name}.partial"));
        tokio::fs::write(&partial, text).await.map_err(io)?;
        tokio::fs::rename(&partial, self.dir.join(format!("{name}.eml")))
            .await
            .map_err(io)?;
        Ok(())
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        self.write(mail, "text/plain; charset=utf-8", &mail.body)
            .await
    }

    async fn send_with_html(&self, mail: &Mail, html: &str) -> Result<(), MailError> {
        let boundary = format!("kraftsoci-{}", uuid::Uuid::new_v4().simple());
        let body = format!(
            "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n\
             --{boundary}--\r\n",
            mail.body
        );
        self.write(
            mail,
            &format!("multipart/alternative; boundary=\"{boundary}\""),
            &body,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use kraftsoci_core::{Email, SystemClock};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn shutdown_waits_for_mails_on_their_way_and_counts_those_cut_off() {
        let tasks = MailTasks::default();
        let sent = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let flag = Arc::clone(&sent);
        tasks.spawn(async move {
            let _ = released.await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let draining = tokio::spawn({
            let tasks = tasks.clone();
            async move { tasks.drain(Duration::from_secs(10)).await }
        });
        tokio::task::yield_now().await;
        release.send(()).unwrap();
        assert_eq!(draining.await.unwrap(), 0, "nothing was cut off");
        assert!(
            sent.load(std::sync::atomic::Ordering::SeqCst),
            "the mail went out first"
        );

        tasks.spawn(std::future::pending());
        assert_eq!(
            tasks.drain(Duration::from_secs(10)).await,
            1,
            "a mail that never finishes is given up at the deadline"
        );
        assert_eq!(tasks.drain(Duration::from_secs(10)).await, 0);
    }

    #[tokio::test]
    async fn the_outbox_holds_one_readable_file_per_mail() {
        let dir = std::env::temp_dir().join(format!("kraftsoci-outbox-{}", uuid::Uuid::new_v4()));
        let mailer = OutboxMailer::new(
            dir.clone(),
            "kraftsoci <no-reply@localhost>".to_owned(),
            Arc::new(SystemClock),
        );
        mailer
            .send(&Mail {
                to: Email::parse("ada@example.com").unwrap(),
                subject: "Hello".to_owned(),
                body: "Şifre: https://app.example.com/reset-password#token=abc".to_owned(),
            })
            .await
            .unwrap();
        let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(text.contains("To: ada@example.com"));
        assert!(text.ends_with("Şifre: https://app.example.com/reset-password#token=abc"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_invalid_smtp_url_is_refused_without_echoing_it() {
        let config = MailConfig {
            transport: MailTransport::Smtp("smtp://user:hunter2@[bad".to_owned().into()),
            from: "kraftsoci <no-reply@localhost>".to_owned(),
        };
        let error = from_config(&config, Arc::new(SystemClock)).err().unwrap();
        assert!(!error.to_string().contains("hunter2"));
    }
}
