//! The IAM contract, as a gateway [`Rule`]: every call a function makes is judged against that
//! function's role as the SAM transform generates it ([`super::roles`]), request by request
//! ([`super::actions`]), with IAM's evaluation ([`super::policy`]). A call the role does not
//! allow is answered as AWS answers it (DynamoDB `AccessDeniedException` 400, SNS
//! `AuthorizationError` 403, SES v2 `AccessDeniedException` 403), and recorded: the test harness
//! fails the test at its end, naming each (function, action, resource) refused (docs/iam.md).

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::StatusCode;

use super::actions::{self, Authorization, Scope};
use super::policy::{self, Decision};
use super::roles::{self, Environment, Role, RoleError, Roles};
use super::{Answer, Call, Rule, RuleFuture, Service, Verdict};

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// No statement of the role allows it (implicit deny).
    NoAllow,
    /// A `Deny` statement matches it.
    ExplicitDeny { statement: String },
    /// The check cannot judge it (a condition key it does not model...): refused, not guessed.
    CannotJudge(String),
    /// The operation is not in the mapping of docs/iam.md.
    UnknownOperation(String),
    /// Signed with an access key that is no function of the template.
    UnknownPrincipal,
    /// Not signed at all.
    Unsigned,
}

/// One refused authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The function (its binary name: `fan-out`), or the access key id that signed the call.
    pub function: String,
    /// The API operation (`BatchGetItem`).
    pub operation: String,
    /// The IAM action (`dynamodb:BatchGetItem`); empty when the call could not be mapped.
    pub action: String,
    /// The resource ARN; empty when the call could not be mapped.
    pub resource: String,
    pub why: Why,
    /// The role's logical id, when known.
    pub role: Option<String>,
    /// AWS-managed policies of the role that the check did not expand.
    pub managed: Vec<String>,
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = self.role.as_deref().unwrap_or("its role");
        match &self.why {
            Why::NoAllow => {
                write!(
                    f,
                    "{}: {} on {} ({}): no statement of {role} allows it",
                    self.function, self.action, self.resource, self.operation
                )
            }
            Why::ExplicitDeny { statement } => {
                write!(
                    f,
                    "{}: {} on {} ({}): denied by {statement}",
                    self.function, self.action, self.resource, self.operation
                )
            }
            Why::CannotJudge(why) => {
                write!(
                    f,
                    "{}: {} on {} ({}): the check cannot judge it: {why}",
                    self.function, self.action, self.resource, self.operation
                )
            }
            Why::UnknownOperation(why) => {
                write!(f, "{}: {}: unknown to the check: {why}", self.function, self.operation)
            }
            Why::UnknownPrincipal => write!(
                f,
                "{}: {}: signed by an access key that is no function of template.yaml (the test routed a client wrongly)",
                self.function, self.operation
            ),
            Why::Unsigned => write!(f, "(unsigned): {}: a call without SigV4 credentials", self.operation),
        }
    }
}

/// The contract's rule: judges, answers refusals, records them.
pub struct IamCheck {
    roles: Roles,
    scope: Scope,
    denials: Mutex<Vec<Denial>>,
    checked: AtomicU64,
    /// `$VIGIE_IAM_USAGE`: a file each allowed authorization is appended to (function, action,
    /// resource, the statement that allowed it), to find grants no test uses (docs/iam.md).
    usage: Option<Mutex<std::fs::File>>,
}

impl IamCheck {
    /// Judges calls against `roles`, in `scope`'s partition, region and account.
    pub fn new(roles: Roles, scope: Scope) -> IamCheck {
        let usage = std::env::var_os("VIGIE_IAM_USAGE")
            .and_then(|path| std::fs::OpenOptions::new().create(true).append(true).open(path).ok())
            .map(Mutex::new);
        IamCheck { roles, scope, denials: Mutex::new(Vec::new()), checked: AtomicU64::new(0), usage }
    }

    /// The check of the SAM template at `template` (transformed once per process, cached), its
    /// intrinsics resolved in `env`.
    pub fn from_template(
        template: &std::path::Path,
        env: &Environment,
        ses_sandbox: bool,
    ) -> Result<IamCheck, RoleError> {
        let cfn = roles::transformed(template)?;
        let roles = Roles::from_transformed(&cfn, env)?;
        let scope = Scope {
            partition: env.partition.clone(),
            region: env.region.clone(),
            account: env.account.clone(),
            ses_sandbox,
        };
        Ok(IamCheck::new(roles, scope))
    }

