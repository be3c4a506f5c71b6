//! Text messages for sign-in codes: a folder outbox (one file per message)
//! as the embedded default, or a Twilio-compatible Messages API over HTTPS.
//! Also where SMS is offered: the person's phone must be in an allowed region.

use std::path::PathBuf;

use crate::clock::UnixTime;
use crate::rate_limit::{self, Limit};
use crate::{Backend, Error, Result};

/// Texts one person may be sent per hour (sign-in codes and confirmations).
pub const PER_PERSON: Limit = Limit {
    limit: 10,
    window_secs: 3600,
};
/// Texts one number may be sent per hour, whoever asks (SMS bombing).
pub const PER_NUMBER: Limit = Limit {
    limit: 10,
    window_secs: 3600,
};

impl Backend {
    /// Claims one text message to `e164` for `user_id` within the hourly
    /// caps: per person, per number and in all (`SMS_PER_HOUR`). Refused
    /// with `RateLimited` when any is used up; the caller then says so or
    /// mails the code instead.
    pub(crate) async fn claim_text(&self, user_id: i64, e164: &str, now: UnixTime) -> Result<()> {
        let pool = &self.db.pool;
        rate_limit::hit(pool, &format!("sms:person:{user_id}"), PER_PERSON, now).await?;
        rate_limit::hit(pool, &format!("sms:number:{e164}"), PER_NUMBER, now).await?;
        let all = Limit {
            limit: self.settings.sms_per_hour,
            window_secs: 3600,
        };
        let claimed = rate_limit::hit(pool, "sms:all", all, now).await;
        if claimed.is_err() {
            tracing::warn!(user_id, "the hourly cap on text messages is reached");
        }
        claimed
    }
}

/// Where SMS can be offered, from the phone on the profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SmsAvailability {
    /// Offered; the number in E.164 form.
    Available {
        e164: String,
    },
    NoPhone,
    /// The phone is in a region outside the allow-list (or unrecognised).
    NotInArea {
        region: String,
    },
}

impl SmsAvailability {
    /// Why SMS is not offered, in the words the Security tab uses.
    pub fn reason(&self) -> Option<String> {
        match self {
            SmsAvailability::Available { .. } => None,
            SmsAvailability::NoPhone => Some("No phone number on your profile.".into()),
            SmsAvailability::NotInArea { region } => {
                Some(format!("Not available in your area ({region})."))
            }
        }
    }
}

/// Decides whether a phone (as stored on the profile) can receive sign-in
/// codes, given the allowed regions (ISO 3166 codes such as US, CA, GB).
pub fn availability(phone: Option<&str>, allowed: &[String]) -> SmsAvailability {
    let Some(phone) = phone.map(str::trim).filter(|p| !p.is_empty()) else {
        return SmsAvailability::NoPhone;
    };
    let Ok(number) = phonenumber::parse(None, phone) else {
        return SmsAvailability::NotInArea {
            region: "unknown".into(),
        };
    };
    let region = number
        .country()
        .id()
        .map(|id| format!("{id:?}"))
        .unwrap_or_else(|| "unknown".into());
    if !number.is_valid() || !allowed.iter().any(|a| a.eq_ignore_ascii_case(&region)) {
        return SmsAvailability::NotInArea { region };
    }
    SmsAvailability::Available {
        e164: number.format().mode(phonenumber::Mode::E164).to_string(),
    }
}

/// "+14155550100" → "•••• 0100".
pub fn mask_phone(e164: &str) -> String {
    let tail: String = e164
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("•••• {tail}")
}

#[derive(Clone)]
pub enum SmsSender {
    /// One `<n>.txt` file per message in a folder.
    Outbox(PathBuf),
    /// A Twilio-compatible Messages API.
    Http {
        client: reqwest::Client,
        base_url: String,
        account_sid: String,
        auth_token: String,
        from: String,
    },
}

impl std::fmt::Debug for SmsSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmsSender::Outbox(dir) => write!(f, "SmsSender::Outbox({})", dir.display()),
            SmsSender::Http { base_url, .. } => {
                write!(f, "SmsSender::Http({base_url}, <credentials redacted>)")
            }
        }
    }
}

impl SmsSender {
    pub fn outbox(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(SmsSender::Outbox(dir))
    }

    pub fn http(base_url: &str, account_sid: &str, auth_token: &str, from: &str) -> Self {
        SmsSender::Http {
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            base_url: base_url.trim_end_matches('/').to_string(),
            account_sid: account_sid.to_string(),
            auth_token: auth_token.to_string(),
            from: from.to_string(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            SmsSender::Outbox(dir) => format!("the folder {}", dir.display()),
            SmsSender::Http { base_url, .. } => format!("the Messages API at {base_url}"),
        }
    }

    /// Sends `body` to `to` (E.164).
    pub async fn send(&self, to: &str, body: &str) -> Result<()> {
        match self {
            SmsSender::Outbox(dir) => {
                let name = format!(
                    "{}-{}.txt",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_nanos())
                        .unwrap_or(0),
                    &crate::secret::Token::generate().hash()[..8]
                );
                let text = format!("To: {to}\n\n{body}\n");
                crate::mail::write_outbox_file(dir, &name, text.as_bytes()).await
            }
            SmsSender::Http {
                client,
                base_url,
                account_sid,
                auth_token,
                from,
            } => {
                let url = format!("{base_url}/2010-04-01/Accounts/{account_sid}/Messages.json");
                let res = client
                    .post(url)
                    .basic_auth(account_sid, Some(auth_token))
                    .form(&[("To", to), ("From", from.as_str()), ("Body", body)])
                    .send()
                    .await
                    .map_err(|e| Error::Internal(format!("SMS provider unreachable: {e}")))?;
                if !res.status().is_success() {
                    return Err(Error::Internal(format!(
                        "SMS provider answered {}",
                        res.status()
                    )));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["US".into(), "CA".into(), "GB".into()]
    }

    #[test]
    fn sms_is_offered_only_in_allowed_regions() {
        assert_eq!(
            availability(Some("+1 415 555 0132"), &allowed()),
            SmsAvailability::Available {
                e164: "+14155550132".into()
            }
        );
        assert_eq!(
            availability(Some("+44 20 7946 0958"), &allowed()),
            SmsAvailability::Available {
                e164: "+442079460958".into()
            }
        );
        let de = availability(Some("+49 30 901820"), &allowed());
        assert_eq!(
            de,
            SmsAvailability::NotInArea {
                region: "DE".into()
            }
        );
        assert_eq!(de.reason().unwrap(), "Not available in your area (DE).");
        assert_eq!(
            availability(None, &allowed()).reason().unwrap(),
            "No phone number on your profile."
        );
        assert_eq!(
            availability(Some("  "), &allowed()),
            SmsAvailability::NoPhone
        );
        assert!(matches!(
            availability(Some("12345"), &allowed()),
            SmsAvailability::NotInArea { .. }
        ));
    }

    #[test]
    fn masks_and_redaction() {
        assert_eq!(mask_phone("+14155550132"), "•••• 0132");
        let s = SmsSender::http("http://127.0.0.1:9", "AC1", "secret-token", "+15005550006");
        assert!(!format!("{s:?}").contains("secret-token"));
    }
}
