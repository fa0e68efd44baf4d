//! Which pixels drove a class score.
//!
//! - **Grad-CAM** (Selvaraju et al. 2017) on the last conv features (`features`, 1280 x 7 x 7):
//!   each channel is weighted by the mean gradient of the class score over it, the weighted sum is
//!   kept where positive, then upsampled smoothly (Catmull-Rom) to the 224 x 224 crop.
//! - **SmoothGrad** (Smilkov et al. 2017) of input gradients: the mean over noisy copies of the
//!   photo of |d score / d pixel| (max over colour channels), a map at full input resolution.
//!
//! Both run on the prediction's own device with Burn's autodiff. The model's weights stay on the
//! plain device: mixed with autodiff tensors they act as constants, so only the tensor we
//! differentiate by (features or pixels) carries a graph, and nothing is copied.

use burn::prelude::*;
use burn::tensor::Distribution;
use image::ImageBuffer;
use image::imageops::FilterType;

use super::model::EfficientNetLite;
use super::readback::{ReadbackError, read_floats};
pub use crate::formats::records::SaliencyMethod;

/// What saliency needs of a classifier: its last conv features, and class logits from their
/// global average pool. The ImageNet model and a personal model both provide them.
pub trait Classifier {
    /// # Shapes
    /// - `images`: `[batch, 3, 224, 224]`; output `[batch, channels, h, w]`
    fn features(&self, images: Tensor<4>) -> Tensor<4>;
    /// # Shapes
    /// - `pooled`: `[batch, channels]`; output `[batch, classes]`
    fn head(&self, pooled: Tensor<2>) -> Tensor<2>;
}

impl Classifier for EfficientNetLite {
    fn features(&self, images: Tensor<4>) -> Tensor<4> {
        EfficientNetLite::features(self, images)
    }

    fn head(&self, pooled: Tensor<2>) -> Tensor<2> {
        EfficientNetLite::head(self, pooled)
    }
}

/// SmoothGrad settings: 12 noisy copies with noise of 15% of the input range (the paper finds
/// 10-20% best; 2.0 is the width of the [-1, 1] input range).
pub const SMOOTHGRAD_SAMPLES: usize = 12;
pub const SMOOTHGRAD_NOISE: f64 = 0.15 * 2.0;

/// A saliency map over the model's 224 x 224 crop, row-major, scaled to 0..1 (1 = most salient).
#[derive(Debug, Clone, PartialEq)]
pub struct SaliencyMap {
    pub side: usize,
    pub values: Vec<f32>,
}

impl SaliencyMap {
    /// Quantised to bytes for the trip to the page.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.values
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect()
    }
}

/// Grad-CAM of `class` from a feature map, at the feature map's resolution (7 x 7), not normalised.
///
/// # Shapes
/// - `features`: `[1, 1280, h, w]` (from `EfficientNetLite::features`, on the plain device)
/// - output: `h * w` values, row-major
pub async fn grad_cam_raw(
    model: &impl Classifier,
    features: Tensor<4>,
    class: usize,
) -> Result<(usize, usize, Vec<f32>), ReadbackError> {
    let [_, _, h, w] = features.dims();
    let tracked = features.clone().autodiff().require_grad();
    let logits = model.head(EfficientNetLite::pool(tracked.clone()));
    let score = logits.narrow(1, class, 1).sum();
    let grads = score.backward();
    let gradient = tracked.grad(&grads).ok_or_else(|| {
        ReadbackError("the class score has no gradient with respect to the features".into())
    })?;
    let weights = gradient.mean_dims(&[2, 3]); // [1, C, 1, 1]
    let cam = (features * weights).sum_dim(1).clamp_min(0.0); // [1, 1, h, w]
    Ok((h, w, read_floats(cam).await?))
}

/// Grad-CAM of `class` upsampled to the `side` x `side` crop (the backbone's input size) and
/// scaled to 0..1.
pub async fn grad_cam(
    model: &impl Classifier,
    features: Tensor<4>,
    class: usize,
    side: usize,
) -> Result<SaliencyMap, ReadbackError> {
    let (h, w, raw) = grad_cam_raw(model, features, class).await?;
    Ok(normalise_to_max(upsample(&raw, w, h, side)))
}

