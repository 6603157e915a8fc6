//! E-mail through lettre: SMTP when `SMTP_URL` is set (`smtp://host:port` plain or STARTTLS
//! with `?tls=required`, `smtps://` for implicit TLS, credentials in the URL), otherwise one
//! `.eml` file per message in a local folder (the embedded mode).

use std::path::PathBuf;

use async_trait::async_trait;
use domain::ports::{Mail, Mailer, PortError};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// Where the embedded mode writes mail.
pub const MAIL_FOLDER: &str = "cws-mail";

/// The sender when `MAIL_FROM` is not set.
pub const DEFAULT_FROM: &str = "cws chat-ops <cws@localhost>";

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>),
}

pub struct LettreMailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    #[error("SMTP_URL is not a usable SMTP URL: {0}")]
    Url(String),
    #[error("MAIL_FROM is not an e-mail address: {0}")]
    From(String),
    #[error("cannot create the mail folder {0}: {1}")]
    Folder(PathBuf, std::io::Error),
}

impl LettreMailer {
    pub fn smtp(url: &str, from: Option<&str>) -> Result<LettreMailer, MailSetupError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailSetupError::Url(e.to_string()))?
            .build();
        Ok(LettreMailer {
            from: sender(from)?,
            transport: Transport::Smtp(transport),
        })
    }

    pub fn folder(path: PathBuf, from: Option<&str>) -> Result<LettreMailer, MailSetupError> {
        std::fs::create_dir_all(&path).map_err(|e| MailSetupError::Folder(path.clone(), e))?;
        Ok(LettreMailer {
            from: sender(from)?,
            transport: Transport::Folder(AsyncFileTransport::new(path)),
        })
    }
}

fn sender(from: Option<&str>) -> Result<Mailbox, MailSetupError> {
    let from = from.unwrap_or(DEFAULT_FROM);
    from.parse()
        .map_err(|_| MailSetupError::From(from.to_owned()))
}

#[async_trait]
impl Mailer for LettreMailer {
    async fn send(&self, mail: &Mail) -> Result<(), PortError> {
        let to: Mailbox = mail.to.parse().map_err(|_| PortError::Rejected {
            code: "InvalidAddress".to_owned(),
            message: format!("{} is not an e-mail address", mail.to),
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&mail.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| PortError::Rejected {
                code: "InvalidMessage".to_owned(),
                message: e.to_string(),
            })?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(|e| {
                // 4xx answers, timeouts and dropped connections clear up; 5xx do not.
                if e.is_permanent() {
                    PortError::Rejected {
                        code: "SmtpRejected".to_owned(),
                        message: e.to_string(),
                    }
                } else {
                    PortError::Transient(format!("SMTP: {e}"))
                }
            }),
            Transport::Folder(folder) => folder
                .send(message)
                .await
                .map(drop)
                .map_err(|e| PortError::Transient(format!("mail folder: {e}"))),
        }
    }
}
