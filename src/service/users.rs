//! Editors' accounts and sign-in (SPEC §5 web admin): argon2id password hashes
//! ([`crate::service::passwords`]), sessions as random cookie tokens kept hashed, one
//! CSRF token per session, and a sign-in rate limit per account and per client address
//! ([`crate::service::login_limiter`]).

use std::net::IpAddr;

use rand::RngCore;

use crate::db::users::{AccountChange, Session, User};
use crate::domain::{EmailAddress, NotifyMode};
use crate::error::{AppError, AppResult, FieldError};
use crate::service::tokens::hash_token;
use crate::state::AppState;

pub use crate::service::login_limiter::{LIMIT_WINDOW, LoginLimiter, MAX_FAILURES};
pub use crate::service::passwords::PasswordHashing;

/// How long a session lasts.
pub const SESSION_DAYS: i64 = 14;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Validation(vec![FieldError::new(field, message.into())])
}

/// Checks a new account's name and password.
///
/// # Errors
/// [`AppError::Validation`] on `username` or `password`.
pub fn check_new_account(username: &str, password: &str) -> AppResult<()> {
    let valid_name = !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !valid_name {
        return Err(invalid(
            "username",
            "identifiant de 1 à 64 caractères : minuscules, chiffres, . _ -",
        ));
    }
    check_password(password)
}

/// Checks a new password (the same rules for `user create` and `user passwd`).
///
/// # Errors
/// [`AppError::Validation`] on `password`.
pub fn check_password(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(invalid(
            "password",
            format!("le mot de passe doit compter au moins {MIN_PASSWORD_CHARS} caractères"),
        ));
    }
    Ok(())
}

/// The account `username`.
///
/// # Errors
/// [`AppError::NotFound`] when there is none.
async fn find_user(state: &AppState, username: &str) -> AppResult<User> {
    state
        .store
        .user_by_username(username)
        .await?
        .ok_or_else(|| no_account(username))
}

/// The account `username` does not exist.
fn no_account(username: &str) -> AppError {
    AppError::NotFound(format!("aucun compte « {username} »"))
}

/// Gives the account `username` a new password (the rules of [`check_password`],
/// hashed by the bounded hasher) and ends its sessions.
///
/// # Errors
/// [`AppError::NotFound`], [`AppError::Validation`] on `password`,
/// [`AppError::Unavailable`] when password hashing stays busy.
pub async fn set_password(state: &AppState, username: &str, password: &str) -> AppResult<User> {
    check_password(password)?;
    let user = find_user(state, username).await?;
    let hash = state.password_hashing.hash(password).await?;
    state.store.set_password(user.id, &hash).await?;
    tracing::info!(user = %user.username, "password changed; sessions ended");
    Ok(user)
}

/// Disables the account `username` (it cannot sign in; its sessions end) or enables it
/// again; false when it already was in that state.
///
/// # Errors
/// [`AppError::NotFound`]; [`AppError::Conflict`] for the last enabled node admin.
pub async fn set_disabled(state: &AppState, username: &str, disabled: bool) -> AppResult<bool> {
    let user = find_user(state, username).await?;
    let change = state.store.set_user_disabled(user.id, disabled).await?;
    let changed = guarded(change, username)?;
    tracing::info!(user = %user.username, disabled, changed, "account state set");
    Ok(changed)
}

/// The refusal to leave the node without an enabled admin.
fn last_admin(username: &str) -> AppError {
    AppError::Conflict {
        field: None,
        message: format!(
            "« {username} » est le dernier compte administrateur actif du nœud : créez-en un autre avant (maillage user create --admin)"
        ),
    }
}

/// Whether a change guarded by "one enabled node admin stays" was made (false: the
/// account already was in that state).
///
/// # Errors
/// [`AppError::Conflict`] for the last enabled node admin, [`AppError::NotFound`]
/// for an account deleted meanwhile.
fn guarded(change: AccountChange, username: &str) -> AppResult<bool> {
    match change {
        AccountChange::Changed => Ok(true),
        AccountChange::Unchanged => Ok(false),
        AccountChange::LastAdmin => Err(last_admin(username)),
        AccountChange::Missing => Err(no_account(username)),
    }
}

