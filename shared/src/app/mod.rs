//! The use cases: what the service does, once, whatever the door (a page, the JSON API, an
//! SMS). Each takes the ports it needs and typed inputs, and returns a typed outcome or a typed
//! problem: no HTTP, no HTML, no language. The doors only translate (a page with the i18n
//! tables, the API with its stable codes, the SMS function with its reply texts).

pub mod alerts;
pub mod feed;
pub mod import;
pub mod join;
pub mod members;
pub mod neighbours;
pub mod settings;
pub mod signin;
