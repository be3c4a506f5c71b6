//! Keeping the copy of each person current from Atrium's signed webhooks.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::*;

/// Atrium's change events (Standard Webhooks). The signature and timestamp
/// are checked by the `standardwebhooks` crate (stale or future timestamps,
/// over 5 minutes, are refused); a webhook-id seen before is acknowledged
/// and not applied again; an event older than the copy (by version) is
/// acknowledged and ignored.
pub(crate) async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let Some(verifier) = &state.webhooks else {
        return StatusCode::NOT_FOUND;
    };
    if let Err(e) = verifier.verify(body.as_bytes(), &headers) {
        tracing::warn!(error = ?e, "webhook refused");
        return StatusCode::UNAUTHORIZED;
    }
    let Some(id) = headers.get("webhook-id").and_then(|v| v.to_str().ok()) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(event) = serde_json::from_str::<serde_json::Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let data = &event["data"];
    let (Some(sub), Some(version)) = (data["sub"].as_str(), data["version"].as_i64()) else {
        return StatusCode::BAD_REQUEST;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let applied = async {
        let mut tx = state.db.begin().await?;
        let first = sqlx::query(
            "INSERT INTO webhook_seen (id, received_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if first.rows_affected() == 0 {
            return Ok::<_, sqlx::Error>(false);
        }
        let claims = &data["claims"];
        let text = |name: &str| claims.get(name).map(|v| v.as_str().map(str::to_string));
        // Only the claims the event carries change; a null clears.
        let mut sets = Vec::new();
        let mut values: Vec<Option<String>> = Vec::new();
        for (claim, column) in [("name", "name"), ("email", "email"), ("picture", "picture")] {
            if let Some(v) = text(claim) {
                if column == "name" && v.is_none() {
                    continue;
                }
                sets.push(format!("{column} = ?"));
                values.push(v);
            }
        }
        sets.push("version = ?".into());
        let sql = format!(
            "UPDATE person SET {} WHERE sub = ? AND version < ?",
            sets.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for v in values {
            q = q.bind(v);
        }
        q.bind(version)
            .bind(sub)
            .bind(version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    };
    match applied.await {
        Ok(true) => {
            tracing::info!(event_type = %event["type"], version, "webhook applied");
            StatusCode::NO_CONTENT
        }
        Ok(false) => StatusCode::NO_CONTENT,
        Err(e) => {
            tracing::error!(error = %e, "webhook not stored");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
