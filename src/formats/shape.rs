//! The network's fixed sizes and input normalisation, shared with code that builds without Burn
//! (the page, the export formats).

/// Channels out of the last conv: the width of `features` and of `embed`.
pub const FEATURE_CHANNELS: usize = 1280;
/// Side of the square input the model was trained on.
pub const INPUT_SIZE: usize = 224;
/// ImageNet-1k.
pub const IMAGENET_CLASSES: usize = 1000;

/// Number of MBConv blocks (sum of the stage repeats).
pub const BLOCK_COUNT: usize = 16;

/// EfficientNet-Lite's input normalisation: `(v / 255 - INPUT_MEAN) / INPUT_STD`, about [-1, 1]
/// (the efficientnet-lite reference uses mean 127 and std 128 on 0..255 values).
pub const INPUT_MEAN: f32 = 0.498;
pub const INPUT_STD: f32 = 0.502;
