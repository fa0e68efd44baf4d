//! The engine owns the device and the models and answers requests. It knows nothing of the
//! browser: the worker hands it a `Device` and the weight bytes, the native tests do the same
//! with `Device::flex()`, so every path the page takes is tested natively.

mod photo_cache;

use std::cell::RefCell;

use burn::prelude::*;
use web_time::Instant;

use crate::ml::labels::{self, ClassName};
use crate::ml::model::{EfficientNetLite0, INPUT_SIZE};
use crate::ml::predict::{probabilities_of_features, top_k};
use crate::ml::preprocess::{Preprocessed, preprocess};
use crate::ml::readback::ReadbackError;
use crate::ml::saliency::{SMOOTHGRAD_SAMPLES, SaliencyMap, SaliencyMethod, grad_cam, smooth_grad};
use crate::ml::weights::{WeightsError, load_imagenet};
use crate::protocol::{Classification, Heatmap, PhotoError, Prediction};
use photo_cache::PhotoCache;

/// How many classes each photo's card lists.
pub const TOP_K: usize = 5;

pub struct Engine {
    device: Device,
    model: EfficientNetLite0,
    labels: Vec<ClassName>,
    photos: PhotoCache,
    last_features: RefCell<Option<(u32, Tensor<4>)>>,
}

fn inference(e: ReadbackError) -> PhotoError {
    PhotoError::Inference(e.to_string())
}

impl Engine {
    /// Builds the ImageNet classifier on `device` from the weight file's bytes.
    pub fn new(device: Device, weights: &[u8]) -> Result<Self, WeightsError> {
        let model = load_imagenet(weights, &device)?;
        Ok(Self {
            device,
            model,
            labels: labels::imagenet(),
            photos: PhotoCache::default(),
            last_features: RefCell::new(None),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn model(&self) -> &EfficientNetLite0 {
        &self.model
    }

    /// Runs the model once on a blank image so that shader compilation and kernel selection
    /// happen at load time, not on the person's first photo; the Grad-CAM path too.
    pub async fn warm_up(&self) -> Result<(), ReadbackError> {
        let blank = Tensor::<4>::zeros([1, 3, INPUT_SIZE, INPUT_SIZE], &self.device);
        let features = self.model.features(blank);
        probabilities_of_features(&self.model, features.clone()).await?;
        grad_cam(&self.model, features, 0).await.map(|_| ())
    }

    fn input(&self, photo: &Preprocessed) -> Tensor<4> {
        let size = INPUT_SIZE;
        Tensor::<4>::from_data(
            TensorData::new(photo.pixels.clone(), [1, 3, size, size]),
            &self.device,
        )
    }

    fn photo(&self, id: u32, bytes: &[u8]) -> Result<std::rc::Rc<Preprocessed>, PhotoError> {
        if let Some(photo) = self.photos.get(id) {
            return Ok(photo);
        }
        let photo = std::rc::Rc::new(preprocess(bytes)?);
        self.photos.put(id, photo.clone());
        Ok(photo)
    }

    /// Decodes a photo and ranks the ImageNet classes for it.
    pub async fn classify(&self, id: u32, bytes: &[u8]) -> Result<Classification, PhotoError> {
        let started = Instant::now();
        let photo = self.photo(id, bytes)?;
        let features = self.model.features(self.input(&photo));
        let probs = probabilities_of_features(&self.model, features.clone())
            .await
            .map_err(inference)?;
        let first = probs
            .first()
            .ok_or_else(|| PhotoError::Inference("no output".into()))?;
        let predictions: Vec<Prediction> = top_k(first, TOP_K)
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
        // Kept for the Grad-CAM of this photo, which the worker asks for right after.
        *self.last_features.borrow_mut() = Some((id, features));
        Ok(Classification {
            predictions,
            width: photo.width,
            height: photo.height,
            crop: photo.crop,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// The photo's last conv features, reusing those of the last classified photo.
    fn features(&self, id: u32, photo: &Preprocessed) -> Tensor<4> {
        match self.last_features.borrow().as_ref() {
            Some((last, features)) if *last == id => features.clone(),
            _ => self.model.features(self.input(photo)),
        }
    }

    /// A saliency map of `class_index` for a photo.
    pub async fn explain(
        &self,
        id: u32,
        class_index: u32,
        method: SaliencyMethod,
        bytes: &[u8],
    ) -> Result<Heatmap, PhotoError> {
        let started = Instant::now();
        let class = class_index as usize;
        if class >= self.labels.len() {
            return Err(PhotoError::NoSuchClass(class_index));
        }
        let photo = self.photo(id, bytes)?;
        let map = match method {
            SaliencyMethod::GradCam => {
                grad_cam(&self.model, self.features(id, &photo), class).await
            }
            SaliencyMethod::SmoothGrad => {
                smooth_grad(&self.model, self.input(&photo), class, SMOOTHGRAD_SAMPLES).await
            }
        }
        .map_err(inference)?;
        Ok(heatmap(method, class_index, &map, started))
    }
}

fn heatmap(
    method: SaliencyMethod,
    class_index: u32,
    map: &SaliencyMap,
    started: Instant,
) -> Heatmap {
    Heatmap {
        method,
        class_index,
        side: map.side as u32,
        values: map.to_bytes(),
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}
