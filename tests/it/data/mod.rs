//! The store's ports and the member directory against the emulator.

mod directory;
mod store;
