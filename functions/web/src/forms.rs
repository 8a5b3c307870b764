//! Form bodies and query strings, read as plain name/value pairs (a name may repeat, as the
//! checkboxes of a police officer's communities do).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;

use crate::error::WebError;

/// The largest form the pages send (an alert is at most 1,000 characters).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The decoded `name=value` pairs of an urlencoded body or query string.
#[derive(Clone, Debug, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    pub fn parse(raw: &[u8]) -> Self {
        Self(form_urlencoded::parse(raw).into_owned().collect())
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

/// An urlencoded form body.
pub struct Form(pub FormData);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes =
            Bytes::from_request(request, state).await.map_err(|_| WebError::BadRequest("unreadable body"))?;
        if bytes.len() > MAX_FORM_BYTES {
            return Err(WebError::BadRequest("form too large"));
        }
        Ok(Form(FormData::parse(&bytes)))
    }
}

/// The query string.
pub struct Query(pub FormData);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Query(FormData::parse(parts.uri.query().unwrap_or("").as_bytes())))
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
            FormData::parse(b"csrf=abc&c=les-tilleuls&c=le-moulin&text=Voiture+%C3%A9trange%0D%0Ali&sms=on");
        assert_eq!(f.csrf(), Some("abc"));
        assert_eq!(f.all("c").collect::<Vec<_>>(), ["les-tilleuls", "le-moulin"]);
        assert_eq!(f.text("text"), "Voiture étrange\r\nli");
        assert!(f.checked("sms"));
        assert!(!f.checked("email"));
        assert_eq!(f.text("missing"), "");
        assert_eq!(query_pair("after", "a b&c"), "after=a+b%26c");
    }
}
