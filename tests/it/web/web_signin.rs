//! Signing in on the web: the emailed one-time link, the session cookie, signing out, and the
//! anti-CSRF checks. The web function's router is called in-process, on a private emulator.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use vigie::model::TokenHash;
use vigie::ports::Sessions;
use vigie_tests::Stack;
use vigie_tests::web_client::{WebClient, signin_path};

#[tokio::test]
async fn the_emailed_link_signs_in_once_with_a_safe_cookie() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);

    // Not signed in: the home page sends to the sign-in form.
    let home = web.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), Some("/signin"));

    let form = web.get("/signin").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"lang="fr""#));
    let csrf_cookie =
        form.set_cookie("__Host-vigie_csrf").expect("the anonymous form's double-submit cookie");
    assert!(csrf_cookie.contains("HttpOnly") && csrf_cookie.contains("SameSite=Lax"), "{csrf_cookie}");

    let sent =
        web.post("/signin", &[("csrf", &form.csrf()), ("email", "  Marie.Lefevre@Example.org ")]).await;
    assert_eq!(sent.status, StatusCode::OK);
    assert!(sent.body.contains("15 minutes"), "{}", sent.body);

    // The email: subject, link, validity.
    let outbox = stack.outbox().await;
    let marie = stack.email("Marie");
    let mail = outbox.emails_to(&marie).next().expect("the link is emailed");
    assert_eq!(mail.subject, "Votre lien de connexion vigie");
    assert!(mail.text.as_deref().unwrap_or("").contains("15 minutes"));
    assert!(mail.html.as_deref().unwrap_or("").contains("https://vigie.example.org/signin/"));
    let path = signin_path(&stack, &stack.email("Marie")).await.unwrap();
    assert_eq!(path.len(), "/signin/".len() + 64);

    // Opening the link uses nothing up (mail scanners fetch links): it shows a button.
    let page = web.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Me connecter"), "{}", page.body);
    let again = web.get(&path).await;
    assert_eq!(again.status, StatusCode::OK);

    let signed = web.post(&path, &[("csrf", &page.csrf())]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert_eq!(signed.location(), Some("/"));
    let cookie = signed.set_cookie("__Host-vigie_session").expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/;", "Max-Age=2592000"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    // The cookie is a random secret, stored only as its hash.
    let token = web.cookie("__Host-vigie_session").unwrap().to_owned();
    assert_eq!(token.len(), 64);
    let session =
        stack.store().session(&TokenHash::of(&token)).await.unwrap().expect("stored under its hash");
    assert_eq!(session.member_id, stack.member("Marie").id);

    let feed = web.get("/").await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(feed.body.contains("Marie") && feed.body.contains("Les Tilleuls"), "{}", feed.body);
    assert_eq!(feed.header("cache-control"), Some("no-store"));

    // The link works once.
    let mut other = WebClient::new(&stack);
    let used = other.use_link(&path).await;
    assert_eq!(used.status, StatusCode::GONE);
    assert!(used.body.contains("Lien expiré ou déjà utilisé"), "{}", used.body);
    assert!(used.set_cookie("__Host-vigie_session").is_none());
}

