//! The model and everything that feeds it or reads it: pure Burn and `image`, no browser, no UI.

pub mod augment;
pub mod fine_tune;
pub mod labels;
pub mod metrics;
pub mod model;
pub mod personal_head;
pub mod predict;
pub mod preprocess;
pub mod readback;
pub mod saliency;
pub mod split;
pub mod weights;
