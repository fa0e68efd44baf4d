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

/// One MBConv stage of EfficientNet-Lite0 (Tan & Le 2019, table 1; Lite keeps the stem and head
/// widths fixed and drops squeeze-excite).
pub struct Stage {
    pub repeats: usize,
    pub kernel: usize,
    pub stride: usize,
    pub expand_ratio: usize,
    pub channels_in: usize,
    pub channels_out: usize,
}

pub const STAGES: [Stage; 7] = [
    Stage {
        repeats: 1,
        kernel: 3,
        stride: 1,
        expand_ratio: 1,
        channels_in: 32,
        channels_out: 16,
    },
    Stage {
        repeats: 2,
        kernel: 3,
        stride: 2,
        expand_ratio: 6,
        channels_in: 16,
        channels_out: 24,
    },
    Stage {
        repeats: 2,
        kernel: 5,
        stride: 2,
        expand_ratio: 6,
        channels_in: 24,
        channels_out: 40,
    },
    Stage {
        repeats: 3,
        kernel: 3,
        stride: 2,
        expand_ratio: 6,
        channels_in: 40,
        channels_out: 80,
    },
    Stage {
        repeats: 3,
        kernel: 5,
        stride: 1,
        expand_ratio: 6,
        channels_in: 80,
        channels_out: 112,
    },
    Stage {
        repeats: 4,
        kernel: 5,
        stride: 2,
        expand_ratio: 6,
        channels_in: 112,
        channels_out: 192,
    },
    Stage {
        repeats: 1,
        kernel: 3,
        stride: 1,
        expand_ratio: 6,
        channels_in: 192,
        channels_out: 320,
    },
];

/// One MBConv block, as the stages lay them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockShape {
    pub kernel: usize,
    pub stride: usize,
    pub expand_ratio: usize,
    pub channels_in: usize,
    pub channels_out: usize,
}

impl BlockShape {
    /// The block adds its input to its output (same shape in and out).
    pub fn residual(&self) -> bool {
        self.stride == 1 && self.channels_in == self.channels_out
    }
}

/// The network's `BLOCK_COUNT` blocks in order: a stage's first block takes the stage's input
/// and stride, its repeats take its output at stride 1.
pub fn block_shapes() -> impl Iterator<Item = BlockShape> {
    STAGES.iter().flat_map(|stage| {
        (0..stage.repeats).map(move |repeat| BlockShape {
            kernel: stage.kernel,
            stride: if repeat == 0 { stage.stride } else { 1 },
            expand_ratio: stage.expand_ratio,
            channels_in: if repeat == 0 {
                stage.channels_in
            } else {
                stage.channels_out
            },
            channels_out: stage.channels_out,
        })
    })
}
