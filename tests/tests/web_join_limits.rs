//! The public join form takes at most `JOIN_REQUESTS_PER_IP_PER_HOUR` requests an hour from one
//! source address, the sign-in form `SIGNIN_LINKS_PER_IP_PER_HOUR`: the address API Gateway saw
//! (`requestContext.http.sourceIp`), never a header the client writes. Requests reach the web function as on Lambda: an API Gateway HTTP API
//! event (payload 2.0) turned into a request by `lambda_http`, answered by the router in-process.

use std::time::Duration;

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;
use vigie::ports::Membership;
use vigie_tests::web_client::{Reply, field_value};
use vigie_tests::{DEMO_SEED, Stack};

/// The event API Gateway sends the function for a request from `source_ip`.
fn gateway_event(
    method: &str,
    path: &str,
    source_ip: &str,
    headers: &[(&str, &str)],
    cookies: &[String],
    body: Option<String>,
) -> Value {
    let mut all_headers = json!({ "host": "vigie.example.org", "user-agent": "test" });
    for (name, value) in headers {
        all_headers[*name] = json!(value);
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "cookies": cookies,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "vigieapi",
            "domainName": "vigie.example.org",
            "domainPrefix": "vigie",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": "test"
            },
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Nov/2026:09:30:00 +0000",
            "timeEpoch": 1_793_525_400_000_i64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// Someone at `source_ip` with the join form open (its anti-CSRF cookie and field).
struct Visitor {
    router: axum::Router,
    source_ip: String,
    cookies: Vec<String>,
    csrf: String,
}

impl Visitor {
    async fn call(&self, event: Value) -> Reply {
        let request = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event");
        let response = self
            .router
            .clone()
            .oneshot(request.map(axum::body::Body::new))
            .await
            .expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 4 * 1024 * 1024).await.expect("a body");
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn arrive(router: &axum::Router, source_ip: &str) -> Visitor {
        Self::open(router, source_ip, "/join").await
    }

    /// Someone at `source_ip` with the form of `path` open.
    async fn open(router: &axum::Router, source_ip: &str, path: &str) -> Visitor {
        let mut visitor = Visitor {
            router: router.clone(),
            source_ip: source_ip.to_owned(),
            cookies: Vec::new(),
            csrf: String::new(),
        };
        let form = visitor.call(gateway_event("GET", path, source_ip, &[], &[], None)).await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.body);
        visitor.cookies = form
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect();
        visitor.csrf = field_value(&form.body, "csrf").expect("the form's csrf field");
        visitor
    }

    /// Sends the form for `first_name` (a contact of their own), with extra `headers`.
    async fn ask(&self, first_name: &str, headers: &[(&str, &str)]) -> Reply {
        let email = format!("{}@example.net", first_name.to_lowercase());
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("csrf", self.csrf.as_str()),
                ("town", "Bellerive"),
                ("community", "les-tilleuls"),
                ("first_name", first_name),
                ("last_name", "Martin"),
                ("email", email.as_str()),
            ])
            .finish();
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.call(gateway_event("POST", "/join", &self.source_ip, &all, &self.cookies, Some(body))).await
    }

    /// Asks for a sign-in link for `email`.
    async fn sign_in(&self, email: &str) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("csrf", self.csrf.as_str()), ("email", email)])
            .finish();
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        self.call(gateway_event("POST", "/signin", &self.source_ip, &headers, &self.cookies, Some(body)))
            .await
    }
}

async fn stack_with_limit(per_hour: u32) -> (Stack, axum::Router) {
    let mut stack = Stack::start_with(|c| c.join_requests_per_ip_per_hour = per_hour).await;
    stack.seed(DEMO_SEED).await;
    let state = stack.web_state(Duration::ZERO);
    let router = web::router(state);
    (stack, router)
}

