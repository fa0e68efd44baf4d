//! The model and everything that feeds it or reads it: pure Burn and `image`, no browser, no UI.
//! Without the `engine` feature (the page's build) only the plain-data parts remain.

pub mod labels;
pub mod metrics;
pub mod preprocess;
pub mod records;
pub mod shape;
pub mod split;

#[cfg(feature = "engine")]
pub mod augment;
#[cfg(feature = "engine")]
pub mod depthwise;
#[cfg(feature = "engine")]
pub mod fine_tune;
#[cfg(feature = "engine")]
pub mod gpu_kernels;
#[cfg(feature = "engine")]
pub mod model;
#[cfg(feature = "engine")]
pub mod patches;
#[cfg(feature = "engine")]
pub mod personal_head;
#[cfg(feature = "engine")]
pub mod pointwise;
#[cfg(feature = "engine")]
pub mod predict;
#[cfg(feature = "engine")]
pub mod readback;
#[cfg(feature = "engine")]
pub mod saliency;
#[cfg(feature = "engine")]
pub mod weights;
