//! The pages, one module per area. Each exposes `routes()`, merged in [`crate::app::router`].

pub mod alerts;
pub mod assets;
pub mod feed;
pub mod lang;
pub mod settings;
pub mod signin;
pub mod unsubscribe;
