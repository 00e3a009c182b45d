//! Bearer-token authentication as extractors (SPEC §6): [`Bearer`] requires a valid
//! token; [`MaybeBearer`] accepts none but still rejects a malformed or unknown one.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::db::tokens::TokenRecord;
use crate::error::AppError;
use crate::service::tokens::hash_token;
use crate::state::AppState;

/// A request authenticated by a valid token.
#[derive(Debug, Clone)]
pub struct Bearer(pub TokenRecord);

/// A request with a valid token, or none at all.
#[derive(Debug, Clone)]
pub struct MaybeBearer(pub Option<TokenRecord>);

impl Bearer {
    /// Checks that this token may act for the collectivité `actor_id`.
    ///
    /// # Errors
    /// [`AppError::Forbidden`] for another collectivité's token.
    pub fn require_collectivite(&self, actor_id: i64) -> Result<(), AppError> {
        if self.0.admin || self.0.actor_id == Some(actor_id) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "ce jeton ne permet pas d'agir pour cette collectivité".into(),
            ))
        }
    }

    /// Checks that this is a node-admin token.
    ///
    /// # Errors
    /// [`AppError::Forbidden`] otherwise.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.0.admin {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "un jeton d'administration du nœud est nécessaire (maillage token create --admin)"
                    .into(),
            ))
        }
    }
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<TokenRecord>, AppError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::Unauthorized("en-tête Authorization illisible".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            AppError::Unauthorized("en-tête Authorization attendu : « Bearer <jeton> »".into())
        })?;
    let record = state
        .store
        .use_token(&hash_token(token))
        .await?
        .ok_or_else(|| AppError::Unauthorized("jeton inconnu ou révoqué".into()))?;
    Ok(Some(record))
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        authenticate(parts, state)
            .await?
            .map(Bearer)
            .ok_or_else(|| {
                AppError::Unauthorized(
                    "jeton d'accès requis : Authorization: Bearer <jeton> (maillage token create)"
                        .into(),
                )
            })
    }
}

impl FromRequestParts<AppState> for MaybeBearer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(MaybeBearer(authenticate(parts, state).await?))
    }
}