#[tokio::test]
async fn an_unknown_address_gets_the_very_same_answer_and_no_email() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    let known = web.ask_link(&stack.email("Paul")).await;
    let unknown = web.ask_link("personne@example.org").await;
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.body, unknown.body, "the page never tells whether an address is registered");
    assert_eq!(known.set_cookies(), unknown.set_cookies());
    let outbox = stack.outbox().await;
    assert_eq!(outbox.emails.len(), 1, "only Paul gets an email");
    assert_eq!(outbox.emails_to("personne@example.org").count(), 0);

    // A malformed address is said so (that tells nothing about who is registered).
    let malformed = web.ask_link("not an address").await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(malformed.body.contains("n&#39;est pas valide") || malformed.body.contains("n'est pas valide"));
    assert!(malformed.body.contains(r#"value="not an address""#), "the form keeps what was typed");
}

#[tokio::test]
async fn the_timing_of_a_link_request_has_a_floor() {
    let stack = Stack::demo().await;
    let state = stack.web_state(Duration::from_millis(300));
    let mut web = WebClient::with_router(web::router(state));
    let started = std::time::Instant::now();
    web.ask_link("personne@example.org").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn link_requests_are_limited_per_address() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    for _ in 0..7 {
        let reply = web.ask_link(&stack.email("Chloé")).await;
        assert_eq!(reply.status, StatusCode::OK, "the same answer, limited or not");
    }
    assert_eq!(stack.outbox().await.emails_to(&stack.email("Chloé")).count(), 5, "5 links per hour");
    // Another address is not affected.
    web.ask_link(&stack.email("Lucas")).await;
    assert_eq!(stack.outbox().await.emails_to(&stack.email("Lucas")).count(), 1);
}

#[tokio::test]
async fn an_expired_link_is_refused_with_a_clear_page() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);
    let token = "e".repeat(64);
    stack
        .store()
        .put_signin_link(&TokenHash::of(&token), stack.member("Karim").id, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let reply = web.use_link(&format!("/signin/{token}")).await;
    assert_eq!(reply.status, StatusCode::GONE);
    assert!(reply.body.contains("15 minutes"), "{}", reply.body);
    assert!(reply.body.contains("/signin"), "offers a new link");
    assert!(web.cookie("__Host-vigie_session").is_none());

    // A token that was never issued, or is not even a token.
    let forged = web.use_link(&format!("/signin/{}", "0".repeat(64))).await;
    assert_eq!(forged.status, StatusCode::GONE);
    assert_eq!(web.get("/signin/nope").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_forged_cookie_is_anonymous_and_signing_out_ends_the_session() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);

    web.set_cookie("__Host-vigie_session", &"a".repeat(64));
    let page = web.get("/settings").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/signin"));
    let api = web.get("/api/sms-preview?text=x").await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert_eq!(api.json()["error"], "signed_out");
    web.set_cookie("__Host-vigie_session", "<script>");
    assert_eq!(web.get("/").await.status, StatusCode::SEE_OTHER);

    web.forget_cookies();
    web.sign_in(&stack, "Karim").await;
    let token = web.cookie("__Host-vigie_session").unwrap().to_owned();
    let feed = web.get("/").await;
    assert_eq!(feed.status, StatusCode::OK);

    // Signing out needs the session's anti-CSRF token.
    assert_eq!(web.post("/signout", &[]).await.status, StatusCode::FORBIDDEN);
    let out = web.post("/signout", &[("csrf", &feed.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), Some("/signin?out=1"));
    assert!(out.set_cookie("__Host-vigie_session").unwrap().contains("Max-Age=0"));
    assert!(stack.store().session(&TokenHash::of(&token)).await.unwrap().is_none());

    // The old cookie, replayed, is worth nothing.
    web.set_cookie("__Host-vigie_session", &token);
    assert_eq!(web.get("/").await.status, StatusCode::SEE_OTHER);
    let signed_out = web.get("/signin?out=1").await;
    assert!(signed_out.body.contains("Vous êtes déconnecté"));
}

#[tokio::test]
async fn state_changing_forms_need_their_anti_csrf_token() {
    let stack = Stack::demo().await;
    let mut web = WebClient::new(&stack);

    // Anonymous forms: the double-submit cookie and the field must match.
    let form = web.get("/signin").await;
    let csrf = form.csrf();
    assert_eq!(web.post("/signin", &[("email", "a@example.org")]).await.status, StatusCode::FORBIDDEN);
    let wrong = "f".repeat(64);
    assert_eq!(
        web.post("/signin", &[("csrf", &wrong), ("email", "a@example.org")]).await.status,
        StatusCode::FORBIDDEN
    );
    let mut no_cookie = WebClient::new(&stack);
    let reply = no_cookie.post("/signin", &[("csrf", &csrf), ("email", &stack.email("Marie"))]).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.body.contains("Formulaire expiré"), "{}", reply.body);
    assert_eq!(stack.outbox().await.emails.len(), 0);

    // A sign-in link pressed from another site (no double-submit cookie) opens no session.
    web.ask_link(&stack.email("Marie")).await;
    let path = signin_path(&stack, &stack.email("Marie")).await.unwrap();
    let mut forger = WebClient::new(&stack);
    assert_eq!(forger.post(&path, &[("csrf", &csrf)]).await.status, StatusCode::FORBIDDEN);

    // Signed-in forms: the session's token.
    web.use_link(&path).await;
    let settings = web.get("/settings").await;
    let fields = [("first_name", "Pirate"), ("phone", ""), ("email_alerts", "on")];
    assert_eq!(web.post("/settings", &fields).await.status, StatusCode::FORBIDDEN);
    let mut with_wrong = fields.to_vec();
    with_wrong.push(("csrf", &wrong));
    assert_eq!(web.post("/settings", &with_wrong).await.status, StatusCode::FORBIDDEN);
    let mut with_other = fields.to_vec();
    with_other.push(("csrf", &csrf));
    assert_eq!(
        web.post("/settings", &with_other).await.status,
        StatusCode::FORBIDDEN,
        "the anonymous token is not the session's"
    );
    let alert = [("category", "other"), ("text", "Test"), ("submission", "web-01J00000000000000000000000")];
    assert_eq!(web.post("/alerts", &alert).await.status, StatusCode::FORBIDDEN);
    assert_eq!(web.post("/alerts/confirm", &alert).await.status, StatusCode::FORBIDDEN);
    let first_name = vigie::ports::MemberLookup::member(stack.store(), stack.member("Marie").id)
        .await
        .unwrap()
        .unwrap()
        .first_name;
    assert_eq!(first_name.as_str(), "Marie", "nothing changed");
    assert!(settings.csrf().len() == 64);
}

