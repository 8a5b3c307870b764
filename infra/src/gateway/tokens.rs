//! DynamoDB's client request tokens, as AWS honours them and the emulator (which ignores them)
//! does not: a `TransactWriteItems` retried with the same `ClientRequestToken` and the same
//! request within 10 minutes is answered as the first one was, without being carried out again;
//! the same token with another request is refused with `IdempotentParameterMismatchException`.
//!
//! AWS's words (`ClientRequestToken` of TransactWriteItems): "multiple identical calls have the
//! same effect as one single call … A client request token is valid for 10 minutes after the first
//! request that uses it is completed … If you submit a request with the same client token but a
//! change in other parameters within the 10-minute idempotency window, DynamoDB returns an
//! IdempotentParameterMismatch exception"
//! (the API reference's `ClientRequestToken`, as the SDKs' documentation carries it:
//! <https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/dynamodb/aws.sdk.kotlin.services.dynamodb.model/-transact-write-items-request/client-request-token.html>);
//! and the developer guide: if the original call succeeded, later calls with the same client
//! token return successfully without making any changes
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html>,
//! "Idempotency").
//!
//! The Rust SDK fills the token itself when the caller leaves it out, once per operation, before
//! its retry loop, so its own retries carry the same token: the generated
//! `operation_runtime_plugins` of `TransactWriteItems` installs an `IdempotencyTokenRuntimePlugin`
//! whose interceptor sets `client_request_token` in `modify_before_serialization`
//! (`aws-sdk-dynamodb` 1.136, `src/operation/transact_write_items.rs`,
//! `src/client_idempotency_token.rs`), and the orchestrator serializes the request once, then
//! rewinds the same request for each attempt (`aws-smithy-runtime` 1.16, `src/client/
//! orchestrator.rs`, `try_op`). A retry by the caller (a new `send()`) gets a new token.
//!
//! What is remembered: a success, and a cancellation (`TransactionCanceledException`, whose
//! conditions were judged): both are results of carrying the request out. What AWS answers to a
//! retry of a cancelled request is not documented in what the search found; replaying the
//! cancellation is the reading of "the same effect as one single call". Failures that did nothing
//! (throttling, 5xx, a dropped connection) are not remembered: the retry is carried out.
//! Requests still in flight with the same token (AWS: `TransactionInProgressException`) are not
//! emulated: a retry here always follows the answer it retries.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hyper::StatusCode;
use hyper::body::Bytes;

use super::{Answer, Call, Rule, RuleFuture, Service, Verdict};

/// How long a token is remembered after its request completed.
pub const WINDOW: Duration = Duration::from_secs(10 * 60);

struct Remembered {
    request: Bytes,
    answer: Answer,
    at: Instant,
}

/// What the rule did.
#[derive(Debug, Default)]
pub struct TokenStats {
    /// Retries answered from memory, not carried out again.
    pub replayed: AtomicU64,
    /// Same token, another request: refused.
    pub mismatched: AtomicU64,
}

/// The rule. See the module docs.
#[derive(Default)]
pub struct ClientTokens {
    seen: Mutex<HashMap<String, Remembered>>,
    pub stats: TokenStats,
}

fn token(call: &Call) -> Option<&str> {
    if call.service != Service::DynamoDb || call.operation.as_deref() != Some("TransactWriteItems") {
        return None;
    }
    call.json()?.get("ClientRequestToken")?.as_str()
}

fn mismatch() -> Answer {
    Answer::new(
        StatusCode::BAD_REQUEST,
        "application/x-amz-json-1.0",
        r#"{"__type":"com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException","message":"The request uses the same client token as a previous, but non-identical request."}"#,
    )
}

impl ClientTokens {
    pub fn new() -> Self {
        Self::default()
    }

