//! Editing one's own profile: first name, last name and phone. The email is
//! changed only by support. Saves are optimistic: each carries the profile
//! version it was based on, and a save based on an older version is refused
//! rather than silently overwriting what another tab or device saved.

use crate::audit::{self, EventKind};
use crate::sync::outbox::Change;
use crate::user::{phone, store, validate, User};
use crate::{Backend, Error, FieldError, RequestMeta, Result};

/// What the Profile form sends.
#[derive(Clone, Debug, Default)]
pub struct ProfileEdit {
    pub first_name: String,
    pub last_name: String,
    pub phone: String,
    /// ISO 3166 code chosen in the country picker; national numbers are read in it.
    pub country: String,
    /// The `User::version` the form was loaded with.
    pub version: i64,
}

/// A profile edit that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedProfile {
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<phone::Phone>,
}

pub const STALE_PROFILE: &str = "Your profile was changed in another tab or on another device \
     after you opened this page. Reload to see the latest values, then make your change again.";

pub const PHONE_USED_FOR_SMS: &str = "Your sign-in codes go to this number by text message. \
     Choose another sign-in method on the Security tab before changing or removing it.";

/// Checks every field and reports all problems at once. Used for the
/// live feedback while typing and again, authoritatively, on save.
pub fn check(edit: &ProfileEdit) -> std::result::Result<CheckedProfile, Vec<FieldError>> {
    let mut errors = Vec::new();
    let first = validate::name("first_name", "first name", &edit.first_name)
        .map_err(|e| errors.push(e))
        .ok();
    let last = validate::name("last_name", "last name", &edit.last_name)
        .map_err(|e| errors.push(e))
        .ok();
    let phone = phone::parse(&edit.phone, &edit.country)
        .map_err(|e| errors.push(e))
        .ok();
    match (first, last, phone) {
        (Some(first_name), Some(last_name), Some(phone)) if errors.is_empty() => {
            Ok(CheckedProfile {
                first_name,
                last_name,
                phone,
            })
        }
        _ => Err(errors),
    }
}

impl Backend {
    /// Saves names and phone if `edit.version` is still current; returns the
    /// updated person. Writes one audit event naming the changed fields.
    pub async fn update_profile(
        &self,
        user: &User,
        edit: &ProfileEdit,
        meta: &RequestMeta,
    ) -> Result<User> {
        let checked = check(edit).map_err(Error::Validation)?;
        let new_phone = checked.phone.as_ref().map(|p| p.e164.clone());
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let current = store::find_by_id(&mut *tx, user.id)
            .await?
            .ok_or(Error::Unauthorized)?;
        if current.version != edit.version {
            return Err(Error::Conflict(STALE_PROFILE.into()));
        }
        let mut changed = Vec::new();
        if current.first_name != checked.first_name {
            changed.push("first name");
        }
        if current.last_name != checked.last_name {
            changed.push("last name");
        }
        // Numbers typed at sign-up may not be in E.164 yet; compare like with like.
        let current_phone = current.phone.as_deref().map(|p| match phone::parse(p, "") {
            Ok(Some(parsed)) => parsed.e164,
            _ => p.to_string(),
        });
        if current_phone != new_phone {
            if current.mfa_method == vocab::MfaMethod::Sms {
                return Err(Error::field("phone", PHONE_USED_FOR_SMS));
            }
            changed.push("phone");
        }
        if changed.is_empty() {
            return Ok(current);
        }
        let updated = store::update_profile(
            &mut *tx,
            user.id,
            edit.version,
            &checked.first_name,
            &checked.last_name,
            new_phone.as_deref(),
            now,
        )
        .await?;
        if !updated {
            return Err(Error::Conflict(STALE_PROFILE.into()));
        }
        audit::record(
            &mut *tx,
            Some(user.id),
            EventKind::ProfileUpdated,
            Some(&changed.join(", ")),
            meta,
            now,
        )
        .await?;
        self.record_change(&mut tx, user.id, Change::Profile, now)
            .await?;
        let fresh = store::find_by_id(&mut *tx, user.id)
            .await?
            .ok_or(Error::Unauthorized)?;
        tx.commit().await?;
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(first: &str, last: &str, phone: &str) -> ProfileEdit {
        ProfileEdit {
            first_name: first.into(),
            last_name: last.into(),
            phone: phone.into(),
            country: "GB".into(),
            version: 1,
        }
    }

    #[test]
    fn all_problems_are_reported_together() {
        let errors = check(&edit(" ", "\u{202E}x", "12")).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["first_name", "last_name", "phone"]);
    }

    #[test]
    fn a_valid_edit_is_trimmed_and_normalised() {
        let ok = check(&edit(" Zoë ", "O'Brien", "07400 123456")).unwrap();
        assert_eq!(ok.first_name, "Zoë");
        assert_eq!(ok.phone.unwrap().e164, "+447400123456");
        assert_eq!(check(&edit("李", "محمد", "")).unwrap().phone, None);
    }
}
