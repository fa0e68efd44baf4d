//! The engine owns the device and the models and answers requests. It knows nothing of the
//! browser: the worker hands it a `Device` and the weight bytes, the native tests do the same
//! with `Device::flex()`, so every path the page takes is tested natively.

use burn::prelude::*;
use web_time::Instant;

use crate::ml::labels::{self, ClassName};
use crate::ml::model::{EfficientNetLite0, INPUT_SIZE};
use crate::ml::predict::{probabilities, top_k};
use crate::ml::preprocess::preprocess;
use crate::ml::readback::ReadbackError;
use crate::ml::weights::{WeightsError, load_imagenet};
use crate::protocol::{Classification, PhotoError, Prediction};

/// How many classes each photo's card lists.
pub const TOP_K: usize = 5;

pub struct Engine {
    device: Device,
    model: EfficientNetLite0,
    labels: Vec<ClassName>,
}

impl Engine {
    /// Builds the ImageNet classifier on `device` from the weight file's bytes.
    pub fn new(device: Device, weights: &[u8]) -> Result<Self, WeightsError> {
        let model = load_imagenet(weights, &device)?;
        Ok(Self {
            device,
            model,
            labels: labels::imagenet(),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Runs the model once on a blank image so that shader compilation and kernel selection
    /// happen at load time, not on the person's first photo.
    pub async fn warm_up(&self) -> Result<(), ReadbackError> {
        let blank = Tensor::<4>::zeros([1, 3, INPUT_SIZE, INPUT_SIZE], &self.device);
        probabilities(&self.model, blank).await.map(|_| ())
    }

    /// Decodes a photo and ranks the ImageNet classes for it.
    pub async fn classify(&self, bytes: &[u8]) -> Result<Classification, PhotoError> {
        let started = Instant::now();
        let photo = preprocess(bytes)?;
        let size = INPUT_SIZE;
        let input = Tensor::<4>::from_data(
            TensorData::new(photo.pixels, [1, 3, size, size]),
            &self.device,
        );
        let probs = probabilities(&self.model, input)
            .await
            .map_err(|e| PhotoError::Inference(e.to_string()))?;
        let first = probs
            .first()
            .ok_or_else(|| PhotoError::Inference("no output".into()))?;
        let predictions = top_k(first, TOP_K)
            .into_iter()
            .map(|score| {
                let class = &self.labels[score.class];
                Prediction {
                    class_index: score.class as u32,
                    label: class.name.clone(),
                    synonyms: class.synonyms.clone(),
                    confidence: score.confidence,
                }
            })
            .collect();
        Ok(Classification {
            predictions,
            width: photo.width,
            height: photo.height,
            crop: photo.crop,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }
}