    /// The functions' roles it judges with.
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// Every refusal so far.
    pub fn denials(&self) -> Vec<Denial> {
        self.denials.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Every refusal so far, forgotten: for a test that expects some.
    pub fn take_denials(&self) -> Vec<Denial> {
        std::mem::take(&mut *self.denials.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// How many calls were judged (allowed or not).
    pub fn checked(&self) -> u64 {
        self.checked.load(Ordering::Relaxed)
    }

    /// The refusals `call` earns, none if it is allowed.
    pub fn judge(&self, call: &Call) -> Vec<Denial> {
        let operation = call.operation.clone().unwrap_or_else(|| format!("{} {}", call.method, call.path));
        let denial = |function: &str, role: Option<&Role>, why: Why, auth: Option<&Authorization>| Denial {
            function: function.to_owned(),
            operation: operation.clone(),
            action: auth.map(|a| a.action.clone()).unwrap_or_default(),
            resource: auth.map(|a| a.resource.clone()).unwrap_or_default(),
            why,
            role: role.map(|r| r.role.clone()),
            managed: role.map(|r| r.managed.clone()).unwrap_or_default(),
        };
        let Some(principal) = call.principal.as_deref() else {
            return vec![denial("(unsigned)", None, Why::Unsigned, None)];
        };
        let Some(role) = self.roles.by_principal.get(principal) else {
            return vec![denial(principal, None, Why::UnknownPrincipal, None)];
        };
        let scope = Scope {
            region: call.region.clone().unwrap_or_else(|| self.scope.region.clone()),
            ..self.scope.clone()
        };
        let authorizations = match actions::authorizations(call, &scope) {
            Ok(all) => all,
            Err(unmapped) => {
                return vec![denial(principal, Some(role), Why::UnknownOperation(unmapped.why), None)];
            }
        };
        authorizations
            .iter()
            .filter_map(|auth| {
                let why = match policy::evaluate(&role.policies, &auth.action, &auth.resource, &auth.context)
                {
                    Ok(Decision::Allowed { by }) => {
                        self.note_usage(principal, auth, &by);
                        return None;
                    }
                    Ok(Decision::ExplicitDeny { by }) => Why::ExplicitDeny { statement: by },
                    Ok(Decision::ImplicitDeny) => Why::NoAllow,
                    Err(e) => Why::CannotJudge(e.to_string()),
                };
                Some(denial(principal, Some(role), why, Some(auth)))
            })
            .collect()
    }

    fn note_usage(&self, principal: &str, auth: &Authorization, statement: &str) {
        if let Some(file) = &self.usage {
            use std::io::Write;
            let line = format!("{principal}\t{}\t{}\t{statement}\n", auth.action, auth.resource);
            let _ = file.lock().unwrap_or_else(|p| p.into_inner()).write_all(line.as_bytes());
        }
    }

    /// The service's own answer to a refused call.
    fn refusal(&self, call: &Call, denial: &Denial) -> Answer {
        let caller = self.roles.by_principal.get(&denial.function).map_or_else(
            || format!("arn:aws:iam::{}:user/{}", self.scope.account, denial.function),
            |r| r.caller_arn.clone(),
        );
        let (action, resource) = if denial.action.is_empty() {
            (format!("{}:{}", call.service.iam_prefix(), denial.operation), "*".to_owned())
        } else {
            (denial.action.clone(), denial.resource.clone())
        };
        let because = match &denial.why {
            Why::ExplicitDeny { .. } => "with an explicit deny in an identity-based policy".to_owned(),
            _ => format!("because no identity-based policy allows the {action} action"),
        };
        let message = format!(
            "User: {caller} is not authorized to perform: {action} on resource: {resource} {because}"
        );
        match call.service {
            Service::Sns => Answer::new(
                StatusCode::FORBIDDEN,
                "text/xml",
                format!(
                    "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>{}</Message></Error><RequestId>vigie-iam-check</RequestId></ErrorResponse>",
                    xml_escape(&message)
                ),
            ),
            Service::Ses => Answer::new(StatusCode::FORBIDDEN, "application/json", serde_json::json!({"message": message}).to_string())
                .with_header("x-amzn-errortype", "AccessDeniedException"),
            _ => Answer::new(
                StatusCode::BAD_REQUEST,
                "application/x-amz-json-1.0",
                serde_json::json!({"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message}).to_string(),
            ),
        }
    }
}

pub(crate) fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

impl Rule for IamCheck {
    fn before<'a>(&'a self, call: &'a Call) -> RuleFuture<'a> {
        Box::pin(async move {
            if call.service == Service::Other && call.path.starts_with("/moto-api") {
                // The emulator's own API: never a function's call.
                return Verdict::Continue;
            }
            self.checked.fetch_add(1, Ordering::Relaxed);
            let denials = self.judge(call);
            let Some(first) = denials.first() else { return Verdict::Continue };
            let answer = self.refusal(call, first);
            for d in &denials {
                tracing::warn!(denial = %d, "IAM contract: refused");
            }
            self.denials.lock().unwrap_or_else(|p| p.into_inner()).extend(denials);
            Verdict::Answer(answer)
        })
    }
}