/// Deletes the account `username`, its sessions and its links to collectivités (API
/// tokens belong to collectivités, not to accounts, and stay).
///
/// # Errors
/// [`AppError::NotFound`]; [`AppError::Conflict`] for the last enabled node admin,
/// whom nobody could replace from the web admin.
pub async fn delete_user(state: &AppState, username: &str) -> AppResult<User> {
    let user = find_user(state, username).await?;
    guarded(state.store.delete_user(user.id).await?, username)?;
    tracing::info!(user = %user.username, "account deleted");
    Ok(user)
}

/// Makes the account `username` a node admin (`admin`) or an editor of the
/// collectivités it is bound to; false when it already had that role.
///
/// # Errors
/// [`AppError::NotFound`]; [`AppError::Conflict`] when the last enabled node admin
/// would become an editor; [`AppError::Validation`] when an editor would edit no
/// collectivité.
pub async fn set_admin(state: &AppState, username: &str, admin: bool) -> AppResult<bool> {
    let user = find_user(state, username).await?;
    if user.admin == admin {
        return Ok(false);
    }
    if !admin {
        let editor = User {
            admin: false,
            ..user.clone()
        };
        if state.store.collectivites_of_user(&editor).await?.is_empty() {
            return Err(bound_to_nothing());
        }
    }
    let changed = guarded(state.store.set_user_admin(user.id, admin).await?, username)?;
    tracing::info!(user = %user.username, admin, changed, "account role set");
    Ok(changed)
}

/// The refusal of an editor's account that edits no collectivité.
fn bound_to_nothing() -> AppError {
    invalid(
        "collectivite",
        "un compte édite au moins une collectivité (--collectivite) ou administre le nœud (--admin)",
    )
}

/// Creates an account bound to local collectivités (by username), or a node admin.
///
/// # Errors
/// [`AppError::Validation`] for a bad name, a short password, an unknown collectivité,
/// or an account bound to nothing; [`AppError::Conflict`] when the name is taken;
/// [`AppError::Unavailable`] when password hashing stays busy.
pub async fn create_user(
    state: &AppState,
    username: &str,
    password: &str,
    collectivites: &[String],
    admin: bool,
    email: Option<&str>,
) -> AppResult<User> {
    check_new_account(username, password)?;
    let email = email.map(parse_email).transpose()?;
    if collectivites.is_empty() && !admin {
        return Err(bound_to_nothing());
    }
    let mut ids = Vec::new();
    for name in collectivites {
        let collectivite = state.store.local_collectivite(name).await?.ok_or_else(|| {
            invalid(
                "collectivite",
                format!("aucune collectivité « {name} » sur ce nœud"),
            )
        })?;
        ids.push(collectivite.id);
    }
    if state.store.user_by_username(username).await?.is_some() {
        return Err(AppError::Conflict {
            field: Some("username".into()),
            message: format!("l'identifiant « {username} » est déjà pris"),
        });
    }
    let hash = state.password_hashing.hash(password).await?;
    Ok(state
        .store
        .insert_user(username, &hash, admin, &ids, email.as_ref())
        .await?)
}

/// An address from a form or the command line.
///
/// # Errors
/// [`AppError::Validation`] on `email`.
fn parse_email(value: &str) -> AppResult<EmailAddress> {
    EmailAddress::parse(value).map_err(|message| invalid("email", message))
}

/// Sets where (`email`: empty or `None` for no address) and how often
/// (`mode`) the account `user` is mailed its notifications. `mode` other than `off`
/// needs an address.
///
/// # Errors
/// [`AppError::Validation`] on `email` or `mode`.
pub async fn set_notifications(
    state: &AppState,
    user: &User,
    email: Option<&str>,
    mode: &str,
) -> AppResult<(Option<EmailAddress>, NotifyMode)> {
    let mode = NotifyMode::parse(mode).map_err(|message| invalid("mode", message))?;
    let email = email
        .filter(|e| !e.trim().is_empty())
        .map(parse_email)
        .transpose()?;
    if email.is_none() && mode != NotifyMode::Off {
        return Err(invalid(
            "email",
            "indiquez une adresse électronique pour recevoir des courriels, ou choisissez « aucun courriel »",
        ));
    }
    state
        .store
        .set_user_notifications(user.id, email.as_ref(), mode)
        .await?;
    tracing::info!(user = %user.username, mode = mode.as_str(), "notification settings changed");
    Ok((email, mode))
}

