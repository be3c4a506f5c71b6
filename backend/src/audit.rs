//! The audit trail: every security-relevant action writes one row saying who
//! did what, when, and from which IP and browser.

use sqlx::{Any, Executor, FromRow};

use crate::clock::UnixTime;
use crate::{RequestMeta, Result};

/// The kinds of event written; stored as their string form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    SignedUp,
    SignedIn,
    SignInFailed,
    SignInThrottled,
    SignedOut,
    VerificationSent,
    EmailVerified,
    ResetLinkSent,
    ResetRequestedUnknown,
    PasswordChanged,
    MfaCodeSent,
    MfaFailed,
    MfaChanged,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    ProfileUpdated,
    AvatarChanged,
    AvatarRemoved,
    AccountCreated,
    MemberInvited,
    InvitationRevoked,
    InvitationAccepted,
    InvitationDeclined,
    RoleChanged,
    MemberRemoved,
    MemberLeft,
    OwnershipTransferred,
    SupportGranted,
    SupportViewed,
    EmailChangeRequested,
    EmailChanged,
    SupportRequestFiled,
    SupportRequestClosed,
    SupportChangeHeld,
    SupportChangeReleased,
    SupportChangeUndone,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SignedUp => "user.signed_up",
            EventKind::SignedIn => "session.signed_in",
            EventKind::SignInFailed => "session.sign_in_failed",
            EventKind::SignInThrottled => "session.sign_in_throttled",
            EventKind::SignedOut => "session.signed_out",
            EventKind::VerificationSent => "email.verification_sent",
            EventKind::EmailVerified => "email.verified",
            EventKind::ResetLinkSent => "password.reset_link_sent",
            EventKind::ResetRequestedUnknown => "password.reset_requested_unknown_email",
            EventKind::PasswordChanged => "password.changed",
            EventKind::MfaCodeSent => "mfa.code_sent",
            EventKind::MfaFailed => "mfa.failed",
            EventKind::MfaChanged => "mfa.changed",
            EventKind::RecoveryCodeUsed => "mfa.recovery_code_used",
            EventKind::RecoveryCodesRegenerated => "mfa.recovery_codes_regenerated",
            EventKind::ProfileUpdated => "profile.updated",
            EventKind::AvatarChanged => "avatar.changed",
            EventKind::AvatarRemoved => "avatar.removed",
            EventKind::AccountCreated => "account.created",
            EventKind::MemberInvited => "account.member_invited",
            EventKind::InvitationRevoked => "account.invitation_revoked",
            EventKind::InvitationAccepted => "invitation.accepted",
            EventKind::InvitationDeclined => "invitation.declined",
            EventKind::RoleChanged => "account.role_changed",
            EventKind::MemberRemoved => "account.member_removed",
            EventKind::MemberLeft => "account.member_left",
            EventKind::OwnershipTransferred => "account.ownership_transferred",
            EventKind::SupportGranted => "support.granted",
            EventKind::SupportViewed => "support.viewed",
            EventKind::EmailChangeRequested => "email.change_requested",
            EventKind::EmailChanged => "email.changed",
            EventKind::SupportRequestFiled => "support.request_filed",
            EventKind::SupportRequestClosed => "support.request_closed",
            EventKind::SupportChangeHeld => "support.change_held",
            EventKind::SupportChangeReleased => "support.change_released",
            EventKind::SupportChangeUndone => "support.change_undone",
        }
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct AuditEvent {
    pub id: i64,
    pub user_id: Option<i64>,
    pub kind: String,
    pub detail: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
}

pub async fn record<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: Option<i64>,
    kind: EventKind,
    detail: Option<&str>,
    meta: &RequestMeta,
    now: UnixTime,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_event (user_id, kind, detail, ip, user_agent, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user_id)
    .bind(kind.as_str())
    .bind(detail)
    .bind(meta.ip.as_deref())
    .bind(meta.user_agent.as_deref().map(|ua| truncate(ua, 512)))
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

impl crate::Backend {
    /// `user_id`'s `limit` newest events, newest first (the Dashboard's
    /// recent activity).
    pub async fn recent_events(&self, user_id: i64, limit: i64) -> Result<Vec<AuditEvent>> {
        recent_for_user(&self.db.pool, user_id, limit).await
    }
}

/// The newest events of one user, newest first.
pub async fn recent_for_user<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    user_id: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    Ok(sqlx::query_as(
        "SELECT id, user_id, kind, detail, ip, user_agent, created_at FROM audit_event
         WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(ex)
    .await?)
}

/// The words the Dashboard uses for an event kind.
pub fn describe(kind: &str) -> &'static str {
    match kind {
        "user.signed_up" => "Signed up",
        "session.signed_in" => "Signed in",
        "session.sign_in_failed" => "Failed sign-in attempt",
        "session.sign_in_throttled" => "Sign-in attempt while slowed down",
        "session.signed_out" => "Signed out",
        "email.verification_sent" => "Email confirmation link sent",
        "email.verified" => "Email address confirmed",
        "password.reset_link_sent" => "Password reset link sent",
        "password.changed" => "Password changed",
        "mfa.code_sent" => "Sign-in code sent",
        "mfa.failed" => "Wrong sign-in code entered",
        "mfa.changed" => "Sign-in method changed",
        "mfa.recovery_code_used" => "Recovery code used",
        "mfa.recovery_codes_regenerated" => "New recovery codes made",
        "profile.updated" => "Profile details changed",
        "avatar.changed" => "Profile picture changed",
        "avatar.removed" => "Profile picture removed",
        "account.created" => "Created an organisation account",
        "account.member_invited" => "Invitation sent",
        "account.invitation_revoked" => "Invitation revoked",
        "invitation.accepted" => "Invitation accepted",
        "invitation.declined" => "Invitation declined",
        "account.role_changed" => "Role in an account changed",
        "account.member_removed" => "Removed from an account",
        "account.member_left" => "Left an account",
        "account.ownership_transferred" => "Account ownership transferred",
        "support.granted" => "Global Technical Support role granted",
        "support.viewed" => "Looked up by Global Technical Support",
        "email.change_requested" => "Email change started by Global Technical Support",
        "email.changed" => "Email address changed",
        "support.request_filed" => "Support request sent",
        "support.request_closed" => "Support request closed",
        "support.change_held" => "Change by Global Technical Support on hold for 24 hours",
        "support.change_released" => "Change by Global Technical Support went ahead",
        "support.change_undone" => {
            "Change by Global Technical Support undone (\"This was not me\")"
        }
        _ => "Account activity",
    }
}

/// "Chrome on Linux" from a User-Agent header; enough to recognise one's own devices.
pub fn browser_name(user_agent: &str) -> String {
    let ua = user_agent;
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("OPR/") {
        "Opera"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else {
        return "Unknown browser".into();
    };
    let os = if ua.contains("Android") {
        "Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        "iOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") {
        "macOS"
    } else if ua.contains("Linux") || ua.contains("X11") {
        "Linux"
    } else {
        return browser.into();
    };
    format!("{browser} on {os}")
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_named_plainly() {
        let chrome_linux = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(browser_name(chrome_linux), "Chrome on Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36 Edg/120.0";
        assert_eq!(browser_name(edge), "Edge on Windows");
        let safari_ios = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(browser_name(safari_ios), "Safari on iOS");
        assert_eq!(browser_name("curl/8.0"), "Unknown browser");
        assert_eq!(describe("password.changed"), "Password changed");
    }
}