    fn judge(&self, call: &Call) -> Verdict {
        let Some(token) = token(call) else { return Verdict::Continue };
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, r| r.at.elapsed() < WINDOW);
        match seen.get(token) {
            None => Verdict::Continue,
            Some(first) if first.request == call.body => {
                self.stats.replayed.fetch_add(1, Ordering::Relaxed);
                Verdict::Answer(first.answer.clone())
            }
            Some(_) => {
                self.stats.mismatched.fetch_add(1, Ordering::Relaxed);
                Verdict::Answer(mismatch())
            }
        }
    }

    fn remember(&self, call: &Call, answer: &Answer) {
        let Some(token) = token(call) else { return };
        let carried_out = answer.status.is_success()
            || (answer.status == StatusCode::BAD_REQUEST
                && answer.body.windows(28).any(|w| w == b"TransactionCanceledException"));
        if carried_out {
            let remembered =
                Remembered { request: call.body.clone(), answer: answer.clone(), at: Instant::now() };
            self.seen.lock().unwrap_or_else(|p| p.into_inner()).entry(token.to_owned()).or_insert(remembered);
        }
    }
}

impl Rule for ClientTokens {
    fn before<'a>(&'a self, call: &'a Call) -> RuleFuture<'a> {
        let verdict = self.judge(call);
        Box::pin(async move { verdict })
    }

    fn after<'a>(&'a self, call: &'a Call, answer: &'a Answer) -> RuleFuture<'a> {
        self.remember(call, answer);
        Box::pin(async { Verdict::Continue })
    }
}

#[cfg(test)]
mod tests {
    use hyper::Method;
    use hyper::header::HeaderMap;

    use super::*;

    fn transact(body: &str) -> Call {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-target", "DynamoDB_20120810.TransactWriteItems".parse().unwrap());
        Call::new(Method::POST, "/".into(), headers, Bytes::from(body.to_owned()))
    }

    #[test]
    fn a_retry_with_the_same_token_is_answered_as_the_first_call_was() {
        let tokens = ClientTokens::new();
        let first = transact(r#"{"ClientRequestToken":"t1","TransactItems":[1]}"#);
        assert!(matches!(tokens.judge(&first), Verdict::Continue));
        // A fault before the call reached DynamoDB: nothing to remember.
        tokens.remember(&first, &Answer::new(StatusCode::SERVICE_UNAVAILABLE, "text/plain", "down"));
        assert!(matches!(tokens.judge(&first), Verdict::Continue));
        tokens.remember(&first, &Answer::new(StatusCode::OK, "application/x-amz-json-1.0", "{}"));
        let Verdict::Answer(replayed) = tokens.judge(&first) else { panic!("replayed") };
        assert_eq!((replayed.status, replayed.body.as_ref()), (StatusCode::OK, b"{}".as_ref()));
        // The same token on another request.
        let other = transact(r#"{"ClientRequestToken":"t1","TransactItems":[2]}"#);
        let Verdict::Answer(refused) = tokens.judge(&other) else { panic!("refused") };
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&refused.body).contains("IdempotentParameterMismatchException"));
        assert_eq!(
            (tokens.stats.replayed.load(Ordering::Relaxed), tokens.stats.mismatched.load(Ordering::Relaxed)),
            (1, 1)
        );
        // Without a token, or another operation: carried out every time.
        let untokened = transact(r#"{"TransactItems":[1]}"#);
        tokens.remember(&untokened, &Answer::new(StatusCode::OK, "application/x-amz-json-1.0", "{}"));
        assert!(matches!(tokens.judge(&untokened), Verdict::Continue));
    }

    #[test]
    fn a_cancellation_is_remembered_too() {
        let tokens = ClientTokens::new();
        let call = transact(r#"{"ClientRequestToken":"t2","TransactItems":[1]}"#);
        let cancelled = r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","CancellationReasons":[{"Code":"ConditionalCheckFailed"}]}"#;
        tokens
            .remember(&call, &Answer::new(StatusCode::BAD_REQUEST, "application/x-amz-json-1.0", cancelled));
        let Verdict::Answer(replayed) = tokens.judge(&call) else { panic!("replayed") };
        assert!(String::from_utf8_lossy(&replayed.body).contains("ConditionalCheckFailed"));
    }
}
