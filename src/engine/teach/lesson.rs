//! One training run, step by step: check the labelled photos, pick the evaluation (k-fold for
//! small classes, else a hold-out split), train the head (and, in "head + last blocks" mode, the
//! blocks), and say how the model did on photos it did not learn from.

use std::cell::Cell;
use std::collections::HashMap;

use burn::prelude::*;

use super::search::{SEARCH_PER_CLASS, SearchSet, TRIALS, search};
use super::{Example, K_FOLD_BELOW, KeptPhoto, Known, PersonalModel, warnings};
use crate::formats::calibration::{Calibration, softmax};
use crate::formats::metrics::evaluate;
use crate::formats::open_set::{
    KNOWN_SHARE, KnownRule, PROTOTYPES_PER_CLASS, Prototypes, pick_prototypes,
};
use crate::formats::records::{
    HeadSearch, HeldOut, TrainMode, TrainProgress, TrainSettings, TrainingSummary,
};
use crate::ml::fine_tune::{FineTuneConfig, TrainingPhoto, TunableTop, fine_tune, frozen_prefix};
use crate::ml::model::{EfficientNetLite, FEATURE_CHANNELS, images};
use crate::ml::personal_head::{
    EpochReport, Examples, HeadTrainingConfig, PersonalHead, TrainedHead, logits_of, train_head,
};
use crate::ml::preprocess::{model_view, normalise};
use crate::ml::readback::{ReadbackError, read_floats};
use crate::ml::split::{Split, stratified, stratified_k_fold};
use crate::protocol::TeachError;

impl From<ReadbackError> for TeachError {
    fn from(e: ReadbackError) -> Self {
        TeachError::Device(e.to_string())
    }
}

/// Photos per class whose similarity to the others sets the open-set threshold: with
/// `PROTOTYPES_PER_CLASS` prototypes each, a 10-class model's threshold costs about a billion
/// multiply-adds (a second or two in a worker) however many photos it has.
const JUDGES_PER_CLASS: usize = 200;

/// Trains a personal model. `progress` streams reports and resolves to false to cancel (the best
/// model so far is kept).
pub async fn train<F: Future<Output = bool>>(
    base: &EfficientNetLite,
    device: &Device,
    classes: Vec<String>,
    labelled: &[(u32, usize)],
    examples: &HashMap<u32, Example>,
    settings: &TrainSettings,
    progress: impl FnMut(TrainProgress) -> F,
) -> Result<(PersonalModel, TrainingSummary), TeachError> {
    let data = Labelled::check(&classes, labelled, examples)?;
    let counts = data.counts(classes.len());
    let min_count = counts.iter().copied().min().unwrap_or(0);
    let mut lesson = Lesson {
        base,
        device,
        data,
        classes: classes.len(),
        settings,
        config: HeadTrainingConfig::new()
            .with_epochs(settings.epochs.max(1))
            .with_learning_rate(settings.learning_rate)
            .with_batch_size(settings.batch_size.max(1))
            .with_seed(settings.seed),
        progress,
    };
    let use_k_fold = settings.mode == TrainMode::HeadOnly && (2..K_FOLD_BELOW).contains(&min_count);
    let search = if settings.auto {
        lesson.search(use_k_fold).await?
    } else {
        None
    };
    let outcome = if use_k_fold {
        lesson.cross_validated(min_count.min(5)).await?
    } else {
        lesson.held_out().await?
    };
    let Outcome {
        mut head,
        mut top,
        history,
        best_epoch,
        judged,
        logits,
        known,
        method,
        cancelled,
    } = outcome;
    // Calibrated on the photos it was judged on, and judged with the calibration it ships with.
    let actual: Vec<usize> = judged.iter().map(|&i| lesson.data.labels[i]).collect();
    let calibration = Calibration::fit(&logits, &actual);
    let probabilities: Vec<Vec<f32>> = logits
        .iter()
        .map(|row| softmax(row, calibration.temperature))
        .collect();
    match top.as_mut() {
        None => head = head.divided_by(calibration.temperature),
        Some(top) => top.head = top.head.clone().divided_by(calibration.temperature),
    }
    let personal = PersonalModel {
        backbone: base.backbone(),
        classes: classes.clone(),
        head,
        top,
        known: Some(known.0),
    };
    let summary = TrainingSummary {
        warnings: warnings(&classes, &counts),
        trained_per_class: counts,
        evaluation: evaluate(&probabilities, &actual, classes.len()),
        held_out: lesson.data.held_out(&judged, &probabilities),
        classes,
        history,
        best_epoch,
        cancelled,
        evaluation_method: match (&search, use_k_fold) {
            (Some(_), true) => format!("{method}; settings chosen by a search on the same photos"),
            _ => method,
        },
        mode: settings.mode,
        trained_at: None,
        calibration: Some(calibration),
        known: Some(known.1),
        search,
    };
    Ok((personal, summary))
}

