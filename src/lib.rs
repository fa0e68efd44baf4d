//! Glimpse: a private image classifier that runs entirely in the browser.
//!
//! `ml` and `engine` are plain Burn + `image` and build natively for the tests; `worker` and `ui`
//! are the browser edges and exist only on wasm32. `formats` (files and plain records),
//! `protocol` (the messages), `work_queue`, `one_at_a_time`, `model_state`, `photo_tally` and `backend_race` (the
//! page's plain logic) build without Burn. The `engine` feature (on by default) brings Burn in:
//! the page's binary is built without it, so it carries none of the engine's code or start-up
//! work, only the plain data it exchanges with the worker.

pub mod backend_race;
#[cfg(feature = "engine")]
pub mod engine;
pub mod formats;
#[cfg(feature = "engine")]
pub mod ml;
pub mod model_state;
pub mod one_at_a_time;
pub mod photo_tally;
pub mod protocol;
pub mod work_queue;

#[cfg(target_arch = "wasm32")]
pub mod gpu_adapter;
#[cfg(target_arch = "wasm32")]
pub mod store;
#[cfg(target_arch = "wasm32")]
pub mod ui;
#[cfg(all(target_arch = "wasm32", feature = "engine"))]
pub mod worker;
