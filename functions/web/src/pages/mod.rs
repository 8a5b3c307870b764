//! The pages, one module per area. Each exposes `routes()`, merged in [`crate::app::router`].

pub mod admin;
pub mod alerts;
pub mod assets;
pub mod feed;
pub mod join;
pub mod lang;
pub mod members;
pub mod my_data;
pub mod police;
pub mod privacy;
pub mod settings;
pub mod signin;
pub mod town;
pub mod unsubscribe;