/// What one way of training and evaluating gave.
struct Outcome {
    head: PersonalHead,
    /// The fine-tuned blocks, when they were tuned.
    top: Option<TunableTop>,
    /// Per-epoch curves of the run that produced the head (the first fold's under k-fold).
    history: Vec<EpochReport>,
    best_epoch: usize,
    /// The photos (indices into the labelled list) judged by a model that did not learn from
    /// them, and their logits.
    judged: Vec<usize>,
    logits: Vec<Vec<f32>>,
    /// How the model tells its classes from strangers, and how that was set.
    known: (Known, KnownRule),
    method: String,
    cancelled: bool,
}

/// The photos a run learns from, in the order the page listed them.
struct Labelled<'a> {
    ids: Vec<u32>,
    labels: Vec<usize>,
    examples: Vec<&'a Example>,
}

impl<'a> Labelled<'a> {
    /// Every listed photo embedded, and every class with at least one photo.
    fn check(
        classes: &[String],
        labelled: &[(u32, usize)],
        examples: &'a HashMap<u32, Example>,
    ) -> Result<Self, TeachError> {
        if classes.len() < 2 {
            return Err(TeachError::TooFewClasses);
        }
        let data = Self {
            ids: labelled.iter().map(|(id, _)| *id).collect(),
            labels: labelled.iter().map(|(_, c)| *c).collect(),
            examples: labelled
                .iter()
                .map(|(id, _)| examples.get(id).ok_or(TeachError::NotReady(*id)))
                .collect::<Result<_, _>>()?,
        };
        let counts = data.counts(classes.len());
        if let Some(empty) = counts.iter().position(|&n| n == 0) {
            return Err(TeachError::NoPhotos(classes[empty].clone()));
        }
        Ok(data)
    }

    fn counts(&self, classes: usize) -> Vec<usize> {
        (0..classes)
            .map(|c| self.labels.iter().filter(|&&l| l == c).count())
            .collect()
    }

    fn len(&self) -> usize {
        self.labels.len()
    }

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

    /// Where each of `indices` landed, given its class scores.
    fn held_out(&self, indices: &[usize], rows: &[Vec<f32>]) -> Vec<HeldOut> {
        indices
            .iter()
            .zip(rows)
            .map(|(&i, row)| HeldOut {
                example: self.ids[i],
                actual: self.labels[i],
                predicted: row
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(c, _)| c),
            })
            .collect()
    }
}

/// A run in progress: what every step needs.
struct Lesson<'a, P> {
    base: &'a EfficientNetLite,
    device: &'a Device,
    data: Labelled<'a>,
    classes: usize,
    settings: &'a TrainSettings,
    config: HeadTrainingConfig,
    progress: P,
}

