//! Hostile HTTP input on both engines (issue 13 point 5): search text that `unaccent`
//! turns into tsquery syntax, NUL bytes in paths, query parameters, WebFinger
//! resources, form and JSON bodies, and dates out of range. Each row gets its expected
//! status (a 2xx, or a 4xx with problem+json and, where a field is at fault, that
//! field named), never a 5xx; `/healthz` answers afterwards.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, problem_fields, sample_action};

/// One request of the corpus and what it must get.
struct Row {
    method: Method,
    path: String,
    /// A JSON body, sent with the collectivité's token.
    body: Option<String>,
    /// A form body.
    form: Option<&'static str>,
    status: StatusCode,
    /// The field a validation problem must name.
    field: Option<&'static str>,
}

fn get(path: &str, status: StatusCode) -> Row {
    Row {
        method: Method::GET,
        path: path.to_string(),
        body: None,
        form: None,
        status,
        field: None,
    }
}

fn invalid(path: &str, field: &'static str) -> Row {
    Row {
        field: Some(field),
        ..get(path, StatusCode::UNPROCESSABLE_ENTITY)
    }
}

fn corpus(domain: &str, uuid: &str) -> Vec<Row> {
    let ok = StatusCode::OK;
    let bad = StatusCode::BAD_REQUEST;
    let mut rows = Vec::new();
    // Characters `unaccent` turns into tsquery operators, and tsquery syntax itself.
    for q in [
        "a%CB%90x",                    // aːx → a:x
        "%E2%91%B4",                   // ⑴ → (1)
        "%E2%91%B4%20%C2%BD",          // ⑴ ½
        "num%C3%A9rique%CB%90*",       // numériqueː*
        "a%26b%7Cc%21d",               // a&b|c!d
        "%27%5C%3A%2A%28%29%3C%2D%3E", // '\:*()<->
        "%EF%BC%9A%EF%BC%86",          // fullwidth ：＆
        "%E2%84%80",                   // ℀ (a/c)
    ] {
        rows.push(get(&format!("/api/v1/directory/actions?q={q}"), ok));
        rows.push(get(&format!("/?q={q}"), ok));
        rows.push(get(&format!("/directory.csv?q={q}"), ok));
        rows.push(get(&format!("/directory.geojson?q={q}"), ok));
        rows.push(get(&format!("/directory.atom?q={q}"), ok));
    }
    // NUL bytes in paths.
    for path in [
        "/logiciels/%00",
        "/prestataires/a%00b",
        "/actors/a%00",
        "/actors/a%00/outbox",
        "/api/v1/collectivites/a%00",
        "/api/v1/collectivites/a%00/actions",
        "/themes/%00",
        "/departements/5%009",
        "/actions/%00",
        "/groups/a%00",
        "/%00",
    ] {
        rows.push(get(path, bad));
    }
    rows.push(get(
        &format!("/.well-known/webfinger?resource=acct:a%00@{domain}"),
        bad,
    ));
    rows.push(get(
        &format!("/.well-known/webfinger?resource=acct:marcq@{domain}%00"),
        bad,
    ));
    // NUL bytes in parameters.
    for parameter in [
        "collectivite",
        "software",
        "provider",
        "departement",
        "region",
        "q",
        "insee",
        "epci",
        "theme",
    ] {
        rows.push(get(
            &format!("/api/v1/directory/actions?{parameter}=a%00b"),
            bad,
        ));
        rows.push(get(&format!("/directory.csv?{parameter}=%00"), bad));
        rows.push(get(&format!("/?{parameter}=x%00"), bad));
    }
    rows.push(get("/api/v1/directory/collectivites?departement=%00", bad));
    rows.push(get("/api/v1/directory/collectivites?region=1%00", bad));
    rows.push(get("/api/v1/directory/collectivites?label=%00", bad));
    rows.push(get("/api/v1/moderation/comments?state=%00", bad));
    // Dates out of range, named.
    for date in [
        "-262143-01-01",
        "300000-01-01",
        "%2B300000-01-01",
        "0000-01-01",
        "-0001-12-31",
        "262142-12-31T00:00:00Z",
        "10000-01-01",
    ] {
        rows.push(invalid(
            &format!("/api/v1/directory/actions?updated_since={date}"),
            "updated_since",
        ));
        rows.push(invalid(
            &format!("/directory.csv?updated_since={date}"),
            "updated_since",
        ));
    }
    rows.push(get(
        "/api/v1/directory/actions?updated_since=0001-01-01",
        ok,
    ));
    rows.push(get(
        "/api/v1/directory/actions?updated_since=9999-12-31",
        ok,
    ));
    // Pages too deep (cursor + limit overflowed i64), named; the deepest one answers.
    for cursor in ["9223372036854775807", "10001", "-1"] {
        rows.push(invalid(
            &format!("/api/v1/directory/actions?cursor={cursor}"),
            "cursor",
        ));
        rows.push(invalid(&format!("/?cursor={cursor}"), "cursor"));
    }
    rows.push(get("/api/v1/directory/actions?cursor=10000&limit=100", ok));
    rows.push(get(
        "/api/v1/collectivites/marcq/actions?cursor=9223372036854775807",
        ok,
    ));
    rows.push(get(
        "/actors/marcq/outbox?page=true&cursor=9223372036854775807",
        ok,
    ));
    rows.push(get(
        "/api/v1/directory/actions?bbox=NaN,NaN,inf,inf",
        StatusCode::UNPROCESSABLE_ENTITY,
    ));
    // An over-long query is refused, named.
    rows.push(invalid(
        &format!("/api/v1/directory/actions?q={}", "mot+".repeat(60)),
        "q",
    ));
    // JSON bodies holding a NUL.
    let action_path = "/api/v1/collectivites/marcq/actions".to_string();
    let mut action = sample_action();
    action["name"] = json!("Guichet\u{0}numérique");
    let mut rows_json = vec![(Method::POST, action_path.clone(), action, "name")];
    let mut action = sample_action();
    action["location"][0]["name"] = json!("\u{0}");
    rows_json.push((
        Method::POST,
        action_path.clone(),
        action,
        "location[0].name",
    ));
    rows_json.push((
        Method::PATCH,
        format!("/api/v1/actions/{uuid}"),
        json!({ "summary": "a\u{0}" }),
        "summary",
    ));
    rows_json.push((
        Method::PATCH,
        "/api/v1/collectivites/marcq".to_string(),
        json!({ "name": "\u{0}" }),
        "name",
    ));
    rows_json.push((
        Method::POST,
        "/api/v1/collectivites/marcq/follows".to_string(),
        json!({ "target": "a\u{0}@example.org" }),
        "target",
    ));
    for (method, path, body, field) in rows_json {
        rows.push(Row {
            method,
            path,
            body: Some(body.to_string()),
            form: None,
            status: StatusCode::UNPROCESSABLE_ENTITY,
            field: Some(field),
        });
    }
    // A form body holding a NUL (the sign-in form).
    rows.push(Row {
        method: Method::POST,
        path: "/admin/connexion".into(),
        body: None,
        form: Some("email=a%00%40example.org&password=x"),
        status: bad,
        field: None,
    });
    rows
}

