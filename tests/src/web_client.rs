//! A small in-process client for the web function's router: requests go straight into the
//! router (`tower::ServiceExt::oneshot`), cookies are kept as a browser would, and the sign-in
//! link is read from what the emulator emailed.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use tower::ServiceExt;

use crate::Stack;

/// An answer of the web function, body read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Where a redirect points.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect()
    }

    /// The `Set-Cookie` of cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies().into_iter().find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value of the first form field named `name` (an `<input>` or a `<textarea>`).
    pub fn field(&self, name: &str) -> Option<String> {
        field_value(&self.body, name)
    }

    /// The anti-CSRF field of the page's first form.
    pub fn csrf(&self) -> String {
        self.field("csrf").expect("a form with a csrf field")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// The value of form field `name` in `html` (entities of the attribute decoded).
pub fn field_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let at = html.find(&marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag = &html[tag_start..];
    if tag.starts_with("<textarea") {
        let open_end = tag.find('>')?;
        let close = tag.find("</textarea>")?;
        return Some(unescape(&tag[open_end + 1..close]));
    }
    let tag_end = tag.find('>')?;
    let tag = &tag[..tag_end];
    let value_at = tag.find("value=\"")? + "value=\"".len();
    let value_end = tag[value_at..].find('"')? + value_at;
    Some(unescape(&tag[value_at..value_end]))
}

/// Decodes the entities askama writes.
pub fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Stack {
    /// The web function's state as `main.rs` wires it, over this stack with the web function's
    /// own rights, a sign-in request taking at least `signin_floor`.
    pub fn web_state(&self, signin_floor: Duration) -> web::AppState {
        let adapters = self.adapters_of(crate::WEB);
        web::AppState::with_signin_floor(
            adapters.store,
            adapters.mailer,
            adapters.replier,
            self.config.clone(),
            signin_floor,
        )
    }
}

/// A browser-like client of one router: it keeps the cookies the pages set.
pub struct WebClient {
    router: axum::Router,
    cookies: BTreeMap<String, String>,
    /// Extra headers on every request (`Accept-Language`...).
    pub default_headers: Vec<(String, String)>,
    /// The session's anti-CSRF token, for [`WebClient::api`].
    pub csrf: Option<String>,
}

impl WebClient {
    /// The web function of `stack` (sign-in answers without their minimum duration).
    pub fn new(stack: &Stack) -> Self {
        Self::with_router(web::router(stack.web_state(Duration::ZERO)))
    }

    pub fn with_router(router: axum::Router) -> Self {
        Self { router, cookies: BTreeMap::new(), default_headers: Vec::new(), csrf: None }
    }

    /// The cookie the client holds, if any.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    pub fn forget_cookies(&mut self) {
        self.cookies.clear();
        self.csrf = None;
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], None).await
    }

    /// Posts an urlencoded form.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        self.send(Method::POST, path, &[("content-type", "application/x-www-form-urlencoded")], Some(body))
            .await
    }

    /// Sends a request with the client's cookies and default headers, then keeps the cookies
    /// the answer sets.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in
            self.default_headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).chain(headers.iter().copied())
        {
            request = request.header(name, value);
        }
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header(header::COOKIE, jar.join("; "));
        }
        let request = request.body(body.map_or_else(Body::empty, Body::from)).expect("a request");
        let response = self.router.clone().oneshot(request).await.expect("the router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 4 * 1024 * 1024).await.expect("a body");
        let reply = Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() };
        for cookie in reply.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                if cookie.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        reply
    }

    /// A JSON request to the API, with the session's anti-CSRF token in `X-CSRF-Token` (read
    /// from `GET /api/me` the first time).
    pub async fn api(&mut self, method: Method, path: &str, body: Option<serde_json::Value>) -> Reply {
        if self.csrf.is_none() {
            let me = self.get("/api/me").await;
            if me.status == StatusCode::OK {
                self.csrf = me.json()["csrf"].as_str().map(str::to_owned);
            }
        }
        let csrf = self.csrf.clone().unwrap_or_default();
        let mut headers = vec![("accept", "application/json"), ("x-csrf-token", csrf.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        self.send(method, path, &headers, body.map(|b| b.to_string())).await
    }

    /// Asks for a sign-in link for `email` through the form; answers the page.
    pub async fn ask_link(&mut self, email: &str) -> Reply {
        let form = self.get("/signin").await;
        let csrf = form.csrf();
        self.post("/signin", &[("csrf", &csrf), ("email", email)]).await
    }

    /// Signs in as `first_name` of the stack's seed, the way a person does: asks for a link,
    /// opens the newest one emailed to them, presses the button.
    pub async fn sign_in(&mut self, stack: &Stack, first_name: &str) -> Reply {
        let email = stack.email(first_name);
        let reply = self.ask_link(&email).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let path = signin_path(stack, &email).await.expect("a sign-in link was emailed");
        self.use_link(&path).await
    }

    /// Opens a sign-in link (its path) and presses the button.
    pub async fn use_link(&mut self, path: &str) -> Reply {
        let page = self.get(path).await;
        let csrf = page.field("csrf").unwrap_or_default();
        self.csrf = None;
        self.post(path, &[("csrf", &csrf)]).await
    }
}

/// The path (`/signin/<token>`) of the newest sign-in link emailed to `email`.
pub async fn signin_path(stack: &Stack, email: &str) -> Option<String> {
    let outbox = stack.outbox().await;
    let mail = outbox.emails_to(email).filter(|m| m.subject.contains("connexion")).last()?;
    let text = mail.text.as_deref()?;
    let base = format!("{}/signin/", stack.config.public_base_url);
    let start = text.find(&base)?;
    let token: String = text[start + base.len()..].chars().take_while(char::is_ascii_hexdigit).collect();
    Some(format!("/signin/{token}"))
}

/// The code of the newest confirmation SMS texted to `number` (E.164): the first run of exactly
/// six digits in it, as a person reads it.
pub async fn code_texted_to(stack: &Stack, number: &str) -> Option<String> {
    let outbox = stack.outbox().await;
    let sms = outbox.sms_to(number).filter(|sms| sms.body.contains("code de confirmation")).last()?;
    sms.body.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() == 6).map(str::to_owned)
}

impl WebClient {
    /// Types on the settings page the code texted to `number` (E.164), as its owner would:
    /// answers the page's reply (a redirect when the number is confirmed).
    pub async fn confirm_number(&mut self, stack: &Stack, number: &str) -> Reply {
        let code = code_texted_to(stack, number).await.expect("a confirmation code was texted");
        let page = self.get("/settings").await;
        let csrf = page.csrf();
        self.post("/settings/phone", &[("csrf", &csrf), ("code", &code)]).await
    }
}
