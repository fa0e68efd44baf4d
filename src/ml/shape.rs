//! The network's fixed sizes, shared with code that builds without Burn (the page, the export
//! format).

/// Channels out of the last conv: the width of `features` and of `embed`.
pub const FEATURE_CHANNELS: usize = 1280;
/// Side of the square input the model was trained on.
pub const INPUT_SIZE: usize = 224;
/// ImageNet-1k.
pub const IMAGENET_CLASSES: usize = 1000;

/// Number of MBConv blocks (sum of the stage repeats).
pub const BLOCK_COUNT: usize = 16;
