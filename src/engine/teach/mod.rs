//! Teaching the engine a person's own classes: photos become cached embeddings (a clean view and
//! a few augmented ones) as soon as they are added, so training itself only runs the small head,
//! or, in "head + last blocks" mode, the last blocks too.
//!
//! Evaluation is honest about small sets: a stratified hold-out split by photo (never by view, so
//! no augmented copy of a validation photo is trained on), or stratified k-fold when a class has
//! under 10 photos, in which case every photo is predicted once by a head that did not see it and
//! the final head is trained on all photos for the folds' typical number of epochs.

mod lesson;
pub mod project;
pub mod search;

use std::borrow::Cow;

use burn::prelude::*;
use image::RgbImage;

use crate::formats::open_set::{Familiarity, Prototypes};
pub use crate::formats::records::{
    AUGMENTED_VIEWS, HeldOut, KeptExample, TrainMode, TrainProgress, TrainSettings, TrainingSummary,
};
use crate::ml::augment::random_view;
use crate::ml::fine_tune::{TrainingPhoto, TunableTop, frozen_prefix};
use crate::ml::model::{Backbone, EfficientNetLite, FEATURE_CHANNELS, images};
use crate::ml::personal_head::{EpochReport, PersonalHead};
use crate::ml::preprocess::{DecodeError, decode, encode_jpeg, model_view, normalise};
use crate::ml::readback::{ReadbackError, read_floats};
use crate::ml::split::SplitMix64;
pub use lesson::train;

/// Below this many photos in some class, evaluation uses k-fold instead of one hold-out split.
pub const K_FOLD_BELOW: usize = 10;
/// Fewer photos than this in a class earns a warning.
pub const FEW_PHOTOS: usize = 5;

/// Longest side of the copy of a training photo that is kept (for fine-tuning and storage).
pub const KEPT_SIDE: u32 = 320;
/// Longest side of a training photo's thumbnail.
pub const THUMBNAIL_SIDE: u32 = 128;

/// A training photo, kept small: its clean and augmented embeddings and (for fine-tuning) the
/// upright photo downscaled, as a JPEG.
pub struct Example {
    pub clean: Vec<f32>,
    pub augmented: Vec<Vec<f32>>,
    pub photo: KeptPhoto,
}

/// The kept copy of a training photo (at most `KEPT_SIDE` on its longest side), held as the JPEG
/// the page stores: a tenth of its decoded size, so thousands of photos fit in an engine. It is
/// decoded only when fine-tuning or evaluation picks it.
pub struct KeptPhoto {
    jpeg: Vec<u8>,
}

impl KeptPhoto {
    /// Checks once, as the photo is taken in, that it decodes, so later decoding cannot fail.
    pub fn new(jpeg: Vec<u8>) -> Result<Self, DecodeError> {
        decode(&jpeg)?;
        Ok(Self { jpeg })
    }

    pub fn jpeg(&self) -> &[u8] {
        &self.jpeg
    }
}

impl TrainingPhoto for KeptPhoto {
    fn image(&self) -> Cow<'_, RgbImage> {
        Cow::Owned(decode(&self.jpeg).expect("a kept photo is checked to decode when it is kept"))
    }
}

/// A small JPEG of a photo for showing it in a list.
pub fn thumbnail_jpeg(image: &RgbImage) -> Vec<u8> {
    let side = THUMBNAIL_SIDE;
    encode_jpeg(
        &image::imageops::thumbnail(image, side.min(image.width()), side.min(image.height())),
        80,
    )
}

impl Example {
    /// Rebuilds an example from its stored photo and embeddings.
    pub fn from_kept(photo: KeptPhoto, embeddings: &[f32]) -> Result<Self, String> {
        let views = 1 + AUGMENTED_VIEWS;
        if embeddings.len() != views * FEATURE_CHANNELS {
            return Err(format!(
                "{} embedding values stored, expected {}",
                embeddings.len(),
                views * FEATURE_CHANNELS
            ));
        }
        if embeddings.iter().any(|v| !v.is_finite()) {
            return Err("a stored embedding is not a finite number".into());
        }
        let mut rows = embeddings.chunks(FEATURE_CHANNELS).map(<[f32]>::to_vec);
        Ok(Self {
            clean: rows.next().unwrap_or_default(),
            augmented: rows.collect(),
            photo,
        })
    }
}

impl TrainProgress {
    fn of_epoch(stage: &str, epochs: usize, report: EpochReport) -> Self {
        Self {
            stage: stage.to_string(),
            epoch: report.epoch,
            epochs,
            report: Some(report),
        }
    }
}

