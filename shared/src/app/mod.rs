//! The use cases: what the service does, once, whatever the door (a page, the JSON API, an
//! SMS). Each takes the ports it needs and typed inputs, and returns a typed outcome or a typed
//! problem: no HTTP, no HTML, no language. The doors only translate (a page with the i18n
//! tables, the API with its stable codes, the SMS function with its reply texts).

pub mod alerts;
pub mod budget;
pub mod erasure;
pub mod feed;
pub mod import;
pub mod join;
pub mod members;
pub mod moderation;
pub mod neighbours;
pub mod phone;
pub mod settings;
pub mod signin;
pub mod town;

use crate::domain::SourceIp;
use crate::model::TokenHash;

/// The rate-limit key of what `kind` of request came from `ip`'s network (hashed: the limits
/// never hold an address). Requests whose address is unknown (off API Gateway) share one budget.
fn network_limit_key(kind: &str, ip: Option<&SourceIp>) -> String {
    match ip {
        Some(ip) => format!("{kind}-ip#{}", TokenHash::of(&ip.network()).as_str()),
        None => format!("{kind}-ip#unknown"),
    }
}
