//! A person's own classifier on top of EfficientNet-Lite0's embedding: dropout then a linear
//! layer, trained with Adam on cached embeddings (the backbone runs once per photo and view, so
//! an epoch costs microseconds). Cross-entropy is class-weighted (inverse frequency) so a class
//! with fewer photos still counts; early stopping keeps the epoch with the lowest validation loss.

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::prelude::*;
use burn::tensor::activation::softmax;

use super::model::FEATURE_CHANNELS;
use super::readback::{ReadbackError, read_floats};
use super::split::SplitMix64;
pub use crate::formats::records::EpochReport;

#[derive(Module, Debug)]
pub struct PersonalHead {
    pub dropout: Dropout,
    pub linear: Linear,
}

#[derive(Config, Debug)]
pub struct PersonalHeadConfig {
    pub classes: usize,
    #[config(default = 0.2)]
    pub dropout: f64,
}

impl PersonalHeadConfig {
    pub fn init(&self, device: &Device) -> PersonalHead {
        PersonalHead {
            dropout: DropoutConfig::new(self.dropout).init(),
            linear: LinearConfig::new(FEATURE_CHANNELS, self.classes).init(device),
        }
    }
}

impl PersonalHead {
    /// The same head with its logits divided by `temperature` (temperature scaling folded into
    /// the weights, so every runtime that runs the head, exports included, gets it).
    pub fn divided_by(self, temperature: f64) -> Self {
        let t = temperature as f32;
        Self {
            dropout: self.dropout,
            linear: Linear {
                weight: self.linear.weight.map(|w| w.div_scalar(t)),
                bias: self.linear.bias.map(|b| b.map(|b| b.div_scalar(t))),
            },
        }
    }

    /// # Shapes
    /// - `embeddings`: `[batch, 1280]`
    /// - output: `[batch, classes]` logits
    pub fn forward(&self, embeddings: Tensor<2>) -> Tensor<2> {
        self.linear.forward(self.dropout.forward(embeddings))
    }
}

/// Settings of one training run; the defaults suit 5-50 photos per class.
#[derive(Config, Debug, PartialEq)]
pub struct HeadTrainingConfig {
    #[config(default = 60)]
    pub epochs: usize,
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    #[config(default = 16)]
    pub batch_size: usize,
    #[config(default = 1e-4)]
    pub weight_decay: f32,
    #[config(default = 0.2)]
    pub dropout: f64,
    /// Epochs without a better validation loss before stopping.
    #[config(default = 12)]
    pub patience: usize,
    #[config(default = 42)]
    pub seed: u64,
}

/// Embeddings with their classes.
#[derive(Debug, Clone, Copy)]
pub struct Examples<'a> {
    pub embeddings: &'a [Vec<f32>],
    pub labels: &'a [usize],
}

impl Examples<'_> {
    fn len(&self) -> usize {
        self.labels.len()
    }

    fn batch(&self, indices: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
        let flat: Vec<f32> = indices
            .iter()
            .flat_map(|&i| self.embeddings[i].iter().copied())
            .collect();
        let x = Tensor::from_data(
            TensorData::new(flat, [indices.len(), FEATURE_CHANNELS]),
            device,
        );
        let y: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        (
            x,
            Tensor::from_data(TensorData::new(y, [indices.len()]), device),
        )
    }
}

pub struct TrainedHead {
    /// The head of the best epoch, on the plain device, ready for inference.
    pub head: PersonalHead,
    pub history: Vec<EpochReport>,
    pub best_epoch: usize,
    /// True when `on_epoch` asked to stop before the last epoch.
    pub cancelled: bool,
}

/// Inverse-frequency class weights, normalised so a balanced set gets all ones.
pub fn class_weights(labels: &[usize], classes: usize) -> Vec<f32> {
    let mut counts = vec![0usize; classes];
    labels.iter().for_each(|&l| counts[l] += 1);
    let n = labels.len() as f32;
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                n / (classes as f32 * c as f32)
            }
        })
        .collect()
}

/// Mean loss and accuracy of `head` (plain device: dropout off) on `examples`.
pub async fn assess(
    head: &PersonalHead,
    examples: Examples<'_>,
    weights: &[f32],
    device: &Device,
) -> Result<(f64, f64, Vec<Vec<f32>>), ReadbackError> {
    let all: Vec<usize> = (0..examples.len()).collect();
    let (x, y) = examples.batch(&all, device);
    let logits = head.forward(x);
    let loss = CrossEntropyLossConfig::new()
        .with_weights(Some(weights.to_vec()))
        .init(device)
        .forward(logits.clone(), y);
    let loss = f64::from(read_floats(loss).await?[0]);
    let classes = logits.dims()[1];
    let probs = read_floats(softmax(logits, 1)).await?;
    let rows: Vec<Vec<f32>> = probs.chunks(classes).map(<[f32]>::to_vec).collect();
    let correct = rows
        .iter()
        .zip(examples.labels)
        .filter(|(row, label)| {
            row.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i)
                == Some(**label)
        })
        .count();
    Ok((loss, correct as f64 / examples.len().max(1) as f64, rows))
}

