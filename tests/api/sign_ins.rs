//! Sign-ins under hostile traffic (issue 13, point 1): attempts sent at once reserved
//! before any password is checked, so at most the allowed failures reach argon2 and the
//! rest get `429` with `Retry-After` at once; password hashing bounded, `503` with
//! `Retry-After` when it stays busy. And the sign-in form's own CSRF token (point 13).

use futures_util::future::join_all;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;

use crate::both_engines;
use crate::helpers::{Engine, TestApp, spawn_app_with};

const PASSWORD: &str = "un mot de passe solide";
const ALLOWED: usize = maillage::service::users::MAX_FAILURES;

/// One sign-in attempt, from `client` behind the node's trusted proxy (loopback), or
/// from the proxy itself when `client` is empty.
async fn attempt(
    app: &TestApp,
    username: &str,
    password: &str,
    client: &str,
) -> (StatusCode, bool) {
    let response = app
        .post_sign_in(
            &[("username", username), ("password", password)],
            Some(client).filter(|c| !c.is_empty()),
        )
        .await;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|secs| secs >= 1);
    (status, retry_after)
}

/// Counts the answers: `(401s, 429s with Retry-After)`; anything else fails.
fn tally(answers: &[(StatusCode, bool)]) -> (usize, usize) {
    let mut counts = (0, 0);
    for (status, retry_after) in answers {
        match *status {
            StatusCode::UNAUTHORIZED => counts.0 += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(retry_after, "a 429 says when to come back");
                counts.1 += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    counts
}

/// 60 wrong passwords at once for one account, from one client address: the allowed
/// failures are checked, the other 55 refused at once; then the right password too.
async fn concurrent_sign_ins_one_account(app: TestApp) {
    app.collectivite_with_token("marcq", "59378").await;
    maillage::service::users::create_user(
        &app.state,
        "marie",
        PASSWORD,
        &["marcq".into()],
        false,
        None,
    )
    .await
    .unwrap();
    let answers =
        join_all((0..60).map(|_| attempt(&app, "marie", "pas le bon mot de passe", "203.0.113.7")))
            .await;
    assert_eq!(tally(&answers), (ALLOWED, 60 - ALLOWED));
    // The account is locked for everyone, and the address for every account.
    let (status, retry_after) = attempt(&app, "marie", PASSWORD, "198.51.100.1").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after);
    let (status, _) = attempt(&app, "autre", PASSWORD, "203.0.113.7").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// 60 attempts at once on 60 accounts from one address: the address is limited.
async fn concurrent_sign_ins_one_address(app: TestApp) {
    let answers = join_all((0..60).map(|i| {
        let name = format!("nom{i}");
        let app = &app;
        async move { attempt(app, &name, "pas le bon mot de passe", "203.0.113.8").await }
    }))
    .await;
    assert_eq!(tally(&answers), (ALLOWED, 60 - ALLOWED));
    assert_eq!(app.state.password_hashing.runs(), ALLOWED as u64);
}

/// With every password-hashing slot taken, sign-ins wait a short while then get `503`
/// with `Retry-After` (no unbounded queue), run no argon2, and do not count as failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sign_ins_hashing_is_bounded() {
    let app = spawn_app_with(Engine::Sqlite, |settings| {
        settings.limits.password_hashes = 1;
        settings.limits.password_hash_wait_ms = 200;
    })
    .await
    .unwrap();
    app.collectivite_with_token("marcq", "59378").await;
    maillage::service::users::create_user(
        &app.state,
        "marie",
        PASSWORD,
        &["marcq".into()],
        false,
        None,
    )
    .await
    .unwrap();
    let checks = app.state.password_hashing.runs();
    let slot = app.state.password_hashing.acquire().await.unwrap();
    // 30 attempts at once on 30 accounts, straight from the proxy (no client address):
    // none is limited, all wait for the slot, then get 503.
    let answers = join_all((0..30).map(|i| {
        let name = format!("nom{i}");
        let app = &app;
        async move { attempt(app, &name, "pas le bon mot de passe", "").await }
    }))
    .await;
    for (status, retry_after) in &answers {
        assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(retry_after, "a 503 says when to come back");
    }
    // More attempts on one account than the limiter allows: each refused the same way.
    for _ in 0..2 * ALLOWED {
        let (status, _) = attempt(&app, "marie", "pas le bon", "203.0.113.9").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(app.state.password_hashing.runs(), checks, "no argon2 ran");
    // Creating an account waits for a slot too.
    let created = maillage::service::users::create_user(
        &app.state,
        "paul",
        PASSWORD,
        &["marcq".into()],
        false,
        None,
    )
    .await;
    assert!(
        matches!(created, Err(maillage::error::AppError::Unavailable { .. })),
        "{created:?}"
    );
    drop(slot);
    // The refused attempts were not failures: the right password still works.
    let (status, _) = attempt(&app, "marie", PASSWORD, "203.0.113.9").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(app.state.password_hashing.runs(), checks + 1);
}

/// Login CSRF: a sign-in posted without the form's token (cookie and hidden field,
/// equal) is refused with `403` and the form again, before any password is checked and
/// without counting as a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_requires_the_form_token() {
    let app = spawn_app_with(Engine::Sqlite, |_| {}).await.unwrap();
    app.collectivite_with_token("marcq", "59378").await;
    maillage::service::users::create_user(
        &app.state,
        "marie",
        PASSWORD,
        &["marcq".into()],
        false,
        None,
    )
    .await
    .unwrap();
    let checks = app.state.password_hashing.runs();
    let (cookie, csrf) = app.sign_in_form().await;
    let (other_cookie, other_csrf) = app.sign_in_form().await;
    assert_ne!(csrf, other_csrf, "a token per browser");
    let post = |cookie: Option<&str>, csrf: Option<&str>| {
        let mut pairs = vec![("username", "marie"), ("password", PASSWORD)];
        pairs.extend(csrf.map(|c| ("csrf", c)));
        let mut request = app
            .client
            .post(app.url("/admin/connexion"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish(),
            );
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    for (cookie, csrf, case) in [
        (None, None, "neither"),
        (None, Some(csrf.as_str()), "no cookie"),
        (Some(cookie.as_str()), None, "no field"),
        (Some(cookie.as_str()), Some(""), "empty field"),
        (
            Some(cookie.as_str()),
            Some(other_csrf.as_str()),
            "another browser's field",
        ),
        (
            Some(other_cookie.as_str()),
            Some(csrf.as_str()),
            "another browser's cookie",
        ),
    ]
    .into_iter()
    .cycle()
    .take(12)
    {
        let response = post(cookie, csrf).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{case}");
        let set_cookie: Vec<_> = response.headers().get_all("set-cookie").iter().collect();
        assert!(
            set_cookie
                .iter()
                .all(|c| !c.to_str().unwrap().starts_with("maillage_session=")),
            "{case}: no session"
        );
        let page = response.text().await.unwrap();
        assert!(
            page.contains("formulaire de connexion a expiré"),
            "{case}: {page}"
        );
        assert!(
            page.contains(r#"name="csrf" value=""#),
            "{case}: a new form"
        );
    }
    assert_eq!(
        app.state.password_hashing.runs(),
        checks,
        "no password checked"
    );
    // The cookie is the sign-in path's only, strict and out of scripts' reach.
    let response = app
        .client
        .get(app.url("/admin/connexion"))
        .send()
        .await
        .unwrap();
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    for attribute in ["Path=/admin/connexion", "HttpOnly", "SameSite=Strict"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    // A second visit keeps the browser's token (two tabs both work).
    let again = app
        .client
        .get(app.url("/admin/connexion"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains(&format!(r#"name="csrf" value="{csrf}""#)));
    // 12 refusals did not lock the account: the real form signs in.
    let response = post(Some(&cookie), Some(&csrf)).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .collect();
    assert!(
        set_cookie[0].starts_with("maillage_session="),
        "{set_cookie:?}"
    );
    assert!(
        set_cookie
            .iter()
            .any(|c| c.starts_with("maillage_connexion=;") && c.contains("Max-Age=0")),
        "the form's cookie is dropped: {set_cookie:?}"
    );
}

both_engines!(
    concurrent_sign_ins_one_account,
    concurrent_sign_ins_one_address,
);

both_engines!(no_session_after_passwd_or_disable);

/// A sign-in that checked the old password while `user passwd` or `user disable` ran
/// (the change lands between its check and its session insert) opens no session.
async fn no_session_after_passwd_or_disable(app: TestApp) {
    use maillage::service::users;
    let state = &app.state;
    users::create_user(state, "marie", PASSWORD, &[], true, None)
        .await
        .unwrap();
    // Another admin, so that marie may be disabled.
    users::create_user(state, "chef", PASSWORD, &[], true, None)
        .await
        .unwrap();
    let expires = chrono::Utc::now() + chrono::Duration::days(1);
    let account = async || {
        state
            .store
            .user_by_username("marie")
            .await
            .unwrap()
            .unwrap()
    };
    // The session insert of a sign-in that checked `user`'s password hash.
    let open = async |token: &str, user: &maillage::db::users::User| {
        state
            .store
            .insert_session(token, user.id, &user.password_hash, "csrf", expires)
            .await
            .unwrap()
    };
    let checked = account().await;
    users::set_password(state, "marie", "un autre mot de passe solide")
        .await
        .unwrap();
    let opened = open("ancien", &checked).await;
    assert!(!opened, "the password changed after it was checked");

    let current = account().await;
    assert!(
        open("actuel", &current).await,
        "the hash checked is the current one"
    );
    users::set_disabled(state, "marie", true).await.unwrap();
    let opened = open("desactive", &current).await;
    assert!(!opened, "the account was disabled after the check");
    for token in ["ancien", "actuel", "desactive"] {
        assert!(
            state.store.session(token).await.unwrap().is_none(),
            "{token}"
        );
    }
    let listing = state.store.users().await.unwrap();
    assert!(listing.iter().all(|l| l.sessions == 0), "no session left");
}

crate::postgres_only!(no_session_beside_an_uncommitted_change);

/// A sign-in whose session insert runs while `user passwd`, `user disable` or `user
/// delete` is uncommitted (READ COMMITTED would read the old row) waits for it and
/// opens nothing; after a deletion it is a refusal, not an error.
async fn no_session_beside_an_uncommitted_change(app: TestApp) {
    use crate::helpers::{holding_transaction, postgres_pool, until_blocked_by};
    use maillage::service::users;
    let pool = postgres_pool(&app);
    users::create_user(&app.state, "marie", PASSWORD, &[], true, None)
        .await
        .unwrap();
    let changes = [
        "UPDATE users SET password_hash = 'autre' WHERE username = 'marie'",
        "UPDATE users SET disabled_at = now() WHERE username = 'marie'",
        "DELETE FROM users WHERE username = 'marie'",
    ];
    for (round, change) in changes.into_iter().enumerate() {
        // Each round starts from an account that can sign in.
        sqlx::query("UPDATE users SET disabled_at = NULL WHERE username = 'marie'")
            .execute(&pool)
            .await
            .unwrap();
        let user = app
            .state
            .store
            .user_by_username("marie")
            .await
            .unwrap()
            .unwrap();
        let (mut holder, pid) = holding_transaction(&pool).await;
        sqlx::query(change).execute(&mut *holder).await.unwrap();
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.id)
            .execute(&mut *holder)
            .await
            .unwrap();
        let store = app.state.store.clone();
        let token = format!("jeton-{round}");
        let expires = chrono::Utc::now() + chrono::Duration::days(1);
        let sign_in = tokio::spawn(async move {
            store
                .insert_session(&token, user.id, &user.password_hash, "csrf", expires)
                .await
        });
        until_blocked_by(&pool, pid, &sign_in).await;
        holder.commit().await.unwrap();
        let opened = sign_in.await.unwrap();
        assert!(matches!(opened, Ok(false)), "{change}: {opened:?}");
        let sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(sessions, 0, "{change}");
    }
}