async fn no_500_from_user_input(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let action = app.publish("marcq", &token, &sample_action()).await;
    let uuid = action["uuid"].as_str().unwrap().to_string();
    let rows = corpus(&app.domain, &uuid);
    let mut failures = Vec::new();
    for row in &rows {
        let mut request = app.client.request(row.method.clone(), app.url(&row.path));
        if let Some(body) = &row.body {
            request = request
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body.clone());
        }
        if let Some(form) = row.form {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = response.text().await.unwrap();
        let what = format!("{} {}", row.method, row.path);
        if status != row.status {
            failures.push(format!(
                "{what}: {status} instead of {} ({text:.200})",
                row.status
            ));
            continue;
        }
        if status.is_client_error() && content_type == "application/problem+json" {
            let problem: Value = serde_json::from_str(&text).unwrap();
            if let Some(field) = row.field {
                let fields = problem_fields(&problem);
                if !fields.iter().any(|f| f == field) {
                    failures.push(format!("{what}: {field} not named in {fields:?}"));
                }
            }
        } else if status.is_client_error() && !content_type.starts_with("text/html") {
            failures.push(format!("{what}: {status} as {content_type}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    // The hostile search text still finds what its words say.
    let found = app
        .get_json(app.url("/api/v1/directory/actions?q=guichet+%CB%90+%E2%91%B4"))
        .await;
    assert_eq!(found["total"], 1, "{found}");
}

both_engines!(no_500_from_user_input);
