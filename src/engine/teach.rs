//! Teaching the engine a person's own classes: photos become cached embeddings (a clean view and
//! a few augmented ones) as soon as they are added, so training itself only runs the small head,
//! or, in "head + last blocks" mode, the last blocks too.
//!
//! Evaluation is honest about small sets: a stratified hold-out split by photo (never by view, so
//! no augmented copy of a validation photo is trained on), or stratified k-fold when a class has
//! under 10 photos, in which case every photo is predicted once by a head that did not see it and
//! the final head is trained on all photos for the folds' typical number of epochs.

use std::cell::Cell;
use std::collections::HashMap;

use burn::prelude::*;
use image::RgbImage;

use crate::formats::metrics::evaluate;
pub use crate::formats::records::{
    AUGMENTED_VIEWS, HeldOut, KeptExample, TrainMode, TrainProgress, TrainSettings, TrainingSummary,
};
use crate::ml::augment::random_view;
use crate::ml::fine_tune::{FineTuneConfig, TunableTop, fine_tune, frozen_prefix};
use crate::ml::model::{EfficientNetLite0, FEATURE_CHANNELS, INPUT_SIZE};
use crate::ml::personal_head::{
    EpochReport, Examples, HeadTrainingConfig, PersonalHead, train_head,
};
use crate::ml::preprocess::{encode_jpeg, model_view, normalise};
use crate::ml::readback::{ReadbackError, read_floats};
use crate::ml::split::{Split, SplitMix64, stratified, stratified_k_fold};

/// Below this many photos in some class, evaluation uses k-fold instead of one hold-out split.
pub const K_FOLD_BELOW: usize = 10;
/// Fewer photos than this in a class earns a warning.
pub const FEW_PHOTOS: usize = 5;

/// Longest side of the copy of a training photo that is kept (for fine-tuning and storage).
pub const KEPT_SIDE: u32 = 320;
/// Longest side of a training photo's thumbnail.
pub const THUMBNAIL_SIDE: u32 = 128;

/// A training photo, kept small: its clean and augmented embeddings and (for fine-tuning) the
/// upright photo downscaled.
pub struct Example {
    pub clean: Vec<f32>,
    pub augmented: Vec<Vec<f32>>,
    pub photo: RgbImage,
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
    pub fn keep(&self) -> KeptExample {
        KeptExample {
            photo: encode_jpeg(&self.photo, 90),
            thumbnail: thumbnail_jpeg(&self.photo),
            embeddings: std::iter::once(&self.clean)
                .chain(&self.augmented)
                .flatten()
                .copied()
                .collect(),
        }
    }

