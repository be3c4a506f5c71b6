//! Server functions of received invitations.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationItem {
    pub id: i64,
    pub account_name: String,
    #[serde(with = "crate::wire::word")]
    pub role: vocab::Role,
    pub invited_by: String,
    pub sent: String,
    pub expires: String,
}

/// The invitation behind a sign-up link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationSummary {
    pub email: String,
    pub account_name: String,
    pub invited_by: String,
}

/// Open invitations sent to the signed-in person's address, newest first.
#[server(endpoint = "invitations/list", input = crate::wire::Form)]
pub async fn received_invitations() -> Result<Vec<InvitationItem>, AppError> {
    use crate::ssr::*;
    use backend::clock::to_long_date;
    let backend = backend()?;
    let user = require_user().await?;
    let list = backend
        .received_invitations(&user)
        .await
        .map_err(to_app_error)?;
    Ok(list
        .into_iter()
        .map(|i| InvitationItem {
            id: i.id,
            account_name: i.account_name,
            role: i.role,
            invited_by: i.invited_by.unwrap_or_else(|| "a former member".into()),
            sent: to_long_date(i.created_at),
            expires: to_long_date(i.expires_at),
        })
        .collect())
}

#[server(endpoint = "invitations/accept", input = crate::wire::Form)]
pub async fn accept_invitation(invitation_id: i64) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    backend
        .answer_invitation(&user, invitation_id, true, &request_meta())
        .await
        .map_err(to_app_error)
}

#[server(endpoint = "invitations/decline", input = crate::wire::Form)]
pub async fn decline_invitation(invitation_id: i64) -> Result<(), AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let user = require_user().await?;
    backend
        .answer_invitation(&user, invitation_id, false, &request_meta())
        .await
        .map_err(to_app_error)
}

/// For the sign-up page: the invitation's address (shown locked) and account.
/// `None` when the link is unknown, answered, revoked or expired.
#[server(endpoint = "invitations/preview", input = crate::wire::Form)]
pub async fn invitation_preview(token: String) -> Result<Option<InvitationSummary>, AppError> {
    use crate::ssr::*;
    let backend = backend()?;
    let preview = backend
        .invitation_preview(&token)
        .await
        .map_err(to_app_error)?;
    Ok(preview.map(|p| InvitationSummary {
        email: p.email,
        account_name: p.account_name,
        invited_by: p.invited_by.unwrap_or_default(),
    }))
}
