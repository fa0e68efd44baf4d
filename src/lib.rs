//! Glimpse: a private image classifier that runs entirely in the browser.
//!
//! `ml` and `engine` are plain Burn + `image` and build natively for the tests; `worker` and `ui`
//! are the browser edges and exist only on wasm32.

pub mod engine;
pub mod ml;
pub mod protocol;

#[cfg(target_arch = "wasm32")]
pub mod store;
#[cfg(target_arch = "wasm32")]
pub mod ui;
#[cfg(target_arch = "wasm32")]
pub mod worker;
