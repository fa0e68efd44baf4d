//! "Head + last blocks": fine-tunes the last MBConv blocks and the head conv together with a
//! personal head, with real autodiff through them. Everything before them stays frozen and runs
//! on the plain device (no graph, no gradients), so a step costs one frozen forward plus a short
//! forward/backward. Batch-norm is already folded into the convolutions, so it is frozen by
//! construction. Each step draws fresh augmented views of the training photos.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams};
use std::borrow::Cow;

use burn::prelude::*;
use image::RgbImage;

use super::augment::random_view;
use super::model::{ConvUnit, EfficientNetLite, MbConv, images};
use super::personal_head::{PersonalHead, class_weights};
use super::preprocess::normalise;
use super::readback::{ReadbackError, read_floats};
use super::split::SplitMix64;

/// A training photo as fine-tuning reads it: each step asks for the photos it picked, so a set
/// kept compressed is decoded a batch at a time, never all at once.
pub trait TrainingPhoto {
    fn image(&self) -> Cow<'_, RgbImage>;
}

impl TrainingPhoto for RgbImage {
    fn image(&self) -> Cow<'_, RgbImage> {
        Cow::Borrowed(self)
    }
}

impl<T: TrainingPhoto> TrainingPhoto for &T {
    fn image(&self) -> Cow<'_, RgbImage> {
        (**self).image()
    }
}

/// The trainable top of the network.
#[derive(Module, Debug)]
pub struct TunableTop {
    pub blocks: Vec<MbConv>,
    pub head_conv: ConvUnit,
    pub head: PersonalHead,
}

impl TunableTop {
    /// Copies the last `tuned_blocks` blocks and the head conv of `model`, topped by `head`.
    pub fn from_model(model: &EfficientNetLite, tuned_blocks: usize, head: PersonalHead) -> Self {
        let count = model.blocks.len();
        let first = count - tuned_blocks.min(count);
        Self {
            blocks: model.blocks[first..].to_vec(),
            head_conv: model.head_conv.clone(),
            head,
        }
    }

    /// # Shapes
    /// - `x`: activations entering the first tuned block, `[batch, c, h, w]`
    /// - output: `[batch, classes]` logits
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.head.forward(self.embed(x))
    }

    /// The tuned network's embedding, which its head classifies.
    ///
    /// # Shapes
    /// - `x`: activations entering the first tuned block, `[batch, c, h, w]`
    /// - output: `[batch, 1280]`
    pub fn embed(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = x;
        for block in &self.blocks {
            x = block.forward(x);
        }
        EfficientNetLite::pool(self.head_conv.forward(x))
    }
}

/// The frozen part: stem and every block before the tuned ones.
///
/// # Shapes
/// - `images`: `[batch, 3, size, size]`
/// - output: activations entering block `blocks - tuned_blocks`
pub fn frozen_prefix(
    model: &EfficientNetLite,
    tuned_blocks: usize,
    images: Tensor<4>,
) -> Tensor<4> {
    let count = model.blocks.len();
    let first = count - tuned_blocks.min(count);
    let mut x = model.stem.forward(images);
    for block in &model.blocks[..first] {
        x = block.forward(x);
    }
    x
}

#[derive(Config, Debug, PartialEq)]
pub struct FineTuneConfig {
    #[config(default = 3)]
    pub tuned_blocks: usize,
    #[config(default = 30)]
    pub steps: usize,
    #[config(default = 8)]
    pub batch_size: usize,
    /// Lower than the head-only rate: the blocks start from good ImageNet weights.
    #[config(default = 2e-4)]
    pub learning_rate: f64,
    #[config(default = 1e-4)]
    pub weight_decay: f32,
    #[config(default = 42)]
    pub seed: u64,
}

fn batch_tensor(views: &[RgbImage], device: &Device) -> Tensor<4> {
    let pixels: Vec<f32> = views.iter().flat_map(normalise).collect();
    images(pixels, views.len(), device)
}

/// Mean (class-weighted) cross-entropy of `top` on the clean views of `photos`.
pub async fn loss_on(
    model: &EfficientNetLite,
    top: &TunableTop,
    views: &[RgbImage],
    labels: &[usize],
    weights: &[f32],
    device: &Device,
) -> Result<f64, ReadbackError> {
    let tuned = top.blocks.len();
    let logits = top
        .valid()
        .forward(frozen_prefix(model, tuned, batch_tensor(views, device)));
    let targets = Tensor::from_data(
        TensorData::new(
            labels.iter().map(|&l| l as i64).collect::<Vec<_>>(),
            [labels.len()],
        ),
        device,
    );
    let loss = CrossEntropyLossConfig::new()
        .with_weights(Some(weights.to_vec()))
        .init(device)
        .forward(logits, targets);
    Ok(f64::from(read_floats(loss).await?[0]))
}

/// Trains `top` on augmented views of `photos`; `on_step(step, loss)` resolves to false to stop.
pub async fn fine_tune<P: TrainingPhoto, F: Future<Output = bool>>(
    model: &EfficientNetLite,
    top: TunableTop,
    photos: &[(P, usize)],
    classes: usize,
    config: &FineTuneConfig,
    mut on_step: impl FnMut(usize, f64) -> F,
) -> Result<TunableTop, ReadbackError> {
    let device = model.head_conv.conv.weight.device();
    let labels: Vec<usize> = photos.iter().map(|(_, l)| *l).collect();
    let weights = class_weights(&labels, classes);
    let loss_fn = CrossEntropyLossConfig::new()
        .with_weights(Some(weights))
        .init(&device);
    let mut optimizer = AdamConfig::new()
        .with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay)))
        .init();
    let mut rng = SplitMix64::new(config.seed);
    let mut top = top.train();
    let tuned = top.blocks.len();
    for step in 1..=config.steps {
        let picks: Vec<usize> = (0..config.batch_size.max(1))
            .map(|_| rng.below(photos.len()))
            .collect();
        let views: Vec<RgbImage> = picks
            .iter()
            .map(|&i| random_view(&photos[i].0.image(), model.backbone(), &mut rng))
            .collect();
        let frozen = frozen_prefix(model, tuned, batch_tensor(&views, &device)).autodiff();
        let targets = Tensor::from_data(
            TensorData::new(
                picks
                    .iter()
                    .map(|&i| photos[i].1 as i64)
                    .collect::<Vec<_>>(),
                [picks.len()],
            ),
            &frozen.device(),
        );
        let loss = loss_fn.forward(top.forward(frozen), targets);
        let value = f64::from(read_floats(loss.clone().inner()).await?[0]);
        let grads = GradientsParams::from_grads(loss.backward(), &top);
        top = optimizer.step(config.learning_rate, top, grads);
        if !on_step(step, value).await {
            break;
        }
    }
    Ok(top.valid())
}
