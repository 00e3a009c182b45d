//! Editors are told (issue 18): the notices written with each event
//! ([`partnership_request`], [`partnership_answer`], [`comment_pending`]) and the
//! sender that mails them over SMTP (`[smtp]`, [`lettre`]): one mail per notice for
//! accounts in `immediate` mode, one a day after `smtp.digest_hour` for those in
//! `digest` mode. A notice is claimed before it is sent, marked sent after, and tried
//! again with a growing delay when the server refuses or cannot be reached; the
//! dashboard lists every notice whatever becomes of its mail.

use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmtpSettings, SmtpTls};
use crate::db::notifications::{MailNotice, NewNotice, NoticeKind};
use crate::db::partnerships::PartnershipState;
use crate::error::AppResult;
use crate::state::AppState;

/// Tries of one notice before it is marked `failed`: the delays of [`retry_delay`]
/// between them add up to about 44 hours (`maillage notifications retry --failed`
/// puts them back after a longer outage).
pub const MAX_ATTEMPTS: i64 = 16;
/// How long a claimed notice is out of other senders' reach.
const LEASE: Duration = Duration::from_secs(10 * 60);
/// Notices mailed one by one per run at most.
const BATCH: i64 = 100;
/// How often the background sender looks for due notices when not woken.
pub const POLL: Duration = Duration::from_secs(60);

/// The delay before the next try after `attempts` failed ones: one minute, doubling,
/// six hours at most.
pub fn retry_delay(attempts: i64) -> chrono::Duration {
    let minutes = 1_i64 << attempts.clamp(0, 9);
    chrono::Duration::minutes(minutes.min(6 * 60))
}

/// A name or a title written by a peer, as it goes into a mail: one line (line breaks
/// and control characters collapsed, so that a peer cannot add paragraphs to a mail
/// sent from the town's address), without the invisible characters that reorder or
/// hide text (bidirectional overrides, zero-width), without a link a mail reader would
/// make clickable (`://` is broken), of 80 characters at most.
fn one_line(text: &str) -> String {
    let invisible = |c: char| {
        matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    };
    let visible: String = text.chars().filter(|c| !invisible(*c)).collect();
    let line = visible
        .replace("://", " : // ")
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if line.chars().count() > 80 {
        format!("{}…", line.chars().take(79).collect::<String>())
    } else {
        line
    }
}

/// The notice to `collectivite_id`'s editors (when it is local) of a kind, linking to
/// its admin page `page` (`partenariats`, `commentaires`).
async fn notice(
    state: &AppState,
    kind: NoticeKind,
    collectivite_id: i64,
    page: &str,
    summary: String,
) -> AppResult<Option<NewNotice>> {
    let Some(actor) = state.store.actor_by_id(collectivite_id).await? else {
        return Ok(None);
    };
    if !actor.local {
        return Ok(None);
    }
    Ok(Some(NewNotice {
        kind,
        collectivite_id,
        summary,
        link: format!("/admin/c/{}/{page}", actor.username),
        mail: state.settings.smtp.enabled(),
    }))
}

/// A partnership request for `action_name` from `requester` (name, `user@domain`)
/// to tell the owner's editors.
///
/// # Errors
/// Storage failures.
pub async fn partnership_request(
    state: &AppState,
    owner_id: i64,
    requester: (&str, &str),
    action_name: &str,
) -> AppResult<Option<NewNotice>> {
    let (name, handle, action_name) = (
        one_line(requester.0),
        one_line(requester.1),
        one_line(action_name),
    );
    notice(
        state,
        NoticeKind::PartnershipRequest,
        owner_id,
        "partenariats",
        format!(
            "{name} ({handle}) demande à devenir partenaire de votre action « {action_name} »."
        ),
    )
    .await
}

