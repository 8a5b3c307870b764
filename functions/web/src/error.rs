//! The one error type of the web boundary, and the one place it becomes a status and a page.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tracing::{error, warn};
use vigie::domain::redact;
use vigie::ports::{RegisterError, StoreError};

use crate::frame::error_marker;

/// What went wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such page, or not one this member may see (the two are not told apart).
    #[error("not found")]
    NotFound,
    /// The page needs a signed-in member.
    #[error("not signed in")]
    SignedOut,
    /// Signed in, but not allowed to do this (a resident on the referent's pages).
    #[error("not allowed")]
    Forbidden,
    /// A state-changing request without the right anti-CSRF token.
    #[error("missing or wrong anti-CSRF token")]
    Csrf,
    /// A state-changing request that a page of another site sent (its `Origin` is not ours).
    #[error("request from another origin")]
    CrossOrigin,
    /// A request the pages never send (a malformed form or query).
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// A body of a type the route does not read (JSON to a form, a form to the API...).
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// A body over the limit.
    #[error("body too large")]
    TooLarge,
    /// A query string over the limit.
    #[error("query string too long")]
    UriTooLong,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("registering failed: {0}")]
    Register(RegisterError),
    #[error("template not rendered: {0}")]
    Render(#[from] askama::Error),
    #[error("{0}")]
    Internal(String),
}

/// The error pages, rendered by the frame in the request's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorPage {
    NotFound,
    SignedOut,
    Forbidden,
    Denied,
    BadRequest,
    MethodNotAllowed,
    Unavailable,
    Internal,
}

impl WebError {
    fn status_and_page(&self) -> (StatusCode, ErrorPage) {
        match self {
            WebError::NotFound => (StatusCode::NOT_FOUND, ErrorPage::NotFound),
            WebError::SignedOut => (StatusCode::UNAUTHORIZED, ErrorPage::SignedOut),
            WebError::Forbidden => (StatusCode::FORBIDDEN, ErrorPage::Denied),
            WebError::Csrf | WebError::CrossOrigin => (StatusCode::FORBIDDEN, ErrorPage::Forbidden),
            WebError::BadRequest(_) => (StatusCode::BAD_REQUEST, ErrorPage::BadRequest),
            WebError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, ErrorPage::BadRequest),
            WebError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorPage::BadRequest),
            WebError::UriTooLong => (StatusCode::URI_TOO_LONG, ErrorPage::BadRequest),
            WebError::Store(e) if e.is_retryable() => {
                (StatusCode::SERVICE_UNAVAILABLE, ErrorPage::Unavailable)
            }
            WebError::Register(RegisterError::Store(e)) if e.is_retryable() => {
                (StatusCode::SERVICE_UNAVAILABLE, ErrorPage::Unavailable)
            }
            WebError::Store(_) | WebError::Register(_) | WebError::Render(_) | WebError::Internal(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorPage::Internal)
            }
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, page) = self.status_and_page();
        // The client learns the status only; the details go to the logs, masked.
        if status.is_server_error() {
            error!(error = %redact(&self.to_string()), status = status.as_u16(), "request failed");
        } else if status.is_client_error() && !matches!(self, WebError::NotFound | WebError::SignedOut) {
            warn!(error = %self, status = status.as_u16(), "request refused");
        }
        error_marker(status, page)
    }
}

impl From<RegisterError> for WebError {
    fn from(err: RegisterError) -> Self {
        match err {
            RegisterError::Store(e) => WebError::Store(e),
            other => WebError::Register(other),
        }
    }
}

/// What a use case refused, where the door has no better answer of its own (the pages and the
/// API answer a form's problems themselves, field by field or with a code).
impl From<vigie::app::members::Problem> for WebError {
    fn from(problem: vigie::app::members::Problem) -> Self {
        use vigie::app::members::Problem;
        match problem {
            Problem::NotFound => WebError::NotFound,
            Problem::Forbidden => WebError::Forbidden,
            Problem::Invalid(_) => WebError::BadRequest("invalid member"),
            // The doors answer it themselves (429); this is only a fallback.
            Problem::TooManyInvitations => WebError::BadRequest("too many invitations today"),
            Problem::Register(err) => err.into(),
            Problem::Store(err) => WebError::Store(err),
        }
    }
}

impl From<vigie::app::erasure::Problem> for WebError {
    fn from(problem: vigie::app::erasure::Problem) -> Self {
        use vigie::app::erasure::Problem;
        match problem {
            Problem::NotFound => WebError::NotFound,
            Problem::Forbidden => WebError::Forbidden,
            Problem::Store(err) => WebError::Store(err),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<vigie::app::settings::Problem> for WebError {
    fn from(problem: vigie::app::settings::Problem) -> Self {
        use vigie::app::settings::Problem;
        match problem {
            Problem::Invalid(_) => WebError::BadRequest("invalid settings"),
            Problem::Code(vigie::app::phone::SendProblem::Store(err)) => WebError::Store(err),
            Problem::Code(other) => WebError::Internal(other.to_string()),
            Problem::Register(err) => err.into(),
            Problem::Store(err) => WebError::Store(err),
        }
    }
}

impl From<vigie::app::feed::Problem> for WebError {
    fn from(problem: vigie::app::feed::Problem) -> Self {
        match problem {
            vigie::app::feed::Problem::NotFound => WebError::NotFound,
            vigie::app::feed::Problem::Store(err) => WebError::Store(err),
        }
    }
}

impl From<vigie::app::neighbours::Problem> for WebError {
    fn from(problem: vigie::app::neighbours::Problem) -> Self {
        match problem {
            vigie::app::neighbours::Problem::UnknownCommunity => WebError::NotFound,
            vigie::app::neighbours::Problem::Store(err) => WebError::Store(err),
        }
    }
}

impl From<vigie::app::town::Problem> for WebError {
    fn from(problem: vigie::app::town::Problem) -> Self {
        use vigie::app::town::Problem;
        match problem {
            Problem::NotTownHall => WebError::Forbidden,
            Problem::UnknownCommunity | Problem::UnknownMember => WebError::NotFound,
            // The doors answer these themselves; this is only a fallback.
            Problem::InvalidName | Problem::NameTaken | Problem::WrongRole(_) => {
                WebError::BadRequest("refused by the town hall's rules")
            }
            Problem::Store(err) => WebError::Store(err),
        }
    }
}