/// The trained personal classifier.
pub struct PersonalModel {
    /// The network its embeddings come from: it runs on no other.
    pub backbone: Backbone,
    pub classes: Vec<String>,
    pub head: PersonalHead,
    /// Fine-tuned last blocks, in "head + last blocks" mode.
    pub top: Option<TunableTop>,
    /// How it tells a photo of its classes from a stranger (none in models kept before it had
    /// one).
    pub known: Option<Known>,
}

/// A personal model's open-set rule (`formats::open_set`): its prototypes and the similarity a
/// photo must reach to one of them.
pub struct Known {
    pub prototypes: Prototypes,
    pub threshold: f32,
}

impl Known {
    pub fn familiarity(&self, embedding: &[f32]) -> Familiarity {
        Familiarity {
            similarity: self.prototypes.similarity(embedding, None),
            threshold: self.threshold,
        }
    }
}

impl PersonalModel {
    /// Last conv features under this model (the tuned blocks' when there are some).
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, size, size]`; output `[batch, 1280, size / 32, size / 32]`
    pub fn features(&self, base: &EfficientNetLite, images: Tensor<4>) -> Tensor<4> {
        match &self.top {
            None => base.features(images),
            Some(top) => {
                let mut x = frozen_prefix(base, top.blocks.len(), images);
                for block in &top.blocks {
                    x = block.forward(x);
                }
                top.head_conv.forward(x)
            }
        }
    }

    /// Logits from pooled features.
    pub fn head(&self, pooled: Tensor<2>) -> Tensor<2> {
        match &self.top {
            None => self.head.forward(pooled),
            Some(top) => top.head.forward(pooled),
        }
    }
}

/// Embeddings of views at the backbone's input size, a few at a time.
pub async fn embed_views(
    model: &EfficientNetLite,
    views: &[RgbImage],
    device: &Device,
) -> Result<Vec<Vec<f32>>, ReadbackError> {
    let mut out = Vec::with_capacity(views.len());
    for chunk in views.chunks(4) {
        let pixels: Vec<f32> = chunk.iter().flat_map(normalise).collect();
        let flat = read_floats(model.embed(images(pixels, chunk.len(), device))).await?;
        out.extend(flat.chunks(FEATURE_CHANNELS).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// Embeds a new training photo (its clean centre view and `AUGMENTED_VIEWS` random views) and
/// makes the copies that are kept of it: the example an engine trains on, and what the page
/// stores (the same JPEG, a thumbnail, the embeddings).
pub async fn make_example(
    model: &EfficientNetLite,
    image: &RgbImage,
    seed: u64,
    device: &Device,
) -> Result<(Example, KeptExample), ReadbackError> {
    let mut rng = SplitMix64::new(seed);
    let backbone = model.backbone();
    let mut views = vec![model_view(image, backbone).0];
    views.extend((0..AUGMENTED_VIEWS).map(|_| random_view(image, backbone, &mut rng)));
    let embeddings = embed_views(model, &views, device).await?;
    let side = KEPT_SIDE;
    let small =
        image::imageops::thumbnail(image, side.min(image.width()), side.min(image.height()));
    let jpeg = encode_jpeg(&small, 90);
    let kept = KeptExample {
        photo: jpeg.clone(),
        thumbnail: thumbnail_jpeg(&small),
        embeddings: embeddings.iter().flatten().copied().collect(),
    };
    let mut rows = embeddings.into_iter();
    let example = Example {
        clean: rows.next().unwrap_or_default(),
        augmented: rows.collect(),
        // Encoded just now: it decodes.
        photo: KeptPhoto { jpeg },
    };
    Ok((example, kept))
}

/// Warnings a person should see before trusting the numbers.
pub fn warnings(classes: &[String], counts: &[usize]) -> Vec<String> {
    let mut out: Vec<String> = classes
        .iter()
        .zip(counts)
        .filter(|(_, n)| **n < FEW_PHOTOS)
        .map(|(name, n)| {
            format!(
                "\"{name}\" has only {n} photo{}: add at least {FEW_PHOTOS} for a reliable model",
                if *n == 1 { "" } else { "s" }
            )
        })
        .collect();
    let (min, max) = (
        counts.iter().copied().min().unwrap_or(0),
        counts.iter().copied().max().unwrap_or(0),
    );
    if min > 0 && max >= 3 * min {
        out.push(format!(
            "the classes are imbalanced ({min} to {max} photos); training weights them, but more photos of the small classes would help"
        ));
    }
    out
}

/// A personal model seen as a classifier, for prediction and saliency.
pub struct PersonalClassifier<'a> {
    pub base: &'a EfficientNetLite,
    pub personal: &'a PersonalModel,
}

impl crate::ml::saliency::Classifier for PersonalClassifier<'_> {
    fn features(&self, images: Tensor<4>) -> Tensor<4> {
        self.personal.features(self.base, images)
    }

    fn head(&self, pooled: Tensor<2>) -> Tensor<2> {
        self.personal.head(pooled)
    }
}
