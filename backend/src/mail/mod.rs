//! Outgoing mail through lettre: SMTP when a URL is configured, otherwise a
//! folder outbox with one `.eml` file per message (the embedded default).

pub mod templates;

use std::path::{Path, PathBuf};

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{Error, Result};

/// A message ready to send: plain text plus HTML.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

#[derive(Clone)]
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    /// Mail sent after the HTTP answer; `flush` waits for it (shutdown, tests).
    background: tokio_util::task::TaskTracker,
}

impl Mailer {
    /// SMTP relay from a URL such as `smtps://user:pass@host:465` or
    /// `smtp://host:587?tls=required` (STARTTLS).
    pub fn smtp(url: &str, from: &str) -> Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| Error::Mail(format!("SMTP_URL is not usable: {e}")))?
            .build();
        Ok(Self {
            transport: Transport::Smtp(transport),
            from: parse_from(from)?,
            background: Default::default(),
        })
    }

    /// Writes each message as `<random>.eml` into `dir` (created if missing),
    /// whole: see `write_outbox_file`.
    pub fn outbox(dir: impl Into<PathBuf>, from: &str) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            transport: Transport::Outbox(dir),
            from: parse_from(from)?,
            background: Default::default(),
        })
    }

    /// Where mail goes, for the start-up banner: the outbox folder or the SMTP relay.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "an SMTP relay (SMTP_URL)".to_string(),
            Transport::Outbox(dir) => format!("the folder {}", dir.display()),
        }
    }

    /// Sends `mail` in the background, so the answer to the request does not
    /// wait for (or reveal the cost of) sending it. Failures are logged.
    pub fn send_later(&self, mail: Mail) {
        let mailer = self.clone();
        self.background.spawn(async move {
            let subject = mail.subject.clone();
            if let Err(e) = mailer.send(mail).await {
                tracing::error!(%subject, error = %e, "mail not sent");
            }
        });
    }

    /// Waits until every mail handed to `send_later` so far has been sent.
    pub async fn flush(&self) {
        self.background.close();
        self.background.wait().await;
        self.background.reopen();
    }

    pub async fn send(&self, mail: Mail) -> Result<()> {
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(|e| Error::Mail(format!("recipient address: {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(mail.text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(mail.html),
                    ),
            )
            .map_err(|e| Error::Mail(format!("building message: {e}")))?;
        match &self.transport {
            Transport::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| Error::Mail(e.to_string())),
            Transport::Outbox(dir) => {
                let name = format!("{}.eml", &crate::secret::Token::generate().hash()[..32]);
                write_outbox_file(dir, &name, &message.formatted()).await
            }
        }
    }
}

/// Writes one message into an outbox folder under `name`, all at once: the
/// bytes go to a hidden `.<name>.part` first, renamed to `name` when
/// complete, so whoever reads the folder (a person, a test, a script) never
/// sees half a message. Used by the mail and the text-message outboxes.
pub(crate) async fn write_outbox_file(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let part = dir.join(format!(".{name}.part"));
    let written = match tokio::fs::write(&part, bytes).await {
        Ok(()) => tokio::fs::rename(&part, dir.join(name)).await,
        Err(e) => Err(e),
    };
    if written.is_err() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    Ok(written?)
}

fn parse_from(from: &str) -> Result<Mailbox> {
    from.parse()
        .map_err(|e| Error::Mail(format!("MAIL_FROM {from:?} is not an address: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_outbox_holds_whole_messages_only() {
        let dir = tempfile::tempdir().unwrap();
        let mailer = Mailer::outbox(dir.path(), "Atrium <no-reply@example.org>").unwrap();
        for n in 0..3 {
            mailer
                .send(Mail {
                    to: "ada@example.org".into(),
                    subject: format!("Hello {n}"),
                    text: "Plain".into(),
                    html: "<p>Rich</p>".into(),
                })
                .await
                .unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        // Three messages, no partial file left beside them.
        assert_eq!(names.len(), 3, "{names:?}");
        for name in &names {
            assert!(name.ends_with(".eml") && !name.starts_with('.'), "{name}");
            let eml = std::fs::read_to_string(dir.path().join(name)).unwrap();
            assert!(eml.contains("To: ada@example.org"), "{eml}");
            assert!(eml.contains("Subject: Hello "), "{eml}");
            // The closing boundary of the multipart body: the whole message.
            assert!(eml.trim_end().ends_with("--"), "{eml}");
        }
    }

    #[tokio::test]
    async fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        // The final name is taken by a folder: the rename fails.
        std::fs::create_dir(dir.path().join("taken.eml")).unwrap();
        std::fs::write(dir.path().join("taken.eml").join("x"), "x").unwrap();
        assert!(write_outbox_file(dir.path(), "taken.eml", b"whole")
            .await
            .is_err());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["taken.eml".to_string()]);
    }
}
