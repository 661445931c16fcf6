//! Sending email: over SMTP when `SMTP_URL` is set, otherwise as `.eml` files in a folder so a
//! fresh install works without a mail server.

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Settings;

#[derive(Clone)]
pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

/// A rendered email with its plain-text and HTML parts.
#[derive(Debug, Clone)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address: {0}")]
    Address(#[from] lettre::address::AddressError),
    #[error("building the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("writing the message file: {0}")]
    File(#[from] lettre::transport::file::Error),
}

pub struct MailSender {
    pub mailer: Mailer,
    pub from: Mailbox,
}

impl MailSender {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<MailSender> {
        let from: Mailbox = settings
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("GUILDHALL_MAIL_FROM: {e}"))?;
        let mailer = match &settings.smtp_url {
            Some(url) => Mailer::Smtp(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?.build()),
            None => {
                std::fs::create_dir_all(&settings.mail_dir)?;
                Mailer::Files(AsyncFileTransport::<Tokio1Executor>::new(
                    &settings.mail_dir,
                ))
            }
        };
        Ok(MailSender { mailer, from })
    }

    pub async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        let message = Message::builder()
            .from(self.from.clone())
            .to(email.to.parse()?)
            .subject(&email.subject)
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))?;
        match &self.mailer {
            Mailer::Smtp(transport) => transport.send(message).await.map(|_| ())?,
            Mailer::Files(transport) => transport.send(message).await.map(|_| ())?,
        }
        Ok(())
    }
}