#[tokio::test]
async fn join_requests_are_limited_per_source_address_whatever_the_headers_say() {
    let log_file = std::env::temp_dir().join(format!("vigie-web-join-limits-{}.log", std::process::id()));
    // The process-wide subscriber: a thread's own (`set_default`) misses events while another
    // test runs.
    tracing_subscriber::fmt()
        .with_env_filter("info")
        .with_writer(std::fs::File::create(&log_file).unwrap())
        .with_ansi(false)
        .init();
    let (stack, router) = stack_with_limit(3).await;
    let tilleuls = "les-tilleuls".parse().unwrap();

    // Three requests from one address, each claiming another one in X-Forwarded-For (API
    // Gateway only appends to that header: the client writes the start of it).
    let visitor = Visitor::arrive(&router, "203.0.113.7").await;
    for (i, name) in ["Alice", "Bruno", "Camille"].into_iter().enumerate() {
        let spoofed = format!("198.51.100.{i}");
        let sent = visitor.ask(name, &[("x-forwarded-for", &format!("{spoofed}, 203.0.113.7"))]).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
        assert!(sent.body.contains("Demande envoyée"), "{}", sent.body);
    }
    let refused = visitor.ask("Dominique", &[("x-forwarded-for", "192.0.2.99")]).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert!(refused.body.contains("Trop de demandes"), "{}", refused.body);
    assert!(
        refused.body.contains("depuis votre connexion au cours de la dernière heure"),
        "the refusal says why, in French: {}",
        refused.body
    );
    // The same address with a fresh form (new cookie): still refused.
    let again = Visitor::arrive(&router, "203.0.113.7").await;
    assert_eq!(again.ask("Dominique", &[]).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        stack.store().join_requests(&tilleuls).await.unwrap().len(),
        3,
        "the refused ones are not stored"
    );

    // Another address has its own budget.
    let neighbour = Visitor::arrive(&router, "198.51.100.1").await;
    assert_eq!(neighbour.ask("Dominique", &[]).await.status, StatusCode::OK);

    let logs = std::fs::read_to_string(&log_file).unwrap();
    let _ = std::fs::remove_file(&log_file);
    assert!(logs.contains("203.0.113.*"), "the refusal is logged, its address masked:\n{logs}");
    assert!(!logs.contains("203.0.113.7"), "an address in full in the logs:\n{logs}");
}

#[tokio::test]
async fn an_ipv6_client_counts_by_its_64() {
    let (stack, router) = stack_with_limit(2).await;
    let home = Visitor::arrive(&router, "2001:db8:1:2::10").await;
    for name in ["Alice", "Bruno"] {
        assert_eq!(home.ask(name, &[]).await.status, StatusCode::OK);
    }
    // Another address of the same /64: the same home, the same budget.
    let same_home = Visitor::arrive(&router, "2001:db8:1:2:ffff:ffff:ffff:ffff").await;
    assert_eq!(same_home.ask("Camille", &[]).await.status, StatusCode::TOO_MANY_REQUESTS);
    // The next /64 is someone else.
    let elsewhere = Visitor::arrive(&router, "2001:db8:1:3::10").await;
    assert_eq!(elsewhere.ask("Camille", &[]).await.status, StatusCode::OK);
    let tilleuls = "les-tilleuls".parse().unwrap();
    assert_eq!(stack.store().join_requests(&tilleuls).await.unwrap().len(), 3);
}

#[tokio::test]
async fn sign_in_links_are_limited_per_network_whatever_the_addresses() {
    // One network spraying addresses (to find out which are members', or to flood them): each
    // address is within its own 5 links an hour, the network is not.
    let mut stack = Stack::start_with(|c| c.signin_links_per_ip_per_hour = 3).await;
    stack.seed(DEMO_SEED).await;
    let router = web::router(stack.web_state(Duration::ZERO));
    let member = "marie.lefevre@example.org";
    let sprayer = Visitor::open(&router, "203.0.113.9", "/signin").await;
    for email in ["inconnu1@example.net", "inconnu2@example.net", "karim.benali@example.org"] {
        let sent = sprayer.sign_in(email).await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    }
    // The fourth, a member's address: refused before it is read, and the page says why (which
    // tells nothing of the address: the same for a stranger's).
    let refused = sprayer.sign_in(member).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.body);
    assert!(
        refused.body.contains("depuis votre connexion au cours de la dernière heure"),
        "{}",
        refused.body
    );
    let stranger = sprayer.sign_in("inconnu3@example.net").await;
    assert_eq!((stranger.status, stranger.body.len()), (refused.status, refused.body.len()));
    let emails = |outbox: &infra::outbox::Outbox, to: &str| {
        outbox.emails.iter().filter(|e| e.to.iter().any(|t| t == to)).count()
    };
    let outbox = stack.outbox().await;
    assert_eq!(emails(&outbox, "karim.benali@example.org"), 1, "the member within the budget got a link");
    assert_eq!(emails(&outbox, member), 0, "nothing sent past the network's budget");
    // Marie, at home on another network, gets her link.
    let marie = Visitor::open(&router, "198.51.100.20", "/signin").await;
    assert_eq!(marie.sign_in(member).await.status, StatusCode::OK);
    assert_eq!(emails(&stack.outbox().await, member), 1);
}
