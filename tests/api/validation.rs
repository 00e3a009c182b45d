//! Bad input, table-driven: every case gets a 4xx with an `application/problem+json`
//! body naming the field at fault; none gets a 5xx.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_engines;
use crate::helpers::{TestApp, assert_problem, problem_fields, sample_action};

both_engines!(bad_actions, bad_collectivites, bad_requests);

/// `sample_action()` with `patch` merged in (`null` removes a field).
fn action_with(patch: Value) -> Value {
    let mut body = sample_action();
    for (key, value) in patch.as_object().unwrap() {
        if value.is_null() {
            body.as_object_mut().unwrap().remove(key);
        } else {
            body[key] = value.clone();
        }
    }
    body
}

async fn bad_actions(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "unknown theme",
            action_with(json!({"themes": ["cuisine"]})),
            "themes[0]",
        ),
        ("no theme", action_with(json!({"themes": []})), "themes"),
        (
            "themes missing",
            action_with(json!({"themes": null})),
            "themes",
        ),
        ("empty name", action_with(json!({"name": "   "})), "name"),
        ("name missing", action_with(json!({"name": null})), "name"),
        (
            "name too long",
            action_with(json!({"name": "x".repeat(201)})),
            "name",
        ),
        (
            "content missing",
            action_with(json!({"content": null})),
            "content",
        ),
        (
            "content too long",
            action_with(json!({"content": "é".repeat(50_001)})),
            "content",
        ),
        (
            "summary too long",
            action_with(json!({"summary": "s".repeat(501)})),
            "summary",
        ),
        (
            "bad INSEE shape",
            action_with(json!({"location": [{"name": "X", "insee": "5937"}]})),
            "location[0].insee",
        ),
        (
            "unknown INSEE",
            action_with(json!({"location": [{"name": "X", "insee": "99999"}]})),
            "location[0].insee",
        ),
        (
            "latitude out of range",
            action_with(json!({"location": [{"name": "X", "lat": 95.0, "lon": 3.0}]})),
            "location[0].lat",
        ),
        (
            "longitude out of range",
            action_with(json!({"location": [{"name": "X", "lat": 50.0, "lon": -200.0}]})),
            "location[0].lon",
        ),
        (
            "latitude without longitude",
            action_with(json!({"location": [{"name": "X", "lat": 50.0}]})),
            "location[0].lon",
        ),
        (
            "dates reversed",
            action_with(json!({"start_date": "2024-06-01", "end_date": "2024-01-01"})),
            "end_date",
        ),
        (
            "bad date",
            action_with(json!({"start_date": "01/06/2024"})),
            "start_date",
        ),
        (
            "negative budget",
            action_with(json!({"budget_eur": -5})),
            "budget_eur",
        ),
        (
            "unknown phase",
            action_with(json!({"phase": "termine"})),
            "phase",
        ),
        (
            "unknown status",
            action_with(json!({"status": "fini"})),
            "status",
        ),
        (
            "bad link",
            action_with(json!({"links": [{"url": "javascript:alert(1)"}]})),
            "links[0].url",
        ),
        (
            "bad provider SIREN",
            action_with(json!({"providers": [{"name": "ACME", "siren": "123"}]})),
            "providers[0].siren",
        ),
        (
            "software without name",
            action_with(json!({"software": [{"url": "https://x.org"}]})),
            "software[0].name",
        ),
        (
            "bad e-mail",
            action_with(json!({"contacts": [{"name": "A", "email": "pas-un-mail"}]})),
            "contacts[0].email",
        ),
        (
            "too many places",
            action_with(json!({"location": vec![json!({"name": "X"}); 51]})),
            "location",
        ),
        (
            "unknown field",
            action_with(json!({"titre": "Atelier"})),
            "body",
        ),
        ("wrong type", action_with(json!({"name": 42})), "name"),
        (
            "wrong type in list",
            action_with(json!({"themes": "education"})),
            "themes",
        ),
        (
            "bad format",
            action_with(json!({"format": "docx"})),
            "format",
        ),
    ];
    for (what, body, field) in cases {
        let response = app.post_action("marcq", &token, &body).await;
        assert!(
            response.status().is_client_error(),
            "{what}: got {}",
            response.status()
        );
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let fields = problem_fields(&problem);
        assert!(
            fields
                .iter()
                .any(|f| f == field || (field == "body" && !f.is_empty())),
            "{what}: expected an error on {field}, got {fields:?} ({problem})"
        );
    }

    // Several errors are reported at once.
    let many = app
        .post_action(
            "marcq",
            &token,
            &json!({"name": "", "themes": ["x"], "phase": "y"}),
        )
        .await;
    let problem = assert_problem(many, StatusCode::UNPROCESSABLE_ENTITY).await;
    let fields = problem_fields(&problem);
    for field in ["name", "content", "themes[0]", "phase"] {
        assert!(fields.contains(&field.to_string()), "{field} in {fields:?}");
    }
    // Nothing was stored.
    let list: Value = app
        .get_json(app.url("/api/v1/collectivites/marcq/actions"))
        .await;
    assert_eq!(list["total"], 0);
}

