//! EfficientNet-Lite0 written as Burn modules, split so that later stages can reach its parts:
//! `features` (the Grad-CAM layer), `embed` (the vector the personal heads train on) and `head`.
//!
//! Batch-norm is folded into each convolution's weight and bias when the weights are converted
//! (`scripts/convert_weights.py`), so every conv here carries a bias and no norm layer follows it.
//! Stride-2 convolutions use TF "SAME" padding (pad the bottom/right more), which is what Burn's
//! `PaddingConfig2d::Same` computes; the stride-1 ones are symmetric either way.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

/// Channels out of the last conv: the width of `features` and of `embed`.
pub const FEATURE_CHANNELS: usize = 1280;
/// Side of the square input the model was trained on.
pub const INPUT_SIZE: usize = 224;
/// ImageNet-1k.
pub const IMAGENET_CLASSES: usize = 1000;

/// One MBConv stage of EfficientNet-Lite0 (Tan & Le 2019, table 1; Lite keeps the stem and head
/// widths fixed and drops squeeze-excite).
struct Stage {
    repeats: usize,
    kernel: usize,
    stride: usize,
    expand_ratio: usize,
    channels_in: usize,
    channels_out: usize,
}

const STAGES: [Stage; 7] = [
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

/// Number of MBConv blocks (sum of the stage repeats).
pub const BLOCK_COUNT: usize = 16;

/// Builds an EfficientNet-Lite0 with placeholder weights; `weights::load_imagenet` fills them.
#[derive(Config, Debug)]
pub struct EfficientNetLite0Config {
    /// Width of the classifier: 1000 for ImageNet, the number of classes for a personal head.
    #[config(default = "IMAGENET_CLASSES")]
    pub num_classes: usize,
}

/// Conv with folded batch-norm and an optional ReLU6.
#[derive(Module, Debug)]
pub struct ConvUnit {
    pub conv: Conv2d,
    pub relu6: bool,
}

impl ConvUnit {
    fn new(
        device: &Device,
        channels: [usize; 2],
        kernel: usize,
        stride: usize,
        groups: usize,
        relu6: bool,
    ) -> Self {
        let conv = Conv2dConfig::new(channels, [kernel, kernel])
            .with_stride([stride, stride])
            .with_groups(groups)
            .with_padding(PaddingConfig2d::Same)
            .with_bias(true)
            // The loader overwrites every weight; a constant init is cheap and deterministic.
            .with_initializer(Initializer::Zeros)
            .init(device);
        Self { conv, relu6 }
    }

    /// # Shapes
    /// - `x`: `[batch, channels_in, height, width]`
    /// - output: `[batch, channels_out, height / stride, width / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.conv.forward(x);
        if self.relu6 { y.clamp(0.0, 6.0) } else { y }
    }
}

/// Inverted residual block: 1x1 expand (absent when the ratio is 1), depthwise kxk, 1x1 project.
#[derive(Module, Debug)]
pub struct MbConv {
    pub expand: Option<ConvUnit>,
    pub depthwise: ConvUnit,
    pub project: ConvUnit,
    pub residual: bool,
}

impl MbConv {
    /// # Shapes
    /// - `x`: `[batch, channels_in, h, w]`
    /// - output: `[batch, channels_out, h / stride, w / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = match &self.expand {
            Some(expand) => expand.forward(x.clone()),
            None => x.clone(),
        };
        y = self.depthwise.forward(y);
        y = self.project.forward(y);
        if self.residual { y + x } else { y }
    }
}

#[derive(Module, Debug)]
pub struct EfficientNetLite0 {
    pub stem: ConvUnit,
    pub blocks: Vec<MbConv>,
    pub head_conv: ConvUnit,
    pub classifier: Linear,
}

impl EfficientNetLite0Config {
    pub fn init(&self, device: &Device) -> EfficientNetLite0 {
        let stem = ConvUnit::new(device, [3, 32], 3, 2, 1, true);
        let mut blocks = Vec::with_capacity(BLOCK_COUNT);
        for stage in &STAGES {
            for repeat in 0..stage.repeats {
                let channels_in = if repeat == 0 {
                    stage.channels_in
                } else {
                    stage.channels_out
                };
                let stride = if repeat == 0 { stage.stride } else { 1 };
                let hidden = channels_in * stage.expand_ratio;
                let expand = (stage.expand_ratio != 1)
                    .then(|| ConvUnit::new(device, [channels_in, hidden], 1, 1, 1, true));
                blocks.push(MbConv {
                    expand,
                    depthwise: ConvUnit::new(
                        device,
                        [hidden, hidden],
                        stage.kernel,
                        stride,
                        hidden,
                        true,
                    ),
                    project: ConvUnit::new(device, [hidden, stage.channels_out], 1, 1, 1, false),
                    residual: stride == 1 && channels_in == stage.channels_out,
                });
            }
        }
        EfficientNetLite0 {
            stem,
            blocks,
            head_conv: ConvUnit::new(device, [320, FEATURE_CHANNELS], 1, 1, 1, true),
            classifier: LinearConfig::new(FEATURE_CHANNELS, self.num_classes)
                .with_initializer(Initializer::Zeros)
                .init(device),
        }
    }
}

impl EfficientNetLite0 {
    /// The last convolutional feature map, after the head conv's ReLU6: the Grad-CAM layer.
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, 224, 224]`, normalised to [-1, 1] (see `preprocess`)
    /// - output: `[batch, 1280, 7, 7]`
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let mut x = self.stem.forward(images);
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.head_conv.forward(x)
    }

    /// Global average pool of a feature map.
    ///
    /// # Shapes
    /// - `features`: `[batch, 1280, h, w]`
    /// - output: `[batch, 1280]`
    pub fn pool(features: Tensor<4>) -> Tensor<2> {
        let [batch, channels, _, _] = features.dims();
        features.mean_dims(&[2, 3]).reshape([batch, channels])
    }

    /// The embedding a head classifies.
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, 224, 224]`
    /// - output: `[batch, 1280]`
    pub fn embed(&self, images: Tensor<4>) -> Tensor<2> {
        Self::pool(self.features(images))
    }

    /// Class scores (logits) of an embedding.
    ///
    /// # Shapes
    /// - `embedding`: `[batch, 1280]`
    /// - output: `[batch, num_classes]`
    pub fn head(&self, embedding: Tensor<2>) -> Tensor<2> {
        self.classifier.forward(embedding)
    }

    /// Logits of a batch of preprocessed images.
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, 224, 224]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.head(self.embed(images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_has_sixteen_blocks_with_the_reference_strides() {
        let model = EfficientNetLite0Config::new().init(&Device::flex());
        assert_eq!(model.blocks.len(), BLOCK_COUNT);
        let strided: Vec<usize> = model
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.depthwise.conv.stride == [2, 2])
            .map(|(i, _)| i)
            .collect();
        assert_eq!(strided, vec![1, 3, 5, 11]);
        assert!(model.blocks[0].expand.is_none());
        assert_eq!(model.blocks.iter().filter(|b| b.residual).count(), 9);
    }

    #[test]
    fn shapes_flow_from_image_to_logits() {
        let device = Device::flex();
        let model = EfficientNetLite0Config::new()
            .with_num_classes(3)
            .init(&device);
        let images = Tensor::<4>::zeros([2, 3, INPUT_SIZE, INPUT_SIZE], &device);
        assert_eq!(
            model.features(images.clone()).dims(),
            [2, FEATURE_CHANNELS, 7, 7]
        );
        assert_eq!(model.forward(images).dims(), [2, 3]);
    }
}
