//! "Compare backbones" (`compare-backbones`): the head trained on each backbone in turn, on the
//! same photos with the same settings and seed, in an engine of its own beside the one answering
//! (which keeps the person's model), so the person sees held-out accuracy (with its interval)
//! and time per photo side by side and picks. The running backbone reuses the cached
//! embeddings; the others embed the photos first.

use std::cell::RefCell;

use leptos::prelude::*;

use super::link::Link;
use crate::formats::backbone::Backbone;
use crate::formats::records::{TrainSettings, TrainingSummary};

/// Photos each backbone classifies after training, to time it here.
pub const TIMED_PHOTOS: usize = 3;

#[derive(Debug, Clone, PartialEq)]
pub enum CompareStage {
    Loading,
    Embedding { done: usize, total: usize },
    Training { epoch: usize, epochs: usize },
    Timing,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompareState {
    Idle,
    Running {
        backbone: Backbone,
        stage: CompareStage,
    },
    Done,
}

/// One backbone's result.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
    pub backbone: Backbone,
    pub outcome: Result<Measured, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub summary: TrainingSummary,
    /// Median time per photo of the timed classifications, ms.
    pub ms_per_photo: Option<f64>,
}

/// What every backbone trains on.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub classes: Vec<String>,
    pub examples: Vec<(u32, u32)>,
    pub settings: TrainSettings,
    /// Still to run, in order.
    pub todo: Vec<Backbone>,
}

/// The engine comparing one backbone now.
pub(super) struct Comparing {
    pub link: Link,
    pub backbone: Backbone,
    pub embedded: usize,
    pub summary: Option<TrainingSummary>,
    pub timings: Vec<f64>,
    /// Timed classifications answered, and how many were asked (once all are sent).
    pub answers: usize,
    pub timing_sent: Option<usize>,
}

impl Comparing {
    /// Every timed classification asked has its answer.
    pub fn timed(&self) -> bool {
        self.timing_sent == Some(self.answers)
    }
}

pub struct BackboneCompare {
    pub state: RwSignal<CompareState>,
    pub rows: RwSignal<Vec<CompareRow>>,
    pub(super) plan: RefCell<Option<Plan>>,
    pub(super) comparing: RefCell<Option<Comparing>>,
}

impl BackboneCompare {
    pub(super) fn new() -> Self {
        Self {
            state: RwSignal::new(CompareState::Idle),
            rows: RwSignal::new(Vec::new()),
            plan: RefCell::new(None),
            comparing: RefCell::new(None),
        }
    }

    pub(super) fn serial(&self) -> Option<u32> {
        self.comparing.borrow().as_ref().map(|c| c.link.0)
    }

    pub(super) fn running(&self) -> bool {
        matches!(self.state.get_untracked(), CompareState::Running { .. })
    }

    pub(super) fn set_stage(&self, stage: CompareStage) {
        if let Some(backbone) = self.comparing.borrow().as_ref().map(|c| c.backbone) {
            self.state.set(CompareState::Running { backbone, stage });
        }
    }

    /// The backbone being compared is done (`outcome`); its engine is let go.
    pub(super) fn finish_one(&self, outcome: Result<Measured, String>) {
        if let Some(comparing) = self.comparing.borrow_mut().take() {
            let row = CompareRow {
                backbone: comparing.backbone,
                outcome,
            };
            self.rows.update(|rows| rows.push(row));
        }
    }

    /// Stops the comparison; the rows so far stay.
    pub(super) fn stop(&self) {
        self.comparing.replace(None);
        self.plan.replace(None);
        self.state.set(CompareState::Done);
    }
}
