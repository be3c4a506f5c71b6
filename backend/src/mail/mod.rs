//! Outgoing mail through lettre: SMTP when a URL is configured, otherwise a
//! folder outbox with one `.eml` file per message (the embedded default).

pub mod templates;

use std::path::PathBuf;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

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
    Outbox(AsyncFileTransport<Tokio1Executor>, PathBuf),
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

    /// Writes each message as `<uuid>.eml` into `dir` (created if missing).
    pub fn outbox(dir: impl Into<PathBuf>, from: &str) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            transport: Transport::Outbox(AsyncFileTransport::new(&dir), dir),
            from: parse_from(from)?,
            background: Default::default(),
        })
    }

    /// Where mail goes, for the start-up banner: the outbox folder or the SMTP relay.
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp(_) => "an SMTP relay (SMTP_URL)".to_string(),
            Transport::Outbox(_, dir) => format!("the folder {}", dir.display()),
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
            Transport::Outbox(t, _) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| Error::Mail(e.to_string())),
        }
    }
}

fn parse_from(from: &str) -> Result<Mailbox> {
    from.parse()
        .map_err(|e| Error::Mail(format!("MAIL_FROM {from:?} is not an address: {e}")))
}