/// Logits of `head` (plain device: dropout off) for some embeddings, one row per embedding.
pub async fn logits_of(
    head: &PersonalHead,
    embeddings: &[Vec<f32>],
    device: &Device,
) -> Result<Vec<Vec<f32>>, ReadbackError> {
    if embeddings.is_empty() {
        return Ok(Vec::new());
    }
    let flat: Vec<f32> = embeddings.iter().flatten().copied().collect();
    let x = Tensor::from_data(
        TensorData::new(flat, [embeddings.len(), FEATURE_CHANNELS]),
        device,
    );
    let logits = head.forward(x);
    let classes = logits.dims()[1];
    Ok(read_floats(logits)
        .await?
        .chunks(classes)
        .map(<[f32]>::to_vec)
        .collect())
}

/// Trains a head on `train`, stopping early on `validation` loss (on training loss when there is
/// no validation set). `on_epoch` sees each report and resolves to false to stop (cancel): the
/// best head so far is kept either way. It is async so that a browser worker can yield to its
/// event loop there (to hear a cancel) and stream progress.
pub async fn train_head<F: Future<Output = bool>>(
    device: &Device,
    classes: usize,
    train: Examples<'_>,
    validation: Option<Examples<'_>>,
    config: &HeadTrainingConfig,
    mut on_epoch: impl FnMut(EpochReport) -> F,
) -> Result<TrainedHead, ReadbackError> {
    device.seed(config.seed);
    let training_device = device.clone().autodiff();
    let mut head = PersonalHeadConfig::new(classes)
        .with_dropout(config.dropout)
        .init(&training_device);
    let mut optimizer = AdamConfig::new()
        .with_weight_decay(Some(WeightDecayConfig::new(config.weight_decay)))
        .init();
    let weights = class_weights(train.labels, classes);
    let loss_fn = CrossEntropyLossConfig::new()
        .with_weights(Some(weights.clone()))
        .init(&training_device);
    let mut rng = SplitMix64::new(config.seed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let (mut best, mut best_loss, mut best_epoch) = (head.valid(), f64::INFINITY, 0);
    let mut history = Vec::new();
    let mut cancelled = false;
    for epoch in 1..=config.epochs {
        rng.shuffle(&mut order);
        for batch in order.chunks(config.batch_size.max(1)) {
            let (x, y) = train.batch(batch, &training_device);
            let loss = loss_fn.forward(head.forward(x), y);
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optimizer.step(config.learning_rate, head, grads);
        }
        let plain = head.valid();
        let (train_loss, train_accuracy, _) = assess(&plain, train, &weights, device).await?;
        let (validation_loss, validation_accuracy) = match validation {
            Some(v) if v.len() > 0 => {
                let (loss, accuracy, _) = assess(&plain, v, &weights, device).await?;
                (Some(loss), Some(accuracy))
            }
            _ => (None, None),
        };
        let watched = validation_loss.unwrap_or(train_loss);
        if watched < best_loss {
            (best, best_loss, best_epoch) = (plain, watched, epoch);
        }
        let report = EpochReport {
            epoch,
            train_loss,
            train_accuracy,
            validation_loss,
            validation_accuracy,
        };
        history.push(report);
        if !on_epoch(report).await {
            cancelled = epoch < config.epochs;
            break;
        }
        if epoch - best_epoch >= config.patience {
            break;
        }
    }
    Ok(TrainedHead {
        head: best,
        history,
        best_epoch,
        cancelled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    /// Three classes that differ in which block of ten embedding dimensions is active.
    fn toy_set(per_class: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut rng = SplitMix64::new(seed);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for class in 0..3 {
            for _ in 0..per_class {
                let mut e: Vec<f32> = (0..FEATURE_CHANNELS)
                    .map(|_| rng.unit() as f32 * 0.5)
                    .collect();
                (class * 10..class * 10 + 10).for_each(|d| e[d] += 2.0);
                x.push(e);
                y.push(class);
            }
        }
        (x, y)
    }

    #[test]
    fn learns_a_separable_toy_set_to_full_accuracy() {
        let device = Device::flex();
        let (x, y) = toy_set(12, 1);
        let (vx, vy) = toy_set(6, 2);
        let train = Examples {
            embeddings: &x,
            labels: &y,
        };
        let validation = Examples {
            embeddings: &vx,
            labels: &vy,
        };
        let config = HeadTrainingConfig::new().with_epochs(40);
        let trained = block_on(train_head(
            &device,
            3,
            train,
            Some(validation),
            &config,
            |_| async { true },
        ))
        .expect("train");
        let last = trained.history.last().expect("epochs");
        assert_eq!(last.validation_accuracy, Some(1.0), "{:?}", trained.history);
        assert!(trained.history[0].train_loss > last.train_loss);
        let (_, accuracy, _) =
            block_on(assess(&trained.head, validation, &[1.0; 3], &device)).expect("assess");
        assert_eq!(accuracy, 1.0);
    }

    #[test]
    fn cancelling_keeps_the_best_head_so_far() {
        let device = Device::flex();
        let (x, y) = toy_set(8, 3);
        let train = Examples {
            embeddings: &x,
            labels: &y,
        };
        let trained = block_on(train_head(
            &device,
            3,
            train,
            None,
            &HeadTrainingConfig::new(),
            |r| async move { r.epoch < 3 },
        ))
        .expect("train");
        assert!(trained.cancelled);
        assert_eq!(trained.history.len(), 3);
        assert!(trained.best_epoch >= 1 && trained.best_epoch <= 3);
    }

    #[test]
    fn class_weights_balance_the_classes() {
        assert_eq!(class_weights(&[0, 0, 0, 1], 2), vec![4.0 / 6.0, 2.0]);
        assert_eq!(class_weights(&[0, 1], 2), vec![1.0, 1.0]);
    }
}
