//! `docs/openapi.yaml` against the code: every documented operation is routed, every API route
//! is documented, and real answers of each operation (signed in as demo members) validate
//! against the documented schema of their status.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use vigie_tests::Stack;
use vigie_tests::web_client::{Reply, WebClient, code_texted_to};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn document() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.yaml");
    let yaml = std::fs::read_to_string(path).expect("docs/openapi.yaml");
    serde_norway::from_str(&yaml).expect("docs/openapi.yaml is YAML")
}

/// `#/components/...` pointers replaced by what they point at (the document has no cycles).
fn inline(doc: &Value, value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(pointer)) = map.get("$ref") {
                let target = doc
                    .pointer(pointer.trim_start_matches('#'))
                    .unwrap_or_else(|| panic!("{pointer} is not in the document"));
                return inline(doc, target);
            }
            Value::Object(map.iter().map(|(k, v)| (k.clone(), inline(doc, v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| inline(doc, v)).collect()),
        other => other.clone(),
    }
}

/// The documented operations, `(METHOD, path)`.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// Checks `reply` against the documented answer of `method path` for its status.
fn check(doc: &Value, method: &str, path: &str, reply: &Reply) {
    let operation = &doc["paths"][path][method.to_lowercase()];
    assert!(operation.is_object(), "{method} {path} is documented");
    let status = reply.status.as_u16().to_string();
    let response = inline(doc, &operation["responses"][&status]);
    assert!(
        response.is_object(),
        "{method} {path} answered {status}, which is not documented: {}",
        reply.body
    );
    match response.pointer("/content/application~1json/schema") {
        Some(schema) => {
            let validator = jsonschema::draft202012::new(schema)
                .unwrap_or_else(|e| panic!("the schema of {method} {path} {status} is valid: {e}"));
            let body: Value = serde_json::from_str(&reply.body)
                .unwrap_or_else(|_| panic!("{method} {path} {status} is JSON: {}", reply.body));
            let errors: Vec<String> =
                validator.iter_errors(&body).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(
                errors.is_empty(),
                "{method} {path} {status} does not match its schema: {errors:?}\n{body:#}"
            );
            assert!(reply.header("content-type").is_some_and(|c| c.starts_with("application/json")));
        }
        None => {
            assert!(reply.body.is_empty(), "{method} {path} {status} has no documented body: {}", reply.body)
        }
    }
}

#[test]
fn every_api_route_is_documented_and_every_documented_operation_exists() {
    let doc = document();
    assert_eq!(doc["openapi"].as_str().map(|v| v.starts_with("3.1")), Some(true));
    let code: BTreeSet<(String, String)> =
        web::api::API_ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    assert_eq!(documented(&doc), code, "docs/openapi.yaml and web::api::API_ROUTES differ");
    // The validation is strict: an unknown field fails.
    let error = inline(&doc, &json!({"$ref": "#/components/schemas/Error"}));
    let validator = jsonschema::draft202012::new(&error).unwrap();
    assert!(validator.is_valid(&json!({"error": "not_found"})));
    assert!(!validator.is_valid(&json!({"error": "not_found", "detail": "x"})));
    // Every object schema says what it holds, so a new field is caught.
    for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
        if schema["type"] == "object" {
            assert_eq!(schema["additionalProperties"], json!(false), "{name}");
        }
    }
}

