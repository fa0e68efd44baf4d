//! Scores of a batch of images: softmax over the head's logits, then the top classes per image.
//! The ranking is done on the CPU: 1000 floats per photo is nothing to read back, and it spares a
//! sort kernel on every backend.

use burn::prelude::*;
use burn::tensor::activation::softmax;

use super::model::EfficientNetLite;
use super::readback::{ReadbackError, read_floats};

/// One class and the model's confidence in it (softmax probability, 0..1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassScore {
    pub class: usize,
    pub confidence: f32,
}

/// Probabilities of every class for each image.
///
/// # Shapes
/// - `images`: `[batch, 3, 224, 224]`
/// - output: `batch` vectors of `num_classes` probabilities
pub async fn probabilities(
    model: &EfficientNetLite,
    images: Tensor<4>,
) -> Result<Vec<Vec<f32>>, ReadbackError> {
    probabilities_of_features(model, model.features(images)).await
}

/// Probabilities of every class from already computed features (so Grad-CAM can reuse them).
///
/// # Shapes
/// - `features`: `[batch, 1280, 7, 7]`
pub async fn probabilities_of_features(
    model: &EfficientNetLite,
    features: Tensor<4>,
) -> Result<Vec<Vec<f32>>, ReadbackError> {
    let logits = model.head(EfficientNetLite::pool(features));
    let [_, classes] = logits.dims();
    let probs = read_floats(softmax(logits, 1)).await?;
    Ok(probs.chunks(classes).map(<[f32]>::to_vec).collect())
}

/// The `k` most likely classes, most likely first (ties keep class order).
pub fn top_k(probabilities: &[f32], k: usize) -> Vec<ClassScore> {
    let mut ranked: Vec<ClassScore> = probabilities
        .iter()
        .enumerate()
        .map(|(class, &confidence)| ClassScore { class, confidence })
        .collect();
    ranked.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.class.cmp(&b.class))
    });
    ranked.truncate(k);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_ranks_descending_and_truncates() {
        let ranked = top_k(&[0.1, 0.5, 0.05, 0.3, 0.05], 3);
        let classes: Vec<usize> = ranked.iter().map(|s| s.class).collect();
        assert_eq!(classes, vec![1, 3, 0]);
        assert_eq!(top_k(&[0.5, 0.5], 5).len(), 2);
    }
}
