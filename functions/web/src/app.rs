//! The application state and the router: every page area plugs its routes in here.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use vigie::adapters::{DynamoStore, SesMailer, SnsTexter};
use vigie::app::members::Messengers;
use vigie::config::Config;
use vigie::pace::{PacedMailer, PacedTexter, Rates};

use crate::{api, forms, frame, pages};

/// The web function's mailer: sign-in links wait for their slot of the account's email quota,
/// shared with the fan-out, at most [`SIGNIN_EMAIL_PATIENCE`].
pub type WebMailer = PacedMailer<SesMailer>;

/// The web function's texter: the only texts it sends are the confirmation codes of numbers
/// typed on the page ([`vigie::app::phone`]), from the shared number (so a reply reaches vigie),
/// each waiting for its slots of the shared number's quota, at most [`CODE_SMS_PATIENCE`].
/// Alerts go out from the fan-out.
pub type WebTexter = PacedTexter<SnsTexter>;

/// Where the site lives, derived once from `PUBLIC_BASE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// `PUBLIC_BASE_URL` without its trailing slash: the start of every absolute link (emails).
    pub base_url: String,
    /// Its path (`""` on AWS, `/lambda-url/web` under `cargo lambda watch`): the start of every
    /// link and form action of the pages.
    pub base_path: String,
    /// Cookies get `Secure` unless the site is plain http on this machine.
    pub secure_cookies: bool,
    /// Served over https: responses carry `Strict-Transport-Security`.
    pub https: bool,
    /// `scheme://host[:port]`, lowercase: what a browser's `Origin` header says of the site's
    /// own pages.
    pub origin: String,
}

impl Site {
    pub fn from_base_url(url: &str) -> Self {
        let base_url = url.trim_end_matches('/').to_owned();
        let (scheme, rest) = base_url.split_once("://").unwrap_or(("https", base_url.as_str()));
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let host = match authority.strip_prefix('[') {
            // [::1]:9000
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => authority.split(':').next().unwrap_or(authority),
        };
        let loopback = matches!(host, "127.0.0.1" | "localhost" | "::1");
        let http = scheme.eq_ignore_ascii_case("http");
        let origin = format!("{scheme}://{authority}").to_ascii_lowercase();
        let https = scheme.eq_ignore_ascii_case("https");
        let base_path = path.trim_end_matches('/').to_owned();
        Self { base_path, base_url, secure_cookies: !(http && loopback), https, origin }
    }

    /// Plain http on this machine (`make run`, the tests): the one case without `Secure` cookies.
    pub fn local(&self) -> bool {
        !self.secure_cookies
    }

    /// Whether the secret cookies are named `__Host-…`: over https at the root of the host,
    /// where a browser then refuses them from a sub-domain, over http, or for another path.
    pub fn host_cookies(&self) -> bool {
        self.https && self.base_path.is_empty()
    }

    /// Whether a request whose `Origin` header says `origin` comes from the site's own pages.
    /// On this machine, any loopback name of the same scheme and port (`localhost` for
    /// `127.0.0.1`) is the site too.
    pub fn is_own_origin(&self, origin: &str) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        if origin == self.origin {
            return true;
        }
        self.local() && Site::from_base_url(&origin).local() && port_of(&origin) == port_of(&self.origin)
    }

    /// The `Path` attribute of the site's cookies.
    pub fn cookie_path(&self) -> &str {
        if self.base_path.is_empty() { "/" } else { &self.base_path }
    }

    /// A link to a page of the site (`path` starts with `/`).
    pub fn href(&self, path: &str) -> String {
        format!("{}{path}", self.base_path)
    }

    /// An absolute URL of a page of the site, for emails.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

/// The port of `scheme://host[:port]`, if it says one.
fn port_of(origin: &str) -> Option<&str> {
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    authority.rsplit_once(':').map(|(_, port)| port).filter(|port| port.bytes().all(|b| b.is_ascii_digit()))
}

/// Shared by every request: the store, the mailer, the configuration, where the site lives.
///
/// Concrete on purpose: there is one backend, and the tests run the same one against the
/// emulator (never a fake), so a generic parameter would only be noise in every handler.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: DynamoStore,
    mailer: WebMailer,
    texter: WebTexter,
    config: Config,
    site: Site,
    signin_floor: Duration,
}

/// How long a sign-in email waits for its slot of the email quota: an ordinary send, so while a
/// police alert holds the quota it may not get one; it is then not sent (logged), and the page
/// reads the same as ever (the visitor asks again).
pub const SIGNIN_EMAIL_PATIENCE: Duration = Duration::from_secs(5);

/// How long a confirmation code waits for its slots of the shared number's SMS quota: past it,
/// the page says the code could not be sent yet (the member asks again).
pub const CODE_SMS_PATIENCE: Duration = Duration::from_secs(5);

/// A sign-in request takes at least this long whether or not the address is registered, so its
/// timing does not tell.
pub const SIGNIN_FLOOR: Duration = Duration::from_millis(400);

impl AppState {
    /// The web function as it runs on Lambda: `ses` paced by the account's email quota and `sns`
    /// (from the shared number) by the shared number's SMS quota, both shared through `store`
    /// with every other process.
    pub fn new(store: DynamoStore, ses: SesMailer, sns: SnsTexter, config: Config) -> Self {
        Self::with_signin_floor(store, ses, sns, config, SIGNIN_FLOOR)
    }

