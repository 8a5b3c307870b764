//! Invoking the function: the [`Invoker`] trait (any async closure is one), and
//! [`HttpInvoker`] through the Lambda Invoke API as `cargo lambda watch` serves it.

use std::future::Future;

use serde_json::Value;

/// Why an invocation did not return a response.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and returned an error (`{"errorType","errorMessage"}`).
    #[error("function error {error_type}: {error_message}")]
    Function { error_type: String, error_message: String },
    /// The function could not be reached, or its answer could not be read.
    #[error("could not invoke the function: {0}")]
    Transport(String),
    /// The Invoke API refused the call (e.g. 404: no such function in `cargo lambda watch`).
    #[error("the Invoke API answered {status}: {body}")]
    Http { status: u16, body: String },
}

impl InvokeError {
    /// A function error, as an in-process invoker reports a handler's `Err`.
    pub fn function(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        Self::Function { error_type: error_type.into(), error_message: error_message.into() }
    }
}

/// Something that runs the function on an event and returns its response (the JSON the
/// function returned, `Value::Null` for none).
///
/// Any closure `Fn(Value) -> Fut` where `Fut: Future<Output = Result<Value, InvokeError>> + Send`
/// is an `Invoker`, so a test can call a handler in-process:
/// `|event| async move { ...; Ok(serde_json::to_value(response)?) }`.
pub trait Invoker {
    fn invoke(&self, event: Value) -> impl Future<Output = Result<Value, InvokeError>> + Send;
}

impl<F, Fut> Invoker for F
where
    F: Fn(Value) -> Fut,
    Fut: Future<Output = Result<Value, InvokeError>> + Send,
{
    fn invoke(&self, event: Value) -> impl Future<Output = Result<Value, InvokeError>> + Send {
        self(event)
    }
}

/// Invokes a function through the Lambda Invoke API as `cargo lambda watch` serves it:
/// `POST {base}/2015-03-31/functions/{name}/invocations`. A function error comes back as a
/// non-2xx status (cargo-lambda) or a 200 with `X-Amz-Function-Error` (AWS), with
/// `{"errorType","errorMessage"}` as the body.
#[derive(Clone, Debug)]
pub struct HttpInvoker {
    client: reqwest::Client,
    url: String,
}

impl HttpInvoker {
    /// `base` is `cargo lambda watch`'s address (`http://127.0.0.1:9000`), `function` the binary.
    pub fn new(base: &str, function: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            url: format!("{}/2015-03-31/functions/{function}/invocations", base.trim_end_matches('/')),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Invoker for HttpInvoker {
    fn invoke(&self, event: Value) -> impl Future<Output = Result<Value, InvokeError>> + Send {
        let request = self.client.post(&self.url).json(&event);
        async move {
            let response = request.send().await.map_err(|e| InvokeError::Transport(error_chain(&e)))?;
            let status = response.status();
            let function_error = response.headers().contains_key("x-amz-function-error");
            let body = response.bytes().await.map_err(|e| InvokeError::Transport(error_chain(&e)))?;
            let parsed: Option<Value> = if body.iter().all(u8::is_ascii_whitespace) {
                Some(Value::Null)
            } else {
                serde_json::from_slice(&body).ok()
            };
            if status.is_success() && !function_error {
                return parsed.ok_or_else(|| {
                    InvokeError::Transport(format!(
                        "the response is not JSON: {}",
                        String::from_utf8_lossy(&body)
                    ))
                });
            }
            match parsed
                .as_ref()
                .and_then(|v| v.get("errorType").or_else(|| v.get("errorMessage")).map(|_| v))
            {
                Some(err) => Err(InvokeError::Function {
                    error_type: err
                        .get("errorType")
                        .and_then(Value::as_str)
                        .unwrap_or("Unhandled")
                        .to_owned(),
                    error_message: err
                        .get("errorMessage")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                }),
                None => Err(InvokeError::Http {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                }),
            }
        }
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