#[tokio::test]
async fn under_cargo_lambda_every_link_carries_the_base_path() {
    let stack =
        Stack::start_with(|c| c.public_base_url = "http://127.0.0.1:9000/lambda-url/web".into()).await;
    let mut stack = stack;
    stack.seed(vigie_tests::DEMO_SEED).await;
    let mut web = WebClient::new(&stack);

    // `cargo lambda watch` passes the path without its prefix; a plain server with it.
    for path in ["/signin", "/lambda-url/web/signin"] {
        let form = web.get(path).await;
        assert_eq!(form.status, StatusCode::OK, "{path}");
        assert!(form.body.contains(r#"action="/lambda-url/web/signin""#), "{}", form.body);
        assert!(form.body.contains(r#"href="/lambda-url/web/static/app.css""#));
    }
    let home = web.get("/lambda-url/web/").await;
    assert_eq!(home.location(), Some("/lambda-url/web/signin"));
    assert_eq!(web.get("/lambda-url/web/static/app.css").await.status, StatusCode::OK);

    let reply = web.sign_in(&stack, "Paul").await;
    assert_eq!(reply.location(), Some("/lambda-url/web/"));
    // Served under a path over plain http: a `__Host-` name could not hold, so the plain one.
    let cookie = reply.set_cookie("vigie_session").unwrap();
    assert!(cookie.contains("Path=/lambda-url/web;"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http on this machine: no Secure flag ({cookie})");
    let mail = stack.outbox().await.emails_to(&stack.email("Paul")).last().unwrap().text.clone().unwrap();
    assert!(mail.contains("http://127.0.0.1:9000/lambda-url/web/signin/"), "{mail}");

    let feed = web.send(Method::GET, "/lambda-url/web/", &[], None).await;
    assert_eq!(feed.status, StatusCode::OK);
    assert!(feed.body.contains(r#"href="/lambda-url/web/alerts/new""#));
}
