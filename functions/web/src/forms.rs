//! Form bodies and query strings, read as plain name/value pairs (a name may repeat, as the
//! checkboxes of a police officer's communities do), and the bodies of requests: of the type
//! the route reads, at most [`MAX_BODY_BYTES`].

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};

use crate::error::WebError;

/// The largest body the web function reads, form or JSON (an alert is at most 1,000
/// characters). The router's body limit (see [`crate::app::router`]).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The longest query string: the SMS preview's text (2,000 characters, percent-encoded) fits.
pub const MAX_QUERY_BYTES: usize = 32 * 1024;

/// The media type of the pages' forms.
pub const FORM_TYPE: &str = "application/x-www-form-urlencoded";

/// The only names a form or query may repeat: the communities a police officer ticks.
const REPEATABLE: &[&str] = &["c"];

/// The decoded `name=value` pairs of an urlencoded body or query string.
#[derive(Clone, Debug, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    /// Reads an urlencoded body or query string as the pages send it: every `%` starts an
    /// escape of two hex digits, names and values are UTF-8 once decoded, and no name but
    /// [`REPEATABLE`]'s comes twice (which value would count?). Anything else is refused.
    pub fn parse(raw: &[u8]) -> Result<Self, &'static str> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in raw.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match part.iter().position(|&b| b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            let (name, value) = (decode(name)?, decode(value)?);
            if !REPEATABLE.contains(&name.as_str()) && pairs.iter().any(|(k, _)| *k == name) {
                return Err("a field given twice");
            }
            pairs.push((name, value));
        }
        Ok(Self(pairs))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or `""`.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether a checkbox named `name` was ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn csrf(&self) -> Option<&str> {
        self.get("csrf")
    }
}

/// One name or value of an urlencoded string: `+` is a space, `%XX` a byte.
fn decode(raw: &[u8]) -> Result<String, &'static str> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.iter();
    while let Some(&b) = rest.next() {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = |d: Option<&u8>| d.and_then(|d| (*d as char).to_digit(16));
                match (hex(rest.next()), hex(rest.next())) {
                    (Some(hi), Some(lo)) => bytes.push((hi * 16 + lo) as u8),
                    _ => return Err("a malformed percent-escape"),
                }
            }
            _ => bytes.push(b),
        }
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8")
}

/// Why a request's body was not read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyRefused {
    /// Not the media type the route reads (or none), or a charset other than UTF-8.
    UnsupportedType,
    /// Over [`MAX_BODY_BYTES`].
    TooLarge,
    /// The connection failed while reading it.
    Unreadable,
}

impl From<BodyRefused> for WebError {
    fn from(refused: BodyRefused) -> Self {
        match refused {
            BodyRefused::UnsupportedType => WebError::UnsupportedMediaType,
            BodyRefused::TooLarge => WebError::TooLarge,
            BodyRefused::Unreadable => WebError::BadRequest("unreadable body"),
        }
    }
}

/// Whether the request's `Content-Type` is `media_type` (any case, UTF-8 if it names a charset).
fn is_of_type(headers: &HeaderMap, media_type: &str) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';').map(str::trim);
    let essence = parts.next().unwrap_or_default();
    essence.eq_ignore_ascii_case(media_type)
        && parts.filter_map(|p| p.split_once('=')).all(|(name, value)| {
            !name.trim().eq_ignore_ascii_case("charset")
                || value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        })
}

/// The body of `request` if it is of `media_type` and at most [`MAX_BODY_BYTES`] long.
pub async fn read_body<S: Send + Sync>(
    request: Request,
    state: &S,
    media_type: &str,
) -> Result<Bytes, BodyRefused> {
    if !is_of_type(request.headers(), media_type) {
        return Err(BodyRefused::UnsupportedType);
    }
    let declared = request.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(BodyRefused::TooLarge);
    }
    // The router's body limit stops reading past MAX_BODY_BYTES.
    let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            BodyRefused::TooLarge
        } else {
            BodyRefused::Unreadable
        }
    })?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(BodyRefused::TooLarge);
    }
    Ok(bytes)
}

/// An urlencoded form body.
pub struct Form(pub FormData);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(request, state, FORM_TYPE).await?;
        FormData::parse(&bytes).map(Form).map_err(WebError::BadRequest)
    }
}

/// The query string.
pub struct Query(pub FormData);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        if query.len() > MAX_QUERY_BYTES {
            return Err(WebError::UriTooLong);
        }
        FormData::parse(query.as_bytes()).map(Query).map_err(WebError::BadRequest)
    }
}

/// The parameters of the path (`/alerts/{id}`): a malformed one is "not found".
pub struct Segments<T>(pub T);

impl<S, T> FromRequestParts<S> for Segments<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Segments(p.0))
            .map_err(|_| WebError::NotFound)
    }
}

/// Encodes one `name=value` pair for a query string.
pub fn query_pair(name: &str, value: &str) -> String {
    form_urlencoded::Serializer::new(String::new()).append_pair(name, value).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pairs() {
        let f =
            FormData::parse(b"csrf=abc&c=les-tilleuls&c=le-moulin&text=Voiture+%C3%A9trange%0D%0Ali&sms=on")
                .unwrap();
        assert_eq!(f.csrf(), Some("abc"));
        assert_eq!(f.all("c").collect::<Vec<_>>(), ["les-tilleuls", "le-moulin"]);
        assert_eq!(f.text("text"), "Voiture étrange\r\nli");
        assert!(f.checked("sms"));
        assert!(!f.checked("email"));
        assert_eq!(f.text("missing"), "");
        assert_eq!(query_pair("after", "a b&c"), "after=a+b%26c");
        let empty = FormData::parse(b"&&flag&=x").unwrap();
        assert!(empty.checked("flag"));
        assert_eq!(empty.get(""), Some("x"));
        let pct = FormData::parse(b"t=100%25+s%c3%bbr").unwrap();
        assert_eq!(pct.text("t"), "100% sûr");
    }

    #[test]
    fn refuses_what_the_pages_never_send() {
        for raw in [
            &b"text=%FF%FE"[..],
            b"text=caf\xe9",
            b"text=50%",
            b"text=%Z1",
            b"text=%4",
            b"a=1&a=2",
            b"csrf=x&csrf=x",
        ] {
            assert!(FormData::parse(raw).is_err(), "{}", String::from_utf8_lossy(raw));
        }
        assert!(FormData::parse("text=café".as_bytes()).is_ok(), "raw UTF-8 is fine");
    }

    #[test]
    fn content_types() {
        let headers = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, value.parse().unwrap());
            h
        };
        for ok in [
            FORM_TYPE,
            "Application/X-WWW-Form-URLEncoded",
            "application/x-www-form-urlencoded; charset=UTF-8",
        ] {
            assert!(is_of_type(&headers(ok), FORM_TYPE), "{ok}");
        }
        for wrong in [
            "application/json",
            "multipart/form-data; boundary=x",
            "text/plain",
            "",
            "application/x-www-form-urlencoded; charset=latin1",
        ] {
            assert!(!is_of_type(&headers(wrong), FORM_TYPE), "{wrong}");
        }
        assert!(!is_of_type(&HeaderMap::new(), FORM_TYPE));
    }
}