    /// Rebuilds an example from its stored photo and embeddings.
    pub fn from_kept(photo: RgbImage, embeddings: &[f32]) -> Result<Self, String> {
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

/// Passes on the person's answer to a progress report, remembering a cancel in `stop`.
async fn watch(update: impl Future<Output = bool>, stop: &Cell<bool>) -> bool {
    let go = update.await;
    stop.set(stop.get() || !go);
    go
}

/// The trained personal classifier.
pub struct PersonalModel {
    pub classes: Vec<String>,
    pub head: PersonalHead,
    /// Fine-tuned last blocks, in "head + last blocks" mode.
    pub top: Option<TunableTop>,
}

impl PersonalModel {
    /// Last conv features under this model (the tuned blocks' when there are some).
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, 224, 224]`; output `[batch, 1280, 7, 7]`
    pub fn features(&self, base: &EfficientNetLite0, images: Tensor<4>) -> Tensor<4> {
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

/// Embeddings of 224 x 224 views, a few at a time.
pub async fn embed_views(
    model: &EfficientNetLite0,
    views: &[RgbImage],
    device: &Device,
) -> Result<Vec<Vec<f32>>, ReadbackError> {
    let mut out = Vec::with_capacity(views.len());
    for chunk in views.chunks(4) {
        let pixels: Vec<f32> = chunk.iter().flat_map(normalise).collect();
        let batch = Tensor::<4>::from_data(
            TensorData::new(pixels, [chunk.len(), 3, INPUT_SIZE, INPUT_SIZE]),
            device,
        );
        let flat = read_floats(model.embed(batch)).await?;
        out.extend(flat.chunks(FEATURE_CHANNELS).map(<[f32]>::to_vec));
    }
    Ok(out)
}

/// Embeds a new training photo: its clean centre view and `AUGMENTED_VIEWS` random views.
pub async fn make_example(
    model: &EfficientNetLite0,
    image: &RgbImage,
    seed: u64,
    device: &Device,
) -> Result<Example, ReadbackError> {
    let mut rng = SplitMix64::new(seed);
    let mut views = vec![model_view(image).0];
    views.extend((0..AUGMENTED_VIEWS).map(|_| random_view(image, &mut rng)));
    let mut embeddings = embed_views(model, &views, device).await?;
    let clean = embeddings.remove(0);
    // Keep a small copy for on-the-fly augmentation when fine-tuning blocks.
    let side = KEPT_SIDE;
    let small =
        image::imageops::thumbnail(image, side.min(image.width()), side.min(image.height()));
    Ok(Example {
        clean,
        augmented: embeddings,
        photo: small,
    })
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

struct Labelled<'a> {
    ids: Vec<u32>,
    labels: Vec<usize>,
    examples: Vec<&'a Example>,
}

impl Labelled<'_> {
    /// Training embeddings of some photos: clean view plus augmented views when asked.
    fn training(&self, indices: &[usize], augmentation: bool) -> (Vec<Vec<f32>>, Vec<usize>) {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for &i in indices {
            x.push(self.examples[i].clean.clone());
            y.push(self.labels[i]);
            if augmentation {
                for view in &self.examples[i].augmented {
                    x.push(view.clone());
                    y.push(self.labels[i]);
                }
            }
        }
        (x, y)
    }

    fn clean(&self, indices: &[usize]) -> (Vec<Vec<f32>>, Vec<usize>) {
        (
            indices
                .iter()
                .map(|&i| self.examples[i].clean.clone())
                .collect(),
            indices.iter().map(|&i| self.labels[i]).collect(),
        )
    }
}

/// Trains a personal model. `progress` streams reports and resolves to false to cancel (the best
/// model so far is kept).
#[allow(clippy::too_many_arguments)]
pub async fn train<F: Future<Output = bool>>(
    base: &EfficientNetLite0,
    device: &Device,
    classes: Vec<String>,
    labelled: &[(u32, usize)],
    examples: &HashMap<u32, Example>,
    settings: &TrainSettings,
    mut progress: impl FnMut(TrainProgress) -> F,
) -> Result<(PersonalModel, TrainingSummary), String> {
    let k = classes.len();
    if k < 2 {
        return Err("add at least two classes".into());
    }
    let data = Labelled {
        ids: labelled.iter().map(|(id, _)| *id).collect(),
        labels: labelled.iter().map(|(_, c)| *c).collect(),
        examples: labelled
            .iter()
            .map(|(id, _)| {
                examples
                    .get(id)
                    .ok_or_else(|| format!("photo {id} is not ready yet"))
            })
            .collect::<Result<_, _>>()?,
    };
    let counts: Vec<usize> = (0..k)
        .map(|c| data.labels.iter().filter(|&&l| l == c).count())
        .collect();
    if let Some(empty) = counts.iter().position(|&n| n == 0) {
        return Err(format!("\"{}\" has no photos", classes[empty]));
    }
    let config = HeadTrainingConfig::new()
        .with_epochs(settings.epochs.max(1))
        .with_learning_rate(settings.learning_rate)
        .with_batch_size(settings.batch_size.max(1))
        .with_seed(settings.seed);
    let min_count = counts.iter().copied().min().unwrap_or(0);
    let use_k_fold = settings.mode == TrainMode::HeadOnly && (2..K_FOLD_BELOW).contains(&min_count);
    let rd = |e: ReadbackError| e.to_string();

    let mut cancelled = false;
    let (head, history, best_epoch, evaluation, held_out, method) = if use_k_fold {
        let folds = stratified_k_fold(&data.labels, k, min_count.min(5), settings.seed);
        let n = data.labels.len();
        let mut scores = vec![vec![0.0; k]; n];
        let (mut first_history, mut best_epochs) = (Vec::new(), Vec::new());
        for (f, fold) in folds.iter().enumerate() {
            let stage = format!("fold {} of {}", f + 1, folds.len());
            let (tx, ty) = data.training(&fold.train, settings.augmentation);
            let (vx, vy) = data.clean(&fold.validation);
            let stop = Cell::new(false);
            let trained = train_head(
                device,
                k,
                Examples {
                    embeddings: &tx,
                    labels: &ty,
                },
                Some(Examples {
                    embeddings: &vx,
                    labels: &vy,
                }),
                &config,
                |report| {
                    watch(
                        progress(TrainProgress::of_epoch(&stage, config.epochs, report)),
                        &stop,
                    )
                },
            )
            .await
            .map_err(rd)?;
            let (_, _, rows) = crate::ml::personal_head::assess(
                &trained.head,
                Examples {
                    embeddings: &vx,
                    labels: &vy,
                },
                &vec![1.0; k],
                device,
            )
            .await
            .map_err(rd)?;
            for (&i, row) in fold.validation.iter().zip(rows) {
                scores[i] = row;
            }
            best_epochs.push(trained.best_epoch);
            if f == 0 {
                first_history = trained.history;
            }
            if stop.get() {
                cancelled = true;
                break;
            }
        }
        best_epochs.sort_unstable();
        let epochs = best_epochs[best_epochs.len() / 2].max(1);
        let (tx, ty) = data.training(&(0..n).collect::<Vec<_>>(), settings.augmentation);
        let final_config = HeadTrainingConfig {
            epochs,
            ..config.clone()
        };
        let stage = "final head on all photos".to_string();
        let trained = train_head(
            device,
            k,
            Examples {
                embeddings: &tx,
                labels: &ty,
            },
            None,
            &final_config,
            |report| progress(TrainProgress::of_epoch(&stage, epochs, report)),
        )
        .await
        .map_err(rd)?;
        let evaluated: Vec<usize> = if cancelled {
            (0..n)
                .filter(|&i| scores[i].iter().any(|&s| s > 0.0))
                .collect()
        } else {
            (0..n).collect()
        };
        let eval_scores: Vec<Vec<f32>> = evaluated.iter().map(|&i| scores[i].clone()).collect();
        let eval_labels: Vec<usize> = evaluated.iter().map(|&i| data.labels[i]).collect();
        let evaluation = evaluate(&eval_scores, &eval_labels, k);
        let held_out = held_out_of(&data, &evaluated, &eval_scores);
        let method = format!(
            "stratified {}-fold cross-validation (a class has under {K_FOLD_BELOW} photos)",
            folds.len()
        );
        (
            HeadOrTop(trained.head, None),
            first_history,
            trained.best_epoch,
            evaluation,
            held_out,
            method,
        )
    } else {
        let Split { train, validation } =
            stratified(&data.labels, k, settings.validation_share, settings.seed);
        let (tx, ty) = data.training(&train, settings.augmentation);
        let (vx, vy) = data.clean(&validation);
        let stage = "training the head".to_string();
        let stop = Cell::new(false);
        let trained = train_head(
            device,
            k,
            Examples {
                embeddings: &tx,
                labels: &ty,
            },
            Some(Examples {
                embeddings: &vx,
                labels: &vy,
            }),
            &config,
            |report| {
                watch(
                    progress(TrainProgress::of_epoch(&stage, config.epochs, report)),
                    &stop,
                )
            },
        )
        .await
        .map_err(rd)?;
        cancelled = stop.get();
        let mut top = None;
        let rows = if settings.mode == TrainMode::HeadAndBlocks && !cancelled {
            // Start the blocks from the trained head, then fine-tune them with it.
            let photos: Vec<(RgbImage, usize)> = train
                .iter()
                .map(|&i| (data.examples[i].photo.clone(), data.labels[i]))
                .collect();
            let steps = settings.epochs.clamp(5, 40);
            let fine = FineTuneConfig::new()
                .with_steps(steps)
                .with_seed(settings.seed)
                .with_batch_size(settings.batch_size.clamp(2, 8));
            let stage = "fine-tuning the last blocks".to_string();
            let tuned = fine_tune(
                base,
                TunableTop::from_model(base, fine.tuned_blocks, trained.head.clone()),
                &photos,
                k,
                &fine,
                |step, _loss| {
                    watch(
                        progress(TrainProgress {
                            stage: stage.clone(),
                            epoch: step,
                            epochs: steps,
                            report: None,
                        }),
                        &stop,
                    )
                },
            )
            .await
            .map_err(rd)?;
            cancelled = stop.get();
            let views: Vec<RgbImage> = validation
                .iter()
                .map(|&i| model_view(&data.examples[i].photo).0)
                .collect();
            let rows = top_scores(base, &tuned, &views, device).await.map_err(rd)?;
            top = Some(tuned);
            rows
        } else {
            crate::ml::personal_head::assess(
                &trained.head,
                Examples {
                    embeddings: &vx,
                    labels: &vy,
                },
                &vec![1.0; k],
                device,
            )
            .await
            .map_err(rd)?
            .2
        };
        let evaluation = evaluate(&rows, &vy, k);
        let held_out = held_out_of(&data, &validation, &rows);
        let method = format!(
            "stratified hold-out: {} of {} photos held out",
            validation.len(),
            data.labels.len()
        );
        (
            HeadOrTop(trained.head, top),
            trained.history,
            trained.best_epoch,
            evaluation,
            held_out,
            method,
        )
    };
    let HeadOrTop(head, top) = head;
    let personal = PersonalModel {
        classes: classes.clone(),
        head,
        top,
    };
    let summary = TrainingSummary {
        warnings: warnings(&classes, &counts),
        trained_per_class: counts,
        classes,
        evaluation,
        history,
        best_epoch,
        cancelled,
        held_out,
        evaluation_method: method,
        mode: settings.mode,
    };
    Ok((personal, summary))
}

/// The trained head, and the fine-tuned top when blocks were tuned.
struct HeadOrTop(PersonalHead, Option<TunableTop>);

/// Class probabilities of 224 x 224 views under a fine-tuned top.
async fn top_scores(
    base: &EfficientNetLite0,
    top: &TunableTop,
    views: &[RgbImage],
    device: &Device,
) -> Result<Vec<Vec<f32>>, ReadbackError> {
    let mut rows = Vec::new();
    for chunk in views.chunks(4) {
        let pixels: Vec<f32> = chunk.iter().flat_map(normalise).collect();
        let batch = Tensor::<4>::from_data(
            TensorData::new(pixels, [chunk.len(), 3, INPUT_SIZE, INPUT_SIZE]),
            device,
        );
        let logits = top.forward(frozen_prefix(base, top.blocks.len(), batch));
        let classes = logits.dims()[1];
        let probs = read_floats(burn::tensor::activation::softmax(logits, 1)).await?;
        rows.extend(probs.chunks(classes).map(<[f32]>::to_vec));
    }
    Ok(rows)
}

fn held_out_of(data: &Labelled<'_>, indices: &[usize], rows: &[Vec<f32>]) -> Vec<HeldOut> {
    indices
        .iter()
        .zip(rows)
        .map(|(&i, row)| HeldOut {
            example: data.ids[i],
            actual: data.labels[i],
            predicted: row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(c, _)| c),
        })
        .collect()
}

/// A personal model seen as a classifier, for prediction and saliency.
pub struct PersonalClassifier<'a> {
    pub base: &'a EfficientNetLite0,
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