impl<F: Future<Output = bool>, P: FnMut(TrainProgress) -> F> Lesson<'_, P> {
    /// Trains one head on `train` (augmented when the settings say so), choosing its best epoch
    /// on `validation` when there is one. A cancel is remembered in `stop`.
    async fn head(
        &mut self,
        stage: &str,
        train: &[usize],
        validation: Option<&[usize]>,
        config: &HeadTrainingConfig,
        stop: &Cell<bool>,
    ) -> Result<TrainedHead, ReadbackError> {
        let (tx, ty) = self.data.training(train, self.settings.augmentation);
        let (vx, vy) = self.data.clean(validation.unwrap_or_default());
        let progress = &mut self.progress;
        train_head(
            self.device,
            self.classes,
            Examples {
                embeddings: &tx,
                labels: &ty,
            },
            validation.map(|_| Examples {
                embeddings: &vx,
                labels: &vy,
            }),
            config,
            |report| {
                watch(
                    progress(TrainProgress::of_epoch(stage, config.epochs, report)),
                    stop,
                )
            },
        )
        .await
    }

    /// Logits of some photos' clean views under a trained head.
    async fn logits(
        &self,
        head: &PersonalHead,
        indices: &[usize],
    ) -> Result<Vec<Vec<f32>>, ReadbackError> {
        logits_of(head, &self.data.clean(indices).0, self.device).await
    }

    /// The open-set rule: `prototypes` (indices, with their embeddings) are what the model
    /// compares a photo with; the threshold is set on `judged` photos' similarities, each left
    /// out of the prototypes when it is one of them.
    fn known(
        prototypes: &[usize],
        prototype_embeddings: &[Vec<f32>],
        judged: &[usize],
        judged_embeddings: &[Vec<f32>],
    ) -> (Known, KnownRule) {
        let kept = Prototypes::new(prototype_embeddings);
        let scores: Vec<f32> = judged
            .iter()
            .zip(judged_embeddings)
            .map(|(i, e)| kept.similarity(e, prototypes.iter().position(|p| p == i)))
            .collect();
        let rule = KnownRule::set(&scores, KNOWN_SHARE, prototypes.len());
        let known = Known {
            prototypes: kept,
            threshold: rule.threshold,
        };
        (known, rule)
    }

    /// Up to `per_class` of `photos` (indices into the labelled list) per class, spread over it.
    fn spread_among(&self, photos: &[usize], per_class: usize) -> Vec<usize> {
        let labels: Vec<usize> = photos.iter().map(|&i| self.data.labels[i]).collect();
        pick_prototypes(&labels, self.classes, per_class)
            .into_iter()
            .map(|k| photos[k])
            .collect()
    }

    /// The open-set rule on the ImageNet backbone's embeddings, which no training changes: the
    /// prototypes come from all the photos, and each photo, compared with the others, is as
    /// fair a judge of the threshold as a held-out one (and there are five times as many).
    fn known_by_backbone(&self) -> (Known, KnownRule) {
        let all: Vec<usize> = (0..self.data.len()).collect();
        let prototypes = self.spread_among(&all, PROTOTYPES_PER_CLASS);
        let judged = self.spread_among(&all, JUDGES_PER_CLASS);
        Self::known(
            &prototypes,
            &self.data.clean(&prototypes).0,
            &judged,
            &self.data.clean(&judged).0,
        )
    }

    /// "Auto": searches the head's settings by k-fold on the photos the model will learn from
    /// (the training split, or every photo under k-fold evaluation) and makes the winner this
    /// run's settings.
    async fn search(&mut self, k_fold: bool) -> Result<Option<HeadSearch>, ReadbackError> {
        let learnt: Vec<usize> = if k_fold {
            (0..self.data.len()).collect()
        } else {
            stratified(
                &self.data.labels,
                self.classes,
                self.settings.validation_share,
                self.settings.seed,
            )
            .train
        };
        let judged = self.spread_among(&learnt, SEARCH_PER_CLASS);
        let (embeddings, labels) = self.data.clean(&judged);
        let set = SearchSet {
            embeddings: &embeddings,
            labels: &labels,
            classes: self.classes,
        };
        let progress = &mut self.progress;
        let found = search(&set, &self.config, self.device, |trial| {
            progress(TrainProgress {
                stage: "searching the head's settings".to_string(),
                epoch: trial + 1,
                epochs: TRIALS,
                report: None,
            })
        })
        .await?;
        Ok(found.map(|(config, search)| {
            self.config = config;
            search
        }))
    }

    /// Stratified k-fold: each photo is predicted once by a head that did not see it, then the
    /// final head learns from all photos for the folds' median best number of epochs.
    async fn cross_validated(&mut self, k: usize) -> Result<Outcome, ReadbackError> {
        let n = self.data.len();
        let folds = stratified_k_fold(&self.data.labels, self.classes, k, self.settings.seed);
        let mut scores: Vec<Option<Vec<f32>>> = vec![None; n];
        let (mut history, mut best_epochs) = (Vec::new(), Vec::new());
        let mut cancelled = false;
        for (f, fold) in folds.iter().enumerate() {
            let stage = format!("fold {} of {}", f + 1, folds.len());
            let stop = Cell::new(false);
            let config = self.config.clone();
            let trained = self
                .head(&stage, &fold.train, Some(&fold.validation), &config, &stop)
                .await?;
            let rows = self.logits(&trained.head, &fold.validation).await?;
            for (&i, row) in fold.validation.iter().zip(rows) {
                scores[i] = Some(row);
            }
            best_epochs.push(trained.best_epoch);
            if f == 0 {
                history = trained.history;
            }
            if stop.get() {
                cancelled = true;
                break;
            }
        }
        best_epochs.sort_unstable();
        let epochs = best_epochs[best_epochs.len() / 2].max(1);
        let all: Vec<usize> = (0..n).collect();
        let config = HeadTrainingConfig {
            epochs,
            ..self.config.clone()
        };
        let final_head = self
            .head(
                "final head on all photos",
                &all,
                None,
                &config,
                &Cell::new(false),
            )
            .await?;
        // A cancelled run is evaluated on the photos its folds got to.
        let (judged, logits): (Vec<usize>, Vec<Vec<f32>>) = scores
            .into_iter()
            .enumerate()
            .filter_map(|(i, row)| row.map(|row| (i, row)))
            .unzip();
        let known = self.known_by_backbone();
        Ok(Outcome {
            head: final_head.head,
            top: None,
            history,
            best_epoch: final_head.best_epoch,
            judged,
            logits,
            known,
            method: format!(
                "stratified {}-fold cross-validation (a class has under {K_FOLD_BELOW} photos)",
                folds.len()
            ),
            cancelled,
        })
    }

    /// A stratified hold-out split: the head (and in "head + last blocks" mode the blocks) learn
    /// from the rest and are judged on the held-out photos.
    async fn held_out(&mut self) -> Result<Outcome, ReadbackError> {
        let Split { train, validation } = stratified(
            &self.data.labels,
            self.classes,
            self.settings.validation_share,
            self.settings.seed,
        );
        let stop = Cell::new(false);
        let config = self.config.clone();
        let trained = self
            .head(
                "training the head",
                &train,
                Some(&validation),
                &config,
                &stop,
            )
            .await?;
        let tune = self.settings.mode == TrainMode::HeadAndBlocks && !stop.get();
        let (top, logits, known) = if tune {
            let top = self.tuned_blocks(&trained.head, &train, &stop).await?;
            let (logits, judged) = self.under_tuned(&top, &validation).await?;
            // The tuned blocks learnt the training photos: only the held-out ones are fair
            // judges of the threshold.
            let prototypes = self.spread_among(&train, PROTOTYPES_PER_CLASS);
            let (_, learnt) = self.under_tuned(&top, &prototypes).await?;
            let known = Self::known(&prototypes, &learnt, &validation, &judged);
            (Some(top), logits, known)
        } else {
            let logits = self.logits(&trained.head, &validation).await?;
            (None, logits, self.known_by_backbone())
        };
        Ok(Outcome {
            head: trained.head,
            top,
            history: trained.history,
            best_epoch: trained.best_epoch,
            method: format!(
                "stratified hold-out: {} of {} photos held out",
                validation.len(),
                self.data.len()
            ),
            judged: validation,
            logits,
            known,
            cancelled: stop.get(),
        })
    }

    /// Fine-tunes the last blocks together with the trained head, starting from it, on the
    /// training photos themselves (augmented on the fly).
    async fn tuned_blocks(
        &mut self,
        head: &PersonalHead,
        train: &[usize],
        stop: &Cell<bool>,
    ) -> Result<TunableTop, ReadbackError> {
        let photos: Vec<(&KeptPhoto, usize)> = train
            .iter()
            .map(|&i| (&self.data.examples[i].photo, self.data.labels[i]))
            .collect();
        let steps = self.settings.epochs.clamp(5, 40);
        let config = FineTuneConfig::new()
            .with_steps(steps)
            .with_seed(self.settings.seed)
            .with_batch_size(self.settings.batch_size.clamp(2, 8));
        let top = TunableTop::from_model(self.base, config.tuned_blocks, head.clone());
        let progress = &mut self.progress;
        fine_tune(
            self.base,
            top,
            &photos,
            self.classes,
            &config,
            |step, _loss| {
                watch(
                    progress(TrainProgress {
                        stage: "fine-tuning the last blocks".to_string(),
                        epoch: step,
                        epochs: steps,
                        report: None,
                    }),
                    stop,
                )
            },
        )
        .await
    }

    /// Logits and embeddings of some photos' model views under a fine-tuned top.
    async fn under_tuned(
        &self,
        top: &TunableTop,
        indices: &[usize],
    ) -> Result<(Vec<Vec<f32>>, Vec<Vec<f32>>), ReadbackError> {
        let (mut logits, mut embeddings) = (Vec::new(), Vec::new());
        for chunk in indices.chunks(4) {
            let pixels: Vec<f32> = chunk
                .iter()
                .flat_map(|&i| {
                    let image = self.data.examples[i].photo.image();
                    normalise(&model_view(&image, self.base.backbone()).0)
                })
                .collect();
            let batch = images(pixels, chunk.len(), self.device);
            let embedding = top.embed(frozen_prefix(self.base, top.blocks.len(), batch));
            let both = Tensor::cat(vec![top.head.forward(embedding.clone()), embedding], 1);
            // One read for both: on a GPU each read-back waits for the queue.
            let rows = read_floats(both).await?;
            for row in rows.chunks(self.classes + FEATURE_CHANNELS) {
                logits.push(row[..self.classes].to_vec());
                embeddings.push(row[self.classes..].to_vec());
            }
        }
        Ok((logits, embeddings))
    }
}

/// Passes on the person's answer to a progress report, remembering a cancel in `stop`.
async fn watch(update: impl Future<Output = bool>, stop: &Cell<bool>) -> bool {
    let go = update.await;
    stop.set(stop.get() || !go);
    go
}
