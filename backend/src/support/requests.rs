//! Support requests: the contact form, filed signed in or out, rate
//! limited; listed and closed in the console.

use sqlx::FromRow;

use super::store::{self, NewRequest};
use super::{as_support, log_action, MESSAGE_MAX_CHARS};
use crate::audit::{self, EventKind};
use crate::mail::templates;
use crate::rate_limit::{self, Limit};
use crate::user::{self, validate, User};
use crate::{Backend, Error, FieldError, RequestMeta, Result};

/// Support requests one person may file: 5 per hour.
pub const REQUEST_LIMIT: Limit = Limit {
    limit: 5,
    window_secs: 3600,
};

#[derive(Clone, Debug, FromRow)]
pub struct SupportRequest {
    pub id: i64,
    /// The person with the request's address, if anyone has it.
    pub user_id: Option<i64>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Where to answer.
    pub email: String,
    pub topic: String,
    pub message: String,
    pub created_at: i64,
    /// 1 when filed signed in; 0 when the address was only typed.
    pub signed_in: i64,
}

impl Backend {
    /// Files a request from the "Contact Global Technical Support" form.
    /// Signed in (`user`), it is answered at their address; signed out
    /// (someone locked out of their account), at the `email` typed, and the
    /// answer looks the same whether or not anyone has that address. Five
    /// per hour per person, and per address and per IP when signed out.
    pub async fn file_support_request(
        &self,
        user: Option<&User>,
        email: &str,
        topic: &str,
        message: &str,
        meta: &RequestMeta,
    ) -> Result<i64> {
        let mut errors = Vec::new();
        let typed = match user {
            Some(_) => None,
            None => validate::email_or(email, "Enter the email address we should answer.")
                .map_err(|e| errors.push(e))
                .ok(),
        };
        if vocab::SupportTopic::parse(topic).is_none() {
            errors.push(FieldError::new(
                "topic",
                "Choose what your request is about.",
            ));
        }
        let message = message.trim();
        let n = message.chars().count();
        if n == 0 {
            errors.push(FieldError::new("message", "Describe what you need."));
        } else if n > MESSAGE_MAX_CHARS {
            errors.push(FieldError::new(
                "message",
                format!("Please keep it to {MESSAGE_MAX_CHARS} characters ({n} given)."),
            ));
        }
        if !errors.is_empty() {
            return Err(Error::Validation(errors));
        }
        let now = self.clock.now();
        let (person, answer_to) = match (user, typed) {
            (Some(u), _) => (Some(u.clone()), u.email.clone()),
            (None, Some((email, normalized))) => {
                for key in [
                    format!("support-request-email:{normalized}"),
                    format!("support-request-ip:{}", meta.ip.as_deref().unwrap_or("-")),
                ] {
                    rate_limit::hit(&self.db.pool, &key, REQUEST_LIMIT, now).await?;
                }
                (
                    user::store::find_by_email(&self.db.pool, &normalized).await?,
                    email,
                )
            }
            (None, None) => return Err(Error::field("email", "Enter your email address.")),
        };
        if let Some(u) = user {
            rate_limit::hit(
                &self.db.pool,
                &format!("support-request:{}", u.id),
                REQUEST_LIMIT,
                now,
            )
            .await?;
        }
        let mut tx = self.db.begin().await?;
        let request = NewRequest {
            user_id: person.as_ref().map(|p| p.id),
            email: &answer_to,
            topic,
            message,
            signed_in: user.is_some(),
        };
        let id = store::insert_request(&mut *tx, &request, now).await?;
        let detail = if user.is_some() {
            format!("#{id}")
        } else {
            format!("#{id}, sent without signing in")
        };
        audit::record(
            &mut *tx,
            person.as_ref().map(|p| p.id),
            EventKind::SupportRequestFiled,
            Some(&detail),
            meta,
            now,
        )
        .await?;
        tx.commit().await?;
        self.mailer.send_later(templates::notice(
            &self.settings.product_name,
            &answer_to,
            person.as_ref().map(|p| p.first_name.as_str()),
            &format!("we received your support request #{id}"),
            &[
                "Global Technical Support received your request and will answer by email."
                    .to_string(),
                format!("Quote #{id} if you write to us about it. If you did not send it, ignore this mail."),
            ],
            None,
        ));
        Ok(id)
    }

    /// Open support requests, oldest first.
    pub async fn open_support_requests(&self, actor: &User) -> Result<Vec<SupportRequest>> {
        self.require_support(actor).await?;
        store::open_requests(&self.db.pool).await
    }

    pub async fn close_support_request(
        &self,
        actor: &User,
        id: i64,
        meta: &RequestMeta,
    ) -> Result<()> {
        self.require_support(actor).await?;
        log_action(actor, meta, "close request", id);
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let state = store::request_state(&mut *tx, id)
            .await?
            .ok_or(Error::NotFound)?;
        let user_id = state.user_id;
        let closed = || Error::Conflict("This request is already closed.".into());
        if state.status != "open" || !store::close_request(&mut *tx, id, actor.id, now).await? {
            return Err(closed());
        }
        audit::record(
            &mut *tx,
            user_id,
            EventKind::SupportRequestClosed,
            Some(&format!("#{id}, by {}", actor.email)),
            &as_support(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
