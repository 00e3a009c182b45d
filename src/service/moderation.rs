//! Blocks decided from the admin or the API: a domain (and its subdomains) or one
//! actor. They join `federation.blocked_domains` in [`crate::state::Blocks`], which
//! the inbox, fetches and deliveries consult.

use crate::db::moderation::Block;
use crate::error::{AppError, AppResult, FieldError};
use crate::state::AppState;

fn invalid(message: String) -> AppError {
    AppError::Validation(vec![FieldError::new("target", message)])
}

/// Checks a block target: an actor URL, or a host name (`spam.example`).
///
/// # Errors
/// [`AppError::Validation`] on `target` otherwise.
pub fn parse_target(target: &str) -> AppResult<(String, &'static str)> {
    let target = target.trim();
    if target.is_empty() {
        return Err(invalid(
            "obligatoire : un domaine ou l'adresse d'un acteur".into(),
        ));
    }
    if target.starts_with("http://") || target.starts_with("https://") {
        let url = url::Url::parse(target)
            .map_err(|e| invalid(format!("« {target} » : adresse invalide ({e})")))?;
        return Ok((url.to_string(), "actor"));
    }
    let domain = target.trim_end_matches('.').to_ascii_lowercase();
    let valid = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if !valid {
        return Err(invalid(format!(
            "« {target} » n'est ni un nom de domaine (ex. spam.example) ni l'adresse d'un acteur"
        )));
    }
    Ok((domain, "domain"))
}

/// Refuses to block `domain` when it covers this node's own domain.
///
/// # Errors
/// [`AppError::Validation`] then.
pub fn refuse_own_domain(state: &AppState, domain: &str) -> AppResult<()> {
    if crate::config::domain_listed(&[domain.to_string()], &state.settings.domain) {
        return Err(invalid(
            "un nœud ne peut pas bloquer son propre domaine".into(),
        ));
    }
    Ok(())
}

/// Blocks a domain or an actor, effective at once in this process.
///
/// # Errors
/// [`AppError::Validation`] for a bad target; storage failures.
pub async fn block(state: &AppState, target: &str, reason: &str) -> AppResult<Block> {
    let (target, kind) = parse_target(target)?;
    if kind == "domain" {
        refuse_own_domain(state, &target)?;
    }
    let reason: String = reason.trim().chars().take(500).collect();
    let block = state.store.add_block(&target, kind, &reason).await?;
    state.blocks.reload(&state.store).await?;
    tracing::info!(target = %block.target, kind, "blocked");
    Ok(block)
}

/// Lifts a block.
///
/// # Errors
/// [`AppError::NotFound`] for an unknown block.
pub async fn unblock(state: &AppState, id: i64) -> AppResult<()> {
    if !state.store.remove_block(id).await? {
        return Err(AppError::NotFound(format!("aucun blocage « {id} »")));
    }
    state.blocks.reload(&state.store).await?;
    Ok(())
}

/// Lifts the block of `target` (a domain or an actor URL, as it was blocked); the
/// blocked target, normalised.
///
/// # Errors
/// [`AppError::Validation`] for a bad target or one blocked by the configuration
/// (`federation.blocked_domains`, to edit there); [`AppError::NotFound`] when it is not
/// blocked.
pub async fn unblock_target(state: &AppState, target: &str) -> AppResult<String> {
    let (target, _) = parse_target(target)?;
    if state
        .settings
        .federation
        .blocked_domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(&target))
    {
        return Err(invalid(format!(
            "« {target} » est bloqué par la configuration (federation.blocked_domains) : retirez-le de ce fichier"
        )));
    }
    let block = state
        .store
        .blocks()
        .await?
        .into_iter()
        .find(|b| b.target == target)
        .ok_or_else(|| AppError::NotFound(format!("« {target} » n'est pas bloqué")))?;
    unblock(state, block.id).await?;
    tracing::info!(target = %target, "unblocked");
    Ok(target)
}

/// Longest reason of a citizen's report.
pub const MAX_REPORT_REASON: usize = 2000;
/// Longest contact of a citizen's report.
pub const MAX_REPORT_CONTACT: usize = 200;
/// Citizens' reports one client address may send per minute.
pub const REPORTS_PER_ADDRESS_PER_MINUTE: u32 = 5;

/// A visitor reports the local action `action` from its public page (issue 19): stored
/// with the node's reports (the reporter is the instance actor, the visitor's words and
/// optional contact in the content), for the node admins' page. At most
/// [`REPORTS_PER_ADDRESS_PER_MINUTE`] per client address.
///
/// # Errors
/// [`AppError::Validation`] on `reason` (required, bounded) or `contact` (bounded);
/// [`AppError::RateLimited`] past the rate; storage failures.
pub async fn citizen_report(
    state: &AppState,
    address: Option<&str>,
    action: &crate::domain::Action,
    reason: &str,
    contact: &str,
) -> AppResult<()> {
    let (reason, contact) = (reason.trim(), contact.trim());
    let mut errors = Vec::new();
    if reason.is_empty() {
        errors.push(FieldError::new(
            "motif",
            "obligatoire : dites ce qui pose problème dans cette action",
        ));
    } else if reason.chars().count() > MAX_REPORT_REASON || reason.contains('\0') {
        errors.push(FieldError::new(
            "motif",
            format!("{MAX_REPORT_REASON} caractères au plus"),
        ));
    }
    if contact.chars().count() > MAX_REPORT_CONTACT || contact.contains('\0') {
        errors.push(FieldError::new(
            "contact",
            format!("{MAX_REPORT_CONTACT} caractères au plus"),
        ));
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    if let Some(address) = address {
        if let Some(after) = state
            .rate_limiter
            .hit(&format!("report:{address}"), REPORTS_PER_ADDRESS_PER_MINUTE)
        {
            return Err(AppError::RateLimited {
                message: format!(
                    "trop de signalements depuis cette adresse : réessayez dans {after} s"
                ),
                retry_after: after,
            });
        }
    }
    let id = state.url(&format!("/signalements/{}", uuid::Uuid::now_v7()));
    let mut content = format!("Signalement d'un visiteur du site : {reason}");
    if !contact.is_empty() {
        content.push_str(&format!("\nContact : {contact}"));
    }
    state
        .store
        .insert_report(
            &id,
            state.instance_actor.id,
            std::slice::from_ref(&action.ap_id),
            &content,
        )
        .await?;
    tracing::info!(action = %action.ap_id, "citizen report");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            parse_target(" Spam.Example. ").unwrap(),
            ("spam.example".into(), "domain")
        );
        assert_eq!(
            parse_target("https://bad.example/users/x").unwrap().1,
            "actor"
        );
        for bad in [
            "",
            "localhost",
            "a b.example",
            "-x.example",
            "spam..example",
            "javascript:alert(1)",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }
}