/// [`set_notifications`] for the account named `username` (the CLI), keeping what is
/// not given.
///
/// # Errors
/// [`AppError::NotFound`], and as [`set_notifications`].
pub async fn set_notifications_of(
    state: &AppState,
    username: &str,
    email: Option<&str>,
    mode: Option<&str>,
) -> AppResult<(Option<EmailAddress>, NotifyMode)> {
    let user = find_user(state, username).await?;
    let email = email.map(str::to_string).or_else(|| user.email.clone());
    let mode = mode.map_or_else(|| user.notify.clone(), str::to_string);
    set_notifications(state, &user, email.as_deref(), &mode).await
}

/// Signs in: the session cookie token (to set) and the session.
///
/// # Errors
/// [`AppError::Unauthorized`] for a wrong name or password, or a disabled account
/// (the same message for all three), [`AppError::RateLimited`] after too many failures, [`AppError::Unavailable`]
/// when every password check is busy for too long.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    ip: Option<IpAddr>,
) -> AppResult<(String, Session)> {
    let username = username.trim().to_lowercase();
    // Reserved before anything is checked: attempts made at once are counted at once.
    let attempt =
        state
            .login_limiter
            .reserve(&username, ip)
            .map_err(|wait| AppError::RateLimited {
                message: format!(
                    "trop d'essais : réessayez dans {}",
                    crate::domain::french::count(
                        wait.as_secs().div_ceil(60).max(1) as i64,
                        "minute",
                        "minutes"
                    )
                ),
                retry_after: wait.as_secs().max(1),
            })?;
    let user = match state.store.user_by_username(&username).await {
        Ok(user) => user,
        Err(error) => {
            attempt.release();
            return Err(error.into());
        }
    };
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    // A bounded number of checks at once; an unknown name costs the same as a wrong
    // password.
    let ok = state.password_hashing.verify(password, hash).await;
    let user = match (ok, user) {
        // A disabled account gets the wrong password's answer, and the attempt counts
        // as a failure: otherwise a right password would show by never locking.
        (Ok(true), Some(user)) if user.disabled_at.is_none() => user,
        (Ok(_), _) => {
            attempt.fail();
            return Err(AppError::Unauthorized(
                "identifiant ou mot de passe incorrect".into(),
            ));
        }
        (Err(error), _) => {
            attempt.release();
            return Err(error);
        }
    };
    attempt.release();
    let token = random_token();
    let csrf = random_token();
    let expires = chrono::Utc::now() + chrono::Duration::days(SESSION_DAYS);
    // The password or the account may have changed since it was checked.
    let opened = state
        .store
        .insert_session(
            &hash_token(&token),
            user.id,
            &user.password_hash,
            &csrf,
            expires,
        )
        .await?;
    if !opened {
        return Err(AppError::Unauthorized(
            "identifiant ou mot de passe incorrect".into(),
        ));
    }
    tracing::info!(user = %user.username, "signed in");
    Ok((
        token,
        Session {
            user,
            csrf_token: csrf,
        },
    ))
}

/// The session of a cookie token, if live.
///
/// # Errors
/// Storage failures.
pub async fn session(state: &AppState, token: &str) -> AppResult<Option<Session>> {
    Ok(state.store.session(&hash_token(token)).await?)
}

/// Signs out.
///
/// # Errors
/// Storage failures.
pub async fn logout(state: &AppState, token: &str) -> AppResult<()> {
    Ok(state.store.delete_session(&hash_token(token)).await?)
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_checked() {
        assert!(check_new_account("marie.dupont", "douze caracteres").is_ok());
        assert!(check_new_account("Marie", "douze caracteres").is_err());
        assert!(check_new_account("marie", "court").is_err());
    }
}
