//! What the engine reports and what the page keeps, as plain data: the page builds without Burn
//! (see `Cargo.toml`'s `engine` feature) and still speaks the protocol with these types.

use serde::{Deserialize, Serialize};

use super::calibration::Calibration;
use super::metrics::Evaluation;
use super::open_set::KnownRule;

/// Augmented views embedded per training photo, besides the clean one.
pub const AUGMENTED_VIEWS: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrainMode {
    HeadOnly,
    HeadAndBlocks,
}

/// What the person can set in the Teach panel (defaults shown there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    pub mode: TrainMode,
    pub epochs: usize,
    pub learning_rate: f64,
    pub batch_size: usize,
    pub augmentation: bool,
    pub validation_share: f64,
    pub seed: u64,
    /// "Auto": search the head's learning rate, weight decay, epochs and dropout first
    /// (`engine::teach::search`); the settings above are the search's first trial.
    #[serde(default)]
    pub auto: bool,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            mode: TrainMode::HeadOnly,
            epochs: 60,
            learning_rate: 1e-3,
            batch_size: 16,
            augmentation: true,
            validation_share: 0.2,
            seed: 42,
            auto: false,
        }
    }
}

/// What the page stores of a training photo so that it need not be embedded again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptExample {
    /// The upright photo at `KEPT_SIDE`, JPEG.
    #[serde(with = "serde_bytes")]
    pub photo: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub thumbnail: Vec<u8>,
    /// Clean view first, then the augmented views; 1280 floats each.
    pub embeddings: Vec<f32>,
}

/// Live progress of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainProgress {
    /// e.g. "fold 2 of 5", "final head", "fine-tuning blocks".
    pub stage: String,
    pub epoch: usize,
    pub epochs: usize,
    pub report: Option<EpochReport>,
}

/// Where one held-out photo landed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HeldOut {
    pub example: u32,
    pub actual: usize,
    pub predicted: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    pub classes: Vec<String>,
    pub evaluation: Evaluation,
    /// Per-epoch curves of the run that produced the final head (the hold-out run, or the first
    /// fold under k-fold).
    pub history: Vec<EpochReport>,
    pub best_epoch: usize,
    pub cancelled: bool,
    pub held_out: Vec<HeldOut>,
    pub evaluation_method: String,
    pub warnings: Vec<String>,
    pub mode: TrainMode,
    /// How many photos of each class the model learnt from (training and validation together),
    /// so the page can show that no photo was silently left out. Empty in summaries stored
    /// before it was recorded.
    #[serde(default)]
    pub trained_per_class: Vec<usize>,
    /// When the page got the model (ISO 8601, UTC), to tell one personal model from the next
    /// (the results table names it). None in summaries stored before it was recorded.
    #[serde(default)]
    pub trained_at: Option<String>,
    /// How the model's confidence was calibrated on the held-out photos. None in summaries
    /// stored before it was.
    #[serde(default)]
    pub calibration: Option<Calibration>,
    /// How the "one of your classes" threshold was set. None in summaries stored before it was.
    #[serde(default)]
    pub known: Option<KnownRule>,
    /// The "Auto" search's trials and its winner, when it ran.
    #[serde(default)]
    pub search: Option<HeadSearch>,
}

/// One setting of the head the "Auto" search tried, and how it did in k-fold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SearchTrial {
    pub learning_rate: f64,
    pub weight_decay: f32,
    pub epochs: usize,
    pub dropout: f64,
    /// Share of the searched photos its k-fold heads got right.
    pub accuracy: f64,
    /// Mean validation loss of its folds' kept epochs (breaks ties).
    pub loss: f64,
}

/// The "Auto" search: every trial in the order tried (the first is the settings as they were),
/// which won, and on what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadSearch {
    pub trials: Vec<SearchTrial>,
    pub winner: usize,
    pub folds: usize,
    /// Photos the search judged by (at most a number per class, clean views).
    pub photos: usize,
}

impl TrainingSummary {
    /// A summary of a run that learnt nothing, for tests that only carry one around.
    pub fn empty(classes: &[&str]) -> Self {
        Self {
            classes: classes.iter().map(|c| c.to_string()).collect(),
            evaluation: crate::formats::metrics::evaluate(&[], &[], classes.len()),
            history: Vec::new(),
            best_epoch: 0,
            cancelled: false,
            held_out: Vec::new(),
            evaluation_method: String::new(),
            warnings: Vec::new(),
            mode: TrainMode::HeadOnly,
            trained_per_class: Vec::new(),
            trained_at: None,
            calibration: None,
            known: None,
            search: None,
        }
    }
}

/// What one benchmark request measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkRun {
    pub times_ms: Vec<f64>,
    pub logits: Vec<f32>,
    /// Per-layer medians of a few extra passes (batch 1 only): where the time goes.
    pub layers: Vec<LayerTime>,
}

/// The median time of one layer over the profiled passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerTime {
    /// e.g. `block 4 depthwise 5x5 /2 (240 ch, 56x56)`.
    pub layer: String,
    pub ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SaliencyMethod {
    GradCam,
    SmoothGrad,
}

impl SaliencyMethod {
    pub const ALL: [SaliencyMethod; 2] = [SaliencyMethod::GradCam, SaliencyMethod::SmoothGrad];

    /// Stable identifier (`data-method` on the page).
    pub fn id(self) -> &'static str {
        match self {
            SaliencyMethod::GradCam => "grad-cam",
            SaliencyMethod::SmoothGrad => "smoothgrad",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.id() == id)
    }

    pub fn title(self) -> &'static str {
        match self {
            SaliencyMethod::GradCam => "Grad-CAM (regions)",
            SaliencyMethod::SmoothGrad => "SmoothGrad (pixels)",
        }
    }
}

/// Loss and accuracy after one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
}

/// One engine's answer to the backend race's probe input (`backend_race`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Median of the timed forward passes (upload, network, logits read back), in milliseconds.
    pub ms: f64,
    /// One fine-tuning step of the head and last blocks at batch 8, in milliseconds; timed only
    /// when training could go to the other engine (`worth_timing_training`).
    pub train_step_ms: Option<f64>,
    /// The ImageNet logits of the probe input.
    pub logits: Vec<f32>,
}
