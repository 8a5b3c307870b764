//! The pages in Chromium: accessibility, keyboard, screenshots.

mod browser_smoke;
mod browser_web;
