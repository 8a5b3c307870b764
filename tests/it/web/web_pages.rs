//! What every page of the web function shares: security headers, the language, static files,
//! error pages.

use axum::http::{Method, StatusCode};
use vigie_tests::Stack;
use vigie_tests::web_client::WebClient;

fn assert_secure(reply: &vigie_tests::web_client::Reply, what: &str) {
    let csp = reply.header("content-security-policy").unwrap_or_else(|| panic!("CSP on {what}"));
    for directive in
        ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"]
    {
        assert!(csp.contains(directive), "{directive} in the CSP of {what}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{what}: {csp}");
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{what}");
    assert_eq!(reply.header("referrer-policy"), Some("same-origin"), "{what}");
    assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{what}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    for path in ["/signin", "/", "/nope", "/static/app.css", "/health", "/api/sms-preview"] {
        let reply = web.get(path).await;
        assert_secure(&reply, path);
    }
    web.sign_in(&stack, "Marie").await;
    for path in ["/", "/alerts/new", "/settings", "/api/sms-preview?text=a"] {
        let reply = web.get(path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_secure(&reply, path);
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{path} is never cached");
    }
    let post = web.post("/alerts/confirm", &[]).await;
    assert_eq!(post.status, StatusCode::FORBIDDEN);
    assert_secure(&post, "a refused POST");
    // No inline script anywhere: the one script is a file of the site.
    let page = web.get("/alerts/new").await;
    assert_eq!(page.body.matches("<script").count(), 1);
    assert!(page.body.contains(r#"<script src="/static/app.js" defer></script>"#));
    assert!(!page.body.contains(" style=") && !page.body.contains("onclick"));
}

#[tokio::test]
async fn pages_are_french_by_default_and_english_when_asked() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    let french = web.get("/signin").await;
    assert!(french.body.contains(r#"<html lang="fr">"#));
    assert!(french.body.contains("Recevoir un lien de connexion"));
    assert!(french.body.contains(r#"href="/lang/en?next=%2Fsignin""#), "{}", french.body);

    web.default_headers.push(("accept-language".into(), "en-GB,en;q=0.9,fr;q=0.5".into()));
    let english = web.get("/signin").await;
    assert!(english.body.contains(r#"<html lang="en">"#));
    assert!(english.body.contains("Email me a sign-in link"));
    assert!(english.body.contains(r#"lang="fr" hreflang="fr">Lire en français</a>"#), "{}", english.body);

    // The switch remembers the choice over the browser's preference, and goes back.
    let switched = web.get("/lang/fr?next=%2Fsignin").await;
    assert_eq!(switched.status, StatusCode::SEE_OTHER);
    assert_eq!(switched.location(), Some("/signin"));
    assert!(switched.set_cookie("lang").unwrap().starts_with("lang=fr;"));
    assert!(web.get("/signin").await.body.contains(r#"<html lang="fr">"#));
    // Never a redirect off the site.
    assert_eq!(web.get("/lang/en?next=%2F%2Fevil.example").await.location(), Some("/"));
    assert_eq!(web.get("/lang/de").await.status, StatusCode::NOT_FOUND);

    // Signed in, in English: the pages, the categories, the times, the error pages.
    web.forget_cookies();
    web.sign_in(&stack, "Karim").await;
    stack.text(&stack.phone("Marie"), "Cat found near the bakery").await;
    let feed = web.get("/").await;
    assert!(feed.body.contains("Raise an alert") && feed.body.contains("My settings"), "{}", feed.body);
    assert!(feed.body.contains("Sending…"), "{}", feed.body);
    let form = web.get("/alerts/new").await;
    assert!(form.body.contains("Lost or found animal"));
    let missing = web.get("/nowhere").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Page not found"));
    let preview = web.get("/api/sms-preview?text=Hello").await.json();
    assert_eq!(preview["summary"], "5 characters of 1000 · 1 text");
}

#[tokio::test]
async fn static_files_and_health() {
    let stack = Stack::start().await;
    let mut web = WebClient::new(&stack);
    let css = web.get("/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.header("cache-control").unwrap().contains("max-age"));
    assert!(css.body.contains(":focus-visible"));
    let js = web.get("/static/app.js").await;
    assert_eq!(js.header("content-type"), Some("text/javascript; charset=utf-8"));
    assert!(js.body.contains("/api/sms-preview") || js.body.contains("data-preview-url"));
    assert_eq!(web.get("/static/icon.svg").await.status, StatusCode::OK);
    let health = web.get("/health").await;
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, r#"{"status":"ok"}"#));
}

#[tokio::test]
async fn errors_are_pages_and_never_internal_text() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    let missing = web.get("/alerts/nope/nope").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.body.contains("Page introuvable"));
    assert!(missing.body.contains(r#"<html lang="fr">"#));
    let wrong_method = web.send(Method::DELETE, "/settings", &[], None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong_method.body.contains("Demande incorrecte"));
    let api = web.get("/api/nope").await;
    assert_eq!(api.status, StatusCode::NOT_FOUND);
    assert_eq!(api.json(), serde_json::json!({ "error": "not_found" }));

    // The store unreachable (a table the role does not cover: AWS answers AccessDenied): a page
    // that says so, and nothing of the error.
    let mut config = stack.config.clone();
    config.tables.ledger = "no-such-table".into();
    let adapters = stack.adapters_with(vigie_tests::WEB, &config);
    let state = web::AppState::with_signin_floor(
        adapters.store,
        adapters.mailer,
        adapters.replier,
        config,
        std::time::Duration::ZERO,
    );
    let mut broken = WebClient::with_router(web::router(state));
    broken.set_cookie("__Host-vigie_session", &"a".repeat(64));
    let reply = broken.get("/").await;
    assert!(reply.status.is_server_error(), "{}", reply.status);
    assert!(!reply.body.contains("no-such-table") && !reply.body.contains("AccessDenied"), "{}", reply.body);
    assert!(reply.body.contains("appelez le 17"));
    let refused = stack.iam().take_denials();
    assert!(!refused.is_empty());
    assert!(
        refused.iter().all(|d| d.function == "web" && d.resource.ends_with(":table/no-such-table")),
        "{refused:?}"
    );
}