/// The owner's answer (`new_state`) to a request, to tell the requester's editors;
/// `None` for other changes (a partnership that ends).
///
/// # Errors
/// Storage failures.
pub async fn partnership_answer(
    state: &AppState,
    partnership: &crate::db::partnerships::Partnership,
    new_state: PartnershipState,
) -> AppResult<Option<NewNotice>> {
    let verb = match new_state {
        PartnershipState::Accepted => "a accepté",
        PartnershipState::Rejected => "a refusé",
        _ => return Ok(None),
    };
    notice(
        state,
        NoticeKind::PartnershipAnswer,
        partnership.requester.id,
        "partenariats",
        format!(
            "{} {verb} la demande de partenariat de {} pour l'action « {} ».",
            one_line(&partnership.owner.name),
            one_line(&partnership.requester.name),
            one_line(&partnership.action_name)
        ),
    )
    .await
}

/// A comment by `author` (name, `user@domain`) on `action`, waiting for moderation,
/// to tell the action owner's editors.
///
/// # Errors
/// Storage failures.
pub async fn comment_pending(
    state: &AppState,
    action: &crate::domain::Action,
    author: (&str, &str),
) -> AppResult<Option<NewNotice>> {
    let (name, handle) = (one_line(author.0), one_line(author.1));
    notice(
        state,
        NoticeKind::CommentPending,
        action.owner.id,
        "commentaires",
        format!(
            "{name} ({handle}) a commenté votre action « {} » : le commentaire attend votre accord pour être publié.",
            one_line(&action.data.name)
        ),
    )
    .await
}

/// The subject line of one notice (French).
fn title(kind: &str) -> &'static str {
    match NoticeKind::parse(kind) {
        Some(NoticeKind::PartnershipRequest) => "Nouvelle demande de partenariat",
        Some(NoticeKind::PartnershipAnswer) => "Réponse à votre demande de partenariat",
        Some(NoticeKind::CommentPending) => "Un commentaire attend votre accord",
        None => "Nouvelle notification",
    }
}

/// The closing lines of every mail: why it comes and where to change that.
fn footer(state: &AppState, username: &str, how: &str) -> String {
    format!(
        "-- \n{node} ({base})\nVous recevez ce courriel parce que le compte « {username} » reçoit {how}. \
         Pour changer d'adresse ou de rythme, ou ne plus en recevoir : {base}/admin#notifications\n",
        node = state.settings.node.name,
        base = state.base,
    )
}

/// The mail of one notice: subject and plain-text body (French; links to the admin,
/// nothing of the session or the settings).
pub fn immediate_mail(state: &AppState, notice: &MailNotice) -> (String, String) {
    let subject = format!("{} – {}", state.settings.node.name, title(&notice.kind));
    let body = format!(
        "Bonjour,\n\n{summary}\n\nPour y donner suite : {base}{link}\n\n{footer}",
        summary = notice.summary,
        base = state.base,
        link = notice.link,
        footer = footer(state, &notice.username, "un courriel à chaque nouvelle"),
    );
    (subject, body)
}

/// The daily digest of one account's notices: subject and plain-text body.
pub fn digest_mail(state: &AppState, notices: &[MailNotice]) -> (String, String) {
    let n = notices.len();
    let what = if n == 1 {
        "1 nouvelle".to_string()
    } else {
        format!("{n} nouvelles")
    };
    let subject = format!("{} – {what} en attente", state.settings.node.name);
    let mut body = format!("Bonjour,\n\nVoici ce qui vous attend ({what}) :\n\n");
    for notice in notices {
        body.push_str(&format!(
            "- {}\n  {}{}\n\n",
            notice.summary, state.base, notice.link
        ));
    }
    let username = notices.first().map_or("", |n| n.username.as_str());
    body.push_str(&footer(state, username, "un résumé par jour"));
    (subject, body)
}

