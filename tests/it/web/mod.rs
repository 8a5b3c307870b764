//! The web function: pages, the JSON API against its document, sign-in, authorization, limits, bad
//! HTTP, faults.

mod bad_http;
mod web_alerts;
mod web_all_clear;
mod web_authz;
mod web_erasure;
mod web_faults;
mod web_members;
mod web_moderation;
mod web_openapi;
mod web_pages;
mod web_police_called;
mod web_privacy;
mod web_rate_limits;
mod web_schemathesis;
mod web_settings;
mod web_signin;
mod web_sms_budget;
mod web_taken;
mod web_town;