    /// As [`AppState::new`], with another minimum duration of a sign-in request.
    pub fn with_signin_floor(
        store: DynamoStore,
        ses: SesMailer,
        sns: SnsTexter,
        config: Config,
        signin_floor: Duration,
    ) -> Self {
        let rate = Rates::shared(&store, &config).email;
        let mailer = PacedMailer::new(ses, rate, SIGNIN_EMAIL_PATIENCE);
        let texter = PacedTexter::new(sns, Rates::replies(&store, &config), CODE_SMS_PATIENCE);
        let site = Site::from_base_url(&config.public_base_url);
        Self { inner: Arc::new(Inner { store, mailer, texter, config, site, signin_floor }) }
    }

    pub fn store(&self) -> &DynamoStore {
        &self.inner.store
    }

    pub fn mailer(&self) -> &WebMailer {
        &self.inner.mailer
    }

    pub fn texter(&self) -> &WebTexter {
        &self.inner.texter
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// How the referent's use cases reach the people they invite.
    pub fn messengers(&self) -> Messengers<'_, WebTexter, WebMailer> {
        Messengers {
            texter: self.texter(),
            mailer: self.mailer(),
            countries: &self.config().sms_countries,
            from: &self.config().sender_email,
            settings_url: self.site().url("/settings"),
        }
    }

    pub fn site(&self) -> &Site {
        &self.inner.site
    }

    pub fn signin_floor(&self) -> Duration {
        self.inner.signin_floor
    }
}

/// The whole web function: pages, API and static files, behind the frame (base path, language,
/// error pages, security headers).
pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(pages::assets::routes())
        .merge(pages::signin::routes())
        .merge(pages::feed::routes())
        .merge(pages::alerts::routes())
        .merge(pages::settings::routes())
        .merge(pages::members::routes())
        .merge(pages::admin::routes())
        .merge(pages::police::routes())
        .merge(pages::town::routes())
        .merge(pages::privacy::routes())
        .merge(pages::my_data::routes())
        .merge(pages::join::routes())
        .merge(pages::unsubscribe::routes())
        .merge(pages::lang::routes())
        .merge(api::routes())
        .fallback(frame::not_found)
        // No body is read past this (the forms' and the API's extractors answer 413).
        .layer(DefaultBodyLimit::max(forms::MAX_BODY_BYTES))
        .with_state(state.clone());
    // The frame runs before routing: it may strip the base path off the request's path.
    Router::new().fallback_service(routes).layer(from_fn_with_state(state, frame::frame))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_from_base_url() {
        let local = Site::from_base_url("http://127.0.0.1:9000/lambda-url/web/");
        assert_eq!(local.base_path, "/lambda-url/web");
        assert_eq!(local.base_url, "http://127.0.0.1:9000/lambda-url/web");
        assert!(!local.secure_cookies);
        assert_eq!(local.cookie_path(), "/lambda-url/web");
        assert_eq!(local.href("/signin"), "/lambda-url/web/signin");

        let aws = Site::from_base_url("https://abc.execute-api.eu-west-3.amazonaws.com");
        assert_eq!(aws.base_path, "");
        assert!(aws.secure_cookies);
        assert_eq!(aws.cookie_path(), "/");
        assert_eq!(aws.href("/"), "/");
        assert_eq!(aws.url("/signin/x"), "https://abc.execute-api.eu-west-3.amazonaws.com/signin/x");

        assert!(!Site::from_base_url("http://localhost:3000").secure_cookies);
        assert!(!Site::from_base_url("http://[::1]:3000/").secure_cookies);
        assert!(Site::from_base_url("http://vigie.example.org").secure_cookies);
        assert!(Site::from_base_url("https://127.0.0.1").secure_cookies);
    }

    #[test]
    fn own_origin_and_host_cookies() {
        let aws = Site::from_base_url("https://abc.execute-api.eu-west-3.amazonaws.com/");
        assert_eq!(aws.origin, "https://abc.execute-api.eu-west-3.amazonaws.com");
        assert!(aws.https && aws.host_cookies() && !aws.local());
        assert!(aws.is_own_origin("https://ABC.execute-api.eu-west-3.amazonaws.com"));
        for foreign in [
            "https://evil.example",
            "http://abc.execute-api.eu-west-3.amazonaws.com",
            "https://abc.execute-api.eu-west-3.amazonaws.com.evil.example",
            "null",
            "",
        ] {
            assert!(!aws.is_own_origin(foreign), "{foreign}");
        }
        // Under a path, a `__Host-` cookie could not be scoped to it: plain names.
        assert!(!Site::from_base_url("https://example.org/vigie").host_cookies());

        let local = Site::from_base_url("http://127.0.0.1:9000/lambda-url/web");
        assert!(local.local() && !local.https && !local.host_cookies());
        assert!(local.is_own_origin("http://127.0.0.1:9000"));
        assert!(local.is_own_origin("http://localhost:9000"));
        assert!(!local.is_own_origin("http://localhost:9001"));
        assert!(!local.is_own_origin("http://evil.example:9000"));
    }
}