/// Sends mails through the configured SMTP server.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl Mailer {
    /// The mailer of `[smtp]`, or `None` when no host is set.
    ///
    /// # Errors
    /// A setting lettre refuses (checked at load already).
    pub fn new(settings: &SmtpSettings, domain: &str) -> anyhow::Result<Option<Self>> {
        if !settings.enabled() {
            return Ok(None);
        }
        let host = settings.host.trim();
        let builder = match settings.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
        };
        let mut builder = builder
            .port(settings.port)
            .timeout(Some(Duration::from_secs(30)));
        if !settings.username.trim().is_empty() {
            builder = builder.credentials(Credentials::new(
                settings.username.trim().to_string(),
                settings.password.clone(),
            ));
        }
        Ok(Some(Self {
            transport: builder.build(),
            from: settings
                .from
                .parse()
                .map_err(|e| anyhow::anyhow!("smtp.from : {e}"))?,
            domain: domain.split(':').next().unwrap_or(domain).to_string(),
        }))
    }

    /// Sends one plain-text mail; `key` makes its `Message-ID` (the notice or the
    /// digest it carries).
    ///
    /// # Errors
    /// The address, or what the server answered (or why it could not be reached).
    pub async fn send(
        &self,
        to: &str,
        subject: &str,
        body: String,
        key: &str,
    ) -> Result<(), SendError> {
        let to: Mailbox = to.parse().map_err(|e| SendError {
            message: format!("adresse « {to} » refusée : {e}"),
            permanent: true,
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{key}@{}>", self.domain)))
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| SendError {
                message: format!("courriel impossible à composer : {e}"),
                permanent: true,
            })?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| SendError {
                message: format!("envoi SMTP : {e}"),
                permanent: refuses_the_mailbox(&e),
            })
    }
}

/// True when the server refused this recipient for good (`550` unknown or unavailable
/// mailbox, `551` not local, `553` mailbox name not allowed): trying again cannot
/// help. Other permanent answers (`530`/`535` authentication, `554` transaction
/// failed, a refused sender) concern the node's settings, which the operator can fix:
/// they are retried as usual.
fn refuses_the_mailbox(error: &lettre::transport::smtp::Error) -> bool {
    error.is_permanent()
        && error
            .status()
            .is_some_and(|code| matches!(code.to_string().as_str(), "550" | "551" | "553"))
}

/// Why a mail did not go.
#[derive(Debug)]
pub struct SendError {
    /// What the server answered, or why it could not be reached (French).
    pub message: String,
    /// True when trying again cannot help: the notice is marked `failed` at once.
    pub permanent: bool,
}

/// What one sending run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Mails of one notice sent.
    pub immediate: usize,
    /// Digests sent.
    pub digests: usize,
    /// Mails that failed (their notices are tried again later, or marked `failed`).
    pub failed: usize,
}

/// Records a failed send of `notices` (each by its own attempts; none more after a
/// permanent refusal).
async fn failed(
    state: &AppState,
    notices: &[&MailNotice],
    error: &SendError,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for notice in notices {
        let attempts = notice.mail_attempts + 1;
        let retry_at =
            (!error.permanent && attempts < MAX_ATTEMPTS).then(|| now + retry_delay(attempts - 1));
        state
            .store
            .notices_not_mailed(&[notice.id], &error.message, retry_at)
            .await?;
    }
    tracing::warn!(notices = notices.len(), error = %error.message, permanent = error.permanent, "notification mail not sent");
    Ok(())
}

