//! The model and everything that feeds it or reads it: pure Burn and `image`, no browser, no UI.
//! Only the engine's side builds it (the `engine` feature); its plain records are in `formats`.

pub mod augment;
pub mod depthwise;
pub mod fine_tune;
pub mod gpu_kernels;
pub mod labels;
pub mod model;
pub mod patches;
pub mod personal_head;
pub mod pointwise;
pub mod predict;
pub mod preprocess;
pub mod readback;
pub mod saliency;
pub mod split;
pub mod weights;
