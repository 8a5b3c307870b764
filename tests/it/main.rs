//! vigie's integration tests, one binary with a module per area: the workspace is linked once
//! against the AWS SDK, not once per file. The tests that install a global log subscriber
//! (`tests/tests/privacy.rs`, `tests/tests/web_join_limits.rs`) and the soak (`make soak`) keep
//! processes of their own in `tests/tests/`.
//!
//! One area: `cargo test -p vigie-tests --test it sms::` (or `web::`, `reliability::`, `data::`,
//! `browser::`); one file: `cargo test -p vigie-tests --test it web::web_authz::`.

mod browser;
mod data;
mod reliability;
mod sms;
mod web;
