//! Reading the `Cookie` header and writing `Set-Cookie`, and the random secrets cookies carry.

use axum::http::header::{COOKIE, HeaderValue};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponseParts, ResponseParts};

use crate::app::Site;

/// The value of cookie `name`, if the request carries it (the first one wins).
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
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
}

impl SetCookie {
    /// A cookie that lasts `max_age` seconds (`None`: until the browser closes).
    pub fn new(name: &'static str, value: impl Into<String>, max_age: Option<u64>) -> Self {
        Self { name, value: value.into(), max_age, http_only: true }
    }

    /// Tells the browser to forget the cookie.
    pub fn clear(name: &'static str) -> Self {
        Self { name, value: String::new(), max_age: Some(0), http_only: true }
    }

    /// Readable by the page's script (never for secrets).
    pub fn readable_by_script(mut self) -> Self {
        self.http_only = false;
        self
    }

    pub fn header_value(&self, site: &Site) -> String {
        let mut cookie = format!("{}={}; Path={}; SameSite=Lax", self.name, self.value, site.cookie_path());
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

/// 32 random bytes from the operating system's CSPRNG, as 64 lowercase hex digits.
pub fn random_token() -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes: [u8; 32] = rand::random();
    let mut s = String::with_capacity(64);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// Whether `s` looks like a [`random_token`] (so junk never reaches the store).
pub fn is_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Compares two secrets in constant time (for equal lengths).
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

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
            SetCookie::clear("vigie_session").header_value(&cloud),
            "vigie_session=; Path=/; SameSite=Lax; Max-Age=0; HttpOnly; Secure"
        );
        assert_eq!(
            SetCookie::new("lang", "en", None).readable_by_script().header_value(&cloud),
            "lang=en; Path=/; SameSite=Lax; Secure"
        );
    }

    #[test]
    fn tokens() {
        let a = random_token();
        assert!(is_token(&a));
        assert_ne!(a, random_token());
        assert!(!is_token("abc"));
        assert!(!is_token(&"A".repeat(64)));
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &random_token()));
        assert!(!same_secret("a", "ab"));
    }
}