async fn bad_collectivites(app: TestApp) {
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "bad INSEE shape",
            json!({"username": "x", "insee": "ABCDE"}),
            "insee",
        ),
        (
            "unknown INSEE",
            json!({"username": "x", "insee": "00000"}),
            "insee",
        ),
        ("commune without INSEE", json!({"username": "x"}), "insee"),
        (
            "bad username",
            json!({"username": "Ville De Lille", "insee": "59350"}),
            "username",
        ),
        ("username missing", json!({"insee": "59350"}), "username"),
        (
            "bad kind",
            json!({"username": "x", "insee": "59350", "kind": "ville"}),
            "kind",
        ),
        (
            "bad SIREN",
            json!({"username": "x", "insee": "59350", "siren": "12"}),
            "siren",
        ),
        (
            "bad website",
            json!({"username": "x", "insee": "59350", "website": "lille.fr"}),
            "website",
        ),
        (
            "latitude out of range",
            json!({"username": "x", "insee": "59350", "location": {"lat": -91, "lon": 3}}),
            "location.lat",
        ),
        (
            "bad label",
            json!({"username": "x", "insee": "59350", "labels": [{"year": 2024, "arobases": 9}]}),
            "labels[0].arobases",
        ),
        (
            "empty name",
            json!({"username": "x", "insee": "59350", "name": ""}),
            "name",
        ),
        (
            "unknown département",
            json!({"username": "x", "kind": "departement", "departement": "00"}),
            "departement",
        ),
        // The directory's existing groups reserve their names (domain::groups).
        (
            "a theme's group",
            json!({"username": "democratie-locale", "insee": "59350"}),
            "username",
        ),
        (
            "a département's group",
            json!({"username": "dep-59", "insee": "59350"}),
            "username",
        ),
        (
            "a région's group",
            json!({"username": "reg-32", "insee": "59350"}),
            "username",
        ),
    ];
    for (what, body, field) in cases {
        let response = app
            .client
            .post(app.url("/api/v1/collectivites"))
            .bearer_auth(&app.admin_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let fields = problem_fields(&problem);
        assert!(
            fields.iter().any(|f| f == field),
            "{what}: {fields:?} ({problem})"
        );
    }
}

async fn bad_requests(app: TestApp) {
    let token = app.collectivite_with_token("marcq", "59378").await;
    let url = app.url("/api/v1/collectivites/marcq/actions");

    // Malformed JSON → 400.
    let response = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST).await;

    // Not JSON → 415.
    let response = app
        .client
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("bonjour")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    // Over 1 MiB → 413.
    let huge = json!({"name": "x", "content": "x".repeat(1_100_000), "themes": ["culture"]});
    let response = app.post_action("marcq", &token, &huge).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE).await;

    // Authentication.
    let response = app
        .client
        .post(&url)
        .json(&sample_action())
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED).await;
    let response = app
        .client
        .post(&url)
        .header("authorization", "Basic dXNlcjpwYXNz")
        .json(&sample_action())
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED).await;

    // Unknown things → 404, whatever their shape.
    for path in [
        "/api/v1/actions/not-a-uuid",
        "/api/v1/actions/0190f3a0-0000-7000-8000-000000000000",
        "/api/v1/collectivites/inconnue/actions",
        "/actions/0190f3a0-0000-7000-8000-000000000000",
        "/actors/inconnue",
        "/actors/inconnue/outbox",
        "/activities/nope",
        "/nulle-part",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_problem(response, StatusCode::NOT_FOUND).await;
    }

    // Bad query parameters.
    for query in ["limit=0", "limit=abc", "limit=1000", "cursor=zz"] {
        let response = app
            .client
            .get(format!("{url}?{query}"))
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let response = app
        .client
        .get(app.url("/actors/marcq/outbox?page=true&before=zz"))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST).await;

    // WebFinger without or with a foreign resource.
    let response = app
        .client
        .get(app.url("/.well-known/webfinger"))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST).await;
    let response = app
        .client
        .get(app.url("/.well-known/webfinger?resource=acct:marcq@ailleurs.example"))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::NOT_FOUND).await;
    let response = app
        .client
        .get(app.url("/.well-known/webfinger?resource=n'importe quoi"))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::NOT_FOUND).await;

    // PATCH with something else than an object.
    let created = app.publish("marcq", &token, &sample_action()).await;
    let response = app
        .client
        .patch(app.url(&format!(
            "/api/v1/actions/{}",
            created["uuid"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .json(&json!(["name"]))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST).await;
}