#[tokio::test]
async fn every_documented_operation_is_routed_and_answers_as_documented() {
    let doc = document();
    let stack = Stack::demo().await;
    let mut relay = stack.relay().await;
    let mut anonymous = WebClient::new(&stack);
    let mut marie = WebClient::new(&stack);
    marie.sign_in(&stack, "Marie").await;
    let mut lucas = WebClient::new(&stack);
    lucas.sign_in(&stack, "Lucas").await;
    let mut paul = WebClient::new(&stack);
    paul.sign_in(&stack, "Paul").await;
    stack.text(&stack.phone("Karim"), "Voiture garée sur le trottoir").await;
    let jeanne = stack.member("Jeanne").id.to_string();

    let submission = ulid::Ulid::new().to_string();
    let alert = json!({"category": "suspicious", "text": "Camionnette blanche, rue des Lilas", "submission_id": submission});
    let raised = marie.api(Method::POST, "/api/alerts", Some(alert.clone())).await;
    assert_eq!(raised.status, StatusCode::CREATED, "{}", raised.body);
    let alert_id = raised.json()["alert_ids"][0].as_str().unwrap().to_owned();

    // Each call must be routed (no 405; 404s are only asked for where documented) and answer
    // as documented for its status.
    let run = async |client: &mut WebClient, method: &str, path: &str, actual: &str, body: Option<Value>| {
        let reply = client.api(method.parse().unwrap(), actual, body).await;
        assert_ne!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {actual}");
        check(&doc, method, path, &reply);
        reply
    };
    let seen = |reply: &Reply| reply.status;

    // Every operation, answering for real (not the router's 404/405).
    assert_eq!(
        seen(
            &run(
                &mut marie,
                "GET",
                "/api/sms-preview",
                "/api/sms-preview?text=Bonjour&category=danger",
                None
            )
            .await
        ),
        StatusCode::OK
    );
    assert_eq!(seen(&run(&mut marie, "GET", "/api/alerts", "/api/alerts", None).await), StatusCode::OK);
    assert_eq!(
        seen(&run(&mut marie, "POST", "/api/alerts", "/api/alerts", Some(alert.clone())).await),
        StatusCode::OK,
        "again: a duplicate"
    );
    assert_eq!(
        seen(&run(&mut marie, "GET", "/api/alerts/{id}", &format!("/api/alerts/{alert_id}"), None).await),
        StatusCode::OK
    );
    let close = format!("/api/alerts/{alert_id}/close");
    let ending = |ending: &str| Some(json!({"ending": ending}));
    let path = "/api/alerts/{id}/close";
    assert_eq!(seen(&run(&mut lucas, "POST", path, &close, ending("resolved")).await), StatusCode::FORBIDDEN);
    assert_eq!(
        seen(&run(&mut marie, "POST", path, &close, ending("other")).await),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let closed =
        run(&mut marie, "POST", path, &close, Some(json!({"ending": "false_alarm", "note": "Le facteur"})))
            .await;
    assert_eq!(seen(&closed), StatusCode::OK, "{}", closed.body);
    assert_eq!(closed.json()["closed"]["ending"], "false_alarm");
    // Once fanned out, the alert's all clear has its report, as documented.
    vigie_tests::drain_until_quiet(&mut relay).await;
    let after = run(&mut marie, "GET", "/api/alerts/{id}", &format!("/api/alerts/{alert_id}"), None).await;
    let follow_up = &after.json()["closed"]["follow_up"];
    assert!(follow_up["recipients"].as_u64().unwrap_or_default() > 0, "{}", after.body);
    assert!(follow_up["done_at"].is_string(), "{}", after.body);
    assert_eq!(seen(&run(&mut marie, "POST", path, &close, ending("resolved")).await), StatusCode::CONFLICT);
    assert_eq!(seen(&run(&mut marie, "GET", "/api/me", "/api/me", None).await), StatusCode::OK);
    assert_eq!(
        seen(&run(&mut marie, "PATCH", "/api/me", "/api/me", Some(json!({"email_alerts": true}))).await),
        StatusCode::OK
    );
    assert_eq!(seen(&run(&mut marie, "GET", "/api/members", "/api/members", None).await), StatusCode::OK);
    let denise = run(
        &mut marie,
        "POST",
        "/api/members",
        "/api/members",
        Some(json!({"first_name": "Denise", "last_name": "Lambert", "phone": "06 39 98 01 50"})),
    )
    .await;
    assert_eq!(seen(&denise), StatusCode::CREATED);
    let denise = denise.json()["id"].as_str().expect("the new member's id").to_owned();
    let invite = |id: &str| format!("/api/members/{id}/invite");
    let again = run(&mut marie, "POST", "/api/members/{id}/invite", &invite(&denise), None).await;
    assert_eq!(seen(&again), StatusCode::OK);
    assert_eq!(again.json()["invitation"], "sent");
    assert_eq!(
        seen(&run(&mut marie, "POST", "/api/members/{id}/invite", &invite(&denise), None).await),
        StatusCode::TOO_MANY_REQUESTS,
        "once a day"
    );
    assert_eq!(
        seen(&run(&mut lucas, "POST", "/api/members/{id}/invite", &invite(&denise), None).await),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        seen(&run(&mut paul, "POST", "/api/members/{id}/invite", &invite(&denise), None).await),
        StatusCode::NOT_FOUND
    );
    let karim = stack.member("Karim").id.to_string();
    assert_eq!(
        seen(&run(&mut marie, "POST", "/api/members/{id}/invite", &invite(&karim), None).await),
        StatusCode::FORBIDDEN,
        "a confirmed number is not invited"
    );
    assert_eq!(
        seen(&run(&mut marie, "DELETE", "/api/members/{id}", &format!("/api/members/{jeanne}"), None).await),
        StatusCode::NO_CONTENT
    );

    // The errors each operation documents.
    for (method, path, actual) in [
        ("GET", "/api/sms-preview", "/api/sms-preview".to_owned()),
        ("GET", "/api/alerts", "/api/alerts".to_owned()),
        ("POST", "/api/alerts", "/api/alerts".to_owned()),
        ("GET", "/api/alerts/{id}", format!("/api/alerts/{alert_id}")),
        ("GET", "/api/me", "/api/me".to_owned()),
        ("PATCH", "/api/me", "/api/me".to_owned()),
        ("POST", "/api/me/phone", "/api/me/phone".to_owned()),
        ("POST", "/api/me/phone/resend", "/api/me/phone/resend".to_owned()),
        ("DELETE", "/api/me/phone/pending", "/api/me/phone/pending".to_owned()),
        ("GET", "/api/members", "/api/members".to_owned()),
        ("POST", "/api/members", "/api/members".to_owned()),
        ("DELETE", "/api/members/{id}", format!("/api/members/{jeanne}")),
        ("POST", "/api/members/{id}/invite", format!("/api/members/{jeanne}/invite")),
    ] {
        assert_eq!(
            seen(&run(&mut anonymous, method, path, &actual, Some(json!({}))).await),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        seen(&run(&mut paul, "GET", "/api/alerts", "/api/alerts?community=les-tilleuls", None).await),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        seen(&run(&mut paul, "GET", "/api/alerts/{id}", &format!("/api/alerts/{alert_id}"), None).await),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        seen(&run(&mut paul, "GET", "/api/members", "/api/members?community=les-tilleuls", None).await),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        seen(
            &run(
                &mut paul,
                "DELETE",
                "/api/members/{id}",
                &format!("/api/members/{}", stack.member("Karim").id),
                None
            )
            .await
        ),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        seen(
            &run(
                &mut lucas,
                "POST",
                "/api/members",
                "/api/members",
                Some(json!({"first_name": "A", "last_name": "B", "phone": "0639980151"}))
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        seen(
            &run(
                &mut lucas,
                "DELETE",
                "/api/members/{id}",
                &format!("/api/members/{}", stack.member("Karim").id),
                None
            )
            .await
        ),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        seen(&run(&mut lucas, "POST", "/api/alerts", "/api/alerts", Some(json!({"text": 3}))).await),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        seen(
            &run(
                &mut lucas,
                "POST",
                "/api/alerts",
                "/api/alerts",
                Some(
                    json!({"category": "other", "text": " ", "submission_id": ulid::Ulid::new().to_string()})
                )
            )
            .await
        ),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // A new number waits for its code, whoever holds it (here Marie: no code comes).
    let patched =
        run(&mut lucas, "PATCH", "/api/me", "/api/me", Some(json!({"phone": "06 39 98 00 01"}))).await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(
        (patched.json()["phone"].clone(), patched.json()["phone_pending"].clone()),
        (json!("+33639980004"), json!("+33639980001"))
    );
    let me_phone = "/api/me/phone";
    assert_eq!(
        seen(&run(&mut lucas, "POST", me_phone, me_phone, Some(json!({"code": "000000"}))).await),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        seen(&run(&mut lucas, "PATCH", "/api/me", "/api/me", Some(json!({"phone": "06 12 34 56 70"}))).await),
        StatusCode::OK
    );
    let code = code_texted_to(&stack, "+33612345670").await.expect("a code");
    let confirmed = run(&mut lucas, "POST", me_phone, me_phone, Some(json!({ "code": code }))).await;
    assert_eq!(confirmed.status, StatusCode::OK);
    assert_eq!(
        (confirmed.json()["phone"].clone(), confirmed.json()["phone_pending"].clone()),
        (json!("+33612345670"), Value::Null)
    );
    assert_eq!(
        seen(&run(&mut lucas, "POST", me_phone, me_phone, Some(json!({ "code": code }))).await),
        StatusCode::GONE
    );
    let resend = "/api/me/phone/resend";
    assert_eq!(seen(&run(&mut lucas, "POST", resend, resend, None).await), StatusCode::CONFLICT);
    assert_eq!(
        seen(&run(&mut lucas, "PATCH", "/api/me", "/api/me", Some(json!({"phone": "06 12 34 56 71"}))).await),
        StatusCode::OK
    );
    assert_eq!(
        seen(&run(&mut lucas, "POST", resend, resend, None).await),
        StatusCode::TOO_MANY_REQUESTS,
        "a fourth code this hour"
    );
    assert_eq!(
        seen(&run(&mut marie, "PATCH", "/api/me", "/api/me", Some(json!({"phone": "06 12 34 56 72"}))).await),
        StatusCode::OK
    );
    assert_eq!(seen(&run(&mut marie, "POST", resend, resend, None).await), StatusCode::OK);
    let pending = "/api/me/phone/pending";
    let cancelled = run(&mut marie, "DELETE", pending, pending, None).await;
    assert_eq!((cancelled.status, cancelled.json()["phone_pending"].clone()), (StatusCode::OK, Value::Null));
    assert_eq!(
        seen(&run(&mut lucas, "PATCH", "/api/me", "/api/me", Some(json!({"phone": "12"}))).await),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        seen(&run(&mut lucas, "PATCH", "/api/me", "/api/me", Some(json!({"colour": "blue"}))).await),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        seen(
            &run(
                &mut marie,
                "POST",
                "/api/members",
                "/api/members",
                Some(
                    json!({"first_name": "Paulette", "last_name": "Roux", "email": "paul.roux@example.org"})
                )
            )
            .await
        ),
        StatusCode::CREATED,
        "an address already registered is answered as any (docs/consent.md)"
    );
    assert_eq!(
        seen(
            &run(
                &mut marie,
                "POST",
                "/api/members",
                "/api/members",
                Some(json!({"first_name": "Zoé", "last_name": "Z"}))
            )
            .await
        ),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    for _ in 0..stack.config.alerts_per_hour {
        let body =
            json!({"category": "other", "text": "Encore", "submission_id": ulid::Ulid::new().to_string()});
        lucas.api(Method::POST, "/api/alerts", Some(body)).await;
    }
    let body =
        json!({"category": "other", "text": "Une de trop", "submission_id": ulid::Ulid::new().to_string()});
    assert_eq!(
        seen(&run(&mut lucas, "POST", "/api/alerts", "/api/alerts", Some(body)).await),
        StatusCode::TOO_MANY_REQUESTS
    );
    // The town hall's desk.
    let mut helene = WebClient::new(&stack);
    helene.sign_in(&stack, "Hélène").await;
    let town = "/api/town";
    assert_eq!(seen(&run(&mut helene, "GET", town, town, None).await), StatusCode::OK);
    assert_eq!(seen(&run(&mut lucas, "GET", town, town, None).await), StatusCode::FORBIDDEN);
    let create = "/api/town/communities";
    let named = |name: &str| Some(json!({ "name": name }));
    assert_eq!(seen(&run(&mut helene, "POST", create, create, named("La Gare")).await), StatusCode::CREATED);
    assert_eq!(seen(&run(&mut helene, "POST", create, create, named("la gare")).await), StatusCode::CONFLICT);
    assert_eq!(
        seen(&run(&mut helene, "POST", create, create, named("")).await),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let one = "/api/town/communities/{id}";
    assert_eq!(
        seen(&run(&mut helene, "GET", one, "/api/town/communities/les-tilleuls", None).await),
        StatusCode::OK
    );
    assert_eq!(
        seen(&run(&mut helene, "GET", one, "/api/town/communities/nulle-part", None).await),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        seen(
            &run(&mut helene, "PATCH", one, "/api/town/communities/la-gare", named("Quartier de la Gare"))
                .await
        ),
        StatusCode::OK
    );
    let referent = "/api/town/communities/{id}/referents/{member}";
    let karim_referent = format!("/api/town/communities/les-tilleuls/referents/{karim}");
    for (method, status) in [
        ("PUT", StatusCode::NO_CONTENT),
        ("PUT", StatusCode::CONFLICT),
        ("DELETE", StatusCode::NO_CONTENT),
        ("DELETE", StatusCode::CONFLICT),
    ] {
        assert_eq!(
            seen(&run(&mut helene, method, referent, &karim_referent, None).await),
            status,
            "{method}"
        );
    }

    // A wrong anti-CSRF token.
    lucas.csrf = Some("0".repeat(64));
    assert_eq!(
        seen(&run(&mut lucas, "PATCH", "/api/me", "/api/me", Some(json!({}))).await),
        StatusCode::FORBIDDEN
    );
}