/// Mails what is due at `now`: each `immediate` notice, and the digests of accounts
/// in `digest` mode when `now` is past `smtp.digest_hour` on a day they had none (or
/// at once, `force_digests`, for `maillage notifications digest`). Accounts without an
/// address or with mails off have their notices marked `skipped`.
///
/// # Errors
/// Storage failures (a mail that fails is recorded, not returned).
pub async fn send_due(
    state: &AppState,
    mailer: &Mailer,
    now: DateTime<Local>,
    force_digests: bool,
) -> AppResult<Sent> {
    let mut sent = Sent::default();
    let utc = now.with_timezone(&Utc);
    let lease = utc + chrono::Duration::from_std(LEASE).expect("BUG: lease fits");
    state.store.skip_unmailable_notices().await?;
    for notice in state.store.due_immediate_notices(utc, BATCH).await? {
        if state
            .store
            .claim_notices(&[notice.id], utc, lease)
            .await?
            .is_empty()
        {
            continue;
        }
        let (subject, body) = immediate_mail(state, &notice);
        let key = format!("notification-{}", notice.id);
        match mailer.send(&notice.email, &subject, body, &key).await {
            Ok(()) => {
                state.store.notices_mailed(&[notice.id], None).await?;
                sent.immediate += 1;
            }
            Err(error) => {
                failed(state, &[&notice], &error, utc).await?;
                sent.failed += 1;
            }
        }
    }
    let hour = chrono::Timelike::hour(&now);
    if !force_digests && hour < state.settings.smtp.digest_hour {
        return Ok(sent);
    }
    let today = now.format("%Y-%m-%d").to_string();
    for user_id in state.store.digest_accounts_due(utc, &today).await? {
        let due = state.store.due_notices_of(user_id, utc).await?;
        let ids: Vec<i64> = due.iter().map(|n| n.id).collect();
        let claimed = state.store.claim_notices(&ids, utc, lease).await?;
        let notices: Vec<MailNotice> = due
            .into_iter()
            .filter(|n| claimed.contains(&n.id))
            .collect();
        let Some(first) = notices.first() else {
            continue;
        };
        let (subject, body) = digest_mail(state, &notices);
        let key = format!("digest-{user_id}-{today}-{}", first.id);
        match mailer.send(&first.email, &subject, body, &key).await {
            Ok(()) => {
                state
                    .store
                    .notices_mailed(&claimed, Some((user_id, &today)))
                    .await?;
                sent.digests += 1;
            }
            Err(error) => {
                failed(state, &notices.iter().collect::<Vec<_>>(), &error, utc).await?;
                sent.failed += 1;
            }
        }
    }
    if sent != Sent::default() {
        tracing::info!(?sent, "notification mails");
    }
    Ok(sent)
}

/// Runs the sender until `stop` completes: every [`POLL`], or at once when woken
/// (`AppState::mail_wakeup`, rung when notices are written). Does nothing without
/// `[smtp]` settings.
pub async fn run(state: AppState, stop: impl std::future::Future<Output = ()> + Send) {
    let mailer = match Mailer::new(&state.settings.smtp, &state.settings.domain) {
        Ok(Some(mailer)) => mailer,
        Ok(None) => return,
        Err(error) => {
            tracing::error!(%error, "SMTP settings refused; no notification mail");
            return;
        }
    };
    tracing::info!(host = %state.settings.smtp.host, port = state.settings.smtp.port, "notification sender started");
    tokio::pin!(stop);
    loop {
        if let Err(error) = send_due(&state, &mailer, Local::now(), false).await {
            tracing::warn!(%error, "notification sender");
        }
        tokio::select! {
            () = &mut stop => break,
            () = state.mail_wakeup.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_up_to_six_hours() {
        assert_eq!(retry_delay(0), chrono::Duration::minutes(1));
        assert_eq!(retry_delay(3), chrono::Duration::minutes(8));
        assert_eq!(retry_delay(11), chrono::Duration::hours(6));
        // The whole schedule, as docs/deployment.md gives it: about 44 hours.
        let total: i64 = (0..MAX_ATTEMPTS - 1)
            .map(|a| retry_delay(a).num_minutes())
            .sum();
        assert_eq!(total, 2671);
    }

    #[test]
    fn peers_names_are_one_short_line() {
        assert_eq!(
            one_line("Ville\n\nPour y donner suite : https://evil.example\r\t!"),
            "Ville Pour y donner suite : https : // evil.example !"
        );
        assert_eq!(one_line("Lil\u{202E}elle\u{200B}"), "Lilelle");
        let long = one_line(&"a".repeat(200));
        assert_eq!(long.chars().count(), 80);
        assert!(long.ends_with('…'));
    }
}