/// SmoothGrad of `class` for one preprocessed image, scaled to 0..1 (99th percentile = 1).
///
/// # Shapes
/// - `image`: `[1, 3, size, size]`
pub async fn smooth_grad(
    model: &impl Classifier,
    image: Tensor<4>,
    class: usize,
    samples: usize,
) -> Result<SaliencyMap, ReadbackError> {
    let [_, channels, h, w] = image.dims();
    let device = image.device();
    let noise = Tensor::<4>::random(
        [samples, channels, h, w],
        Distribution::Normal(0.0, SMOOTHGRAD_NOISE),
        &device,
    );
    let noisy = (image.repeat_dim(0, samples) + noise)
        .autodiff()
        .require_grad();
    let logits = model.head(EfficientNetLite::pool(model.features(noisy.clone())));
    let score = logits.narrow(1, class, 1).sum();
    let grads = score.backward();
    let gradient = noisy.grad(&grads).ok_or_else(|| {
        ReadbackError("the class score has no gradient with respect to the pixels".into())
    })?;
    // |gradient|, strongest colour channel, averaged over the noisy copies.
    let map = gradient.abs().max_dim(1).mean_dim(0); // [1, 1, h, w]
    let values = read_floats(map).await?;
    Ok(normalise_to_percentile(
        SaliencyMap { side: h, values },
        0.99,
    ))
}

/// Smooth upsampling of a small map (e.g. 7 x 7) to `side` x `side`; negative overshoot clipped.
pub fn upsample(values: &[f32], width: usize, height: usize, side: usize) -> SaliencyMap {
    let small: ImageBuffer<image::Luma<f32>, Vec<f32>> =
        ImageBuffer::from_raw(width as u32, height as u32, values.to_vec())
            .unwrap_or_else(|| ImageBuffer::new(1, 1));
    let big = image::imageops::resize(&small, side as u32, side as u32, FilterType::CatmullRom);
    SaliencyMap {
        side,
        values: big.into_raw().into_iter().map(|v| v.max(0.0)).collect(),
    }
}

fn normalise_to_max(mut map: SaliencyMap) -> SaliencyMap {
    let max = map.values.iter().copied().fold(0.0f32, f32::max);
    if max > 0.0 {
        map.values.iter_mut().for_each(|v| *v /= max);
    }
    map
}

/// Scales so that the `q` quantile is 1 (clipping above): gradient maps have a few extreme pixels
/// that would otherwise wash the rest out.
fn normalise_to_percentile(mut map: SaliencyMap, q: f64) -> SaliencyMap {
    let mut sorted = map.values.clone();
    sorted.sort_by(f32::total_cmp);
    let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    let top = sorted.get(index).copied().unwrap_or(0.0);
    if top > 0.0 {
        map.values.iter_mut().for_each(|v| *v = (*v / top).min(1.0));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsampling_keeps_the_hot_corner_hot() {
        let mut small = vec![0.0; 49];
        small[0] = 1.0; // top-left cell
        let map = normalise_to_max(upsample(&small, 7, 7, 224));
        assert_eq!(map.values.len(), 224 * 224);
        let at = |x: usize, y: usize| map.values[y * 224 + x];
        assert!(at(10, 10) > 0.8, "{}", at(10, 10));
        assert!(at(200, 200) < 0.01);
        assert!(map.values.iter().all(|v| (0.0..=1.0).contains(v)));
        // smooth: no jump larger than a small step between neighbours
        let max_step = (0..223)
            .map(|x| (at(x + 1, 16) - at(x, 16)).abs())
            .fold(0.0, f32::max);
        assert!(max_step < 0.1, "{max_step}");
    }

    #[test]
    fn percentile_normalisation_clips_outliers() {
        let mut values = vec![0.1; 1000];
        values[0] = 100.0;
        let map = normalise_to_percentile(SaliencyMap { side: 1, values }, 0.99);
        assert_eq!(map.values[0], 1.0);
        assert!((map.values[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn method_ids_round_trip() {
        for method in SaliencyMethod::ALL {
            assert_eq!(SaliencyMethod::from_id(method.id()), Some(method));
        }
    }
}
