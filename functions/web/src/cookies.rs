//! Reading the `Cookie` header and writing `Set-Cookie`, and the random secrets cookies carry.

use axum::http::header::{COOKIE, HeaderValue};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponseParts, ResponseParts};

use crate::app::Site;

/// The value of cookie `name`, if the request carries it (the first one wins).
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    get_named(headers, name)
}

/// The value of the secret cookie `name` ([`SetCookie::secret`]): `__Host-<name>` where the
/// site names its secret cookies so ([`Site::host_cookies`]).
pub fn get_secret<'a>(headers: &'a HeaderMap, site: &Site, name: &str) -> Option<&'a str> {
    if site.host_cookies() {
        get_named(headers, &format!("{HOST_PREFIX}{name}"))
    } else {
        get_named(headers, name)
    }
}

/// The prefix by which a browser holds a cookie to the host that set it, over https, for the
/// whole site (RFC 6265bis, "Cookie Name Prefixes").
pub const HOST_PREFIX: &str = "__Host-";

fn get_named<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

/// A `Set-Cookie` for the site: `HttpOnly` unless said otherwise, `SameSite=Lax`, the site's
/// path, and `Secure` unless the site is plain http on this machine.
#[derive(Clone, Debug)]
pub struct SetCookie {
    name: &'static str,
    value: String,
    max_age: Option<u64>,
    http_only: bool,
    /// A secret's cookie: `__Host-` prefixed where the site allows it.
    secret: bool,
}

impl SetCookie {
    /// A cookie that lasts `max_age` seconds (`None`: until the browser closes).
    pub fn new(name: &'static str, value: impl Into<String>, max_age: Option<u64>) -> Self {
        Self { name, value: value.into(), max_age, http_only: true, secret: false }
    }

    /// The cookie of a secret (a session, an anti-CSRF token): over https at the root of the
    /// host it is named `__Host-<name>`, so that the browser accepts it only from this host,
    /// over https, for the whole site, and no sub-domain or plain-http page can plant one.
    pub fn secret(name: &'static str, value: impl Into<String>, max_age: Option<u64>) -> Self {
        Self { secret: true, ..Self::new(name, value, max_age) }
    }

    /// Tells the browser to forget the secret cookie `name`.
    pub fn clear_secret(name: &'static str) -> Self {
        Self::secret(name, String::new(), Some(0))
    }

    /// Readable by the page's script (never for secrets).
    pub fn readable_by_script(mut self) -> Self {
        self.http_only = false;
        self
    }

    pub fn header_value(&self, site: &Site) -> String {
        let prefix = if self.secret && site.host_cookies() { HOST_PREFIX } else { "" };
        let mut cookie =
            format!("{prefix}{}={}; Path={}; SameSite=Lax", self.name, self.value, site.cookie_path());
        if let Some(age) = self.max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        if self.http_only {
            cookie.push_str("; HttpOnly");
        }
        if site.secure_cookies {
            cookie.push_str("; Secure");
        }
        cookie
    }
}

/// The `Set-Cookie` headers of a response.
pub struct Cookies(pub Vec<String>);

impl Cookies {
    pub fn new(site: &Site, cookies: &[SetCookie]) -> Self {
        Self(cookies.iter().map(|c| c.header_value(site)).collect())
    }
}

impl IntoResponseParts for Cookies {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        for cookie in self.0 {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                res.headers_mut().append(header::SET_COOKIE, value);
            }
        }
        Ok(res)
    }
}

/// Session secrets, anti-CSRF fields and their comparison live in the shared crate.
pub use vigie::secret::{is_token, random_token, same_secret};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cookies() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; vigie_session=abc; lang=en"));
        h.append(COOKIE, HeaderValue::from_static("b=2"));
        assert_eq!(get(&h, "vigie_session"), Some("abc"));
        assert_eq!(get(&h, "lang"), Some("en"));
        assert_eq!(get(&h, "b"), Some("2"));
        assert_eq!(get(&h, "session"), None);
    }

    #[test]
    fn writes_cookies() {
        let local = Site::from_base_url("http://127.0.0.1:9000/lambda-url/web");
        assert_eq!(
            SetCookie::new("vigie_session", "x", Some(60)).header_value(&local),
            "vigie_session=x; Path=/lambda-url/web; SameSite=Lax; Max-Age=60; HttpOnly"
        );
        let cloud = Site::from_base_url("https://vigie.example.org");
        assert_eq!(
            SetCookie::clear_secret("vigie_session").header_value(&cloud),
            "__Host-vigie_session=; Path=/; SameSite=Lax; Max-Age=0; HttpOnly; Secure"
        );
        assert_eq!(
            SetCookie::secret("vigie_session", "x", None).header_value(&local),
            "vigie_session=x; Path=/lambda-url/web; SameSite=Lax; HttpOnly"
        );
        let under_a_path = Site::from_base_url("https://example.org/vigie");
        assert_eq!(
            SetCookie::secret("vigie_csrf", "x", None).header_value(&under_a_path),
            "vigie_csrf=x; Path=/vigie; SameSite=Lax; HttpOnly; Secure"
        );
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("vigie_session=planted; __Host-vigie_session=mine"));
        assert_eq!(get_secret(&h, &cloud, "vigie_session"), Some("mine"));
        assert_eq!(get_secret(&h, &local, "vigie_session"), Some("planted"));
        assert_eq!(
            SetCookie::new("lang", "en", None).readable_by_script().header_value(&cloud),
            "lang=en; Path=/; SameSite=Lax; Secure"
        );
    }
}
