//! When the engine is lost (its GPU device was lost, or the worker crashed) the page starts a new
//! worker and hands it everything the person has: the training photos (their kept copies and
//! embeddings), the trained model and the model choice; photos that were being classified or
//! learnt from go back to the front of the queue, overlays being computed are asked for again.
//! Nothing the person did is lost, and the page says what happened. A training run that was
//! going is stopped (its last finished model is kept); three losses within a minute stop the
//! restarts, so a worker that can never start does not loop.
//!
//! This is the restart policy and what it says; `EngineClient::on_engine_lost` does the rest.

use std::cell::{Cell, RefCell};

use crate::protocol::{BackendInfo, BackendKind};

/// Restarts allowed within `RESTART_WINDOW_MS` before the page gives up.
pub(super) const MAX_RESTARTS: usize = 3;
const RESTART_WINDOW_MS: f64 = 60_000.0;
pub(super) const TRAINING_STOPPED: &str = "training stopped because the engine was restarted; your photos and your last model are kept: press Train to run it again";

#[derive(Default)]
pub(super) struct Recovery {
    /// Set while a lost engine is being replaced; cleared when the new one is ready.
    restarting: Cell<bool>,
    /// When the engine was last restarted (ms since the epoch), to stop a crash loop.
    restarts: RefCell<Vec<f64>>,
    /// What happened to the engine that is being restarted, for the notice.
    loss: RefCell<String>,
}

impl Recovery {
    /// An engine was lost at `now`: whether it may be restarted (not the fourth loss in a
    /// minute).
    pub(super) fn may_restart(&self, now: f64) -> bool {
        let mut restarts = self.restarts.borrow_mut();
        restarts.retain(|&t| now - t < RESTART_WINDOW_MS);
        restarts.push(now);
        restarts.len() <= MAX_RESTARTS
    }

    /// A new engine is starting because of `what`.
    pub(super) fn begin(&self, what: String) {
        self.loss.replace(what);
        self.restarting.set(true);
    }

    pub(super) fn restarting(&self) -> bool {
        self.restarting.get()
    }

    /// The new engine is ready; answers whether it was a restart.
    pub(super) fn finish(&self) -> bool {
        self.restarting.replace(false)
    }

    /// What happened to the engine being replaced.
    pub(super) fn loss(&self) -> String {
        self.loss.borrow().clone()
    }

    /// The notice once the new engine answers.
    pub(super) fn restarted_on(&self, backend: &BackendInfo) -> String {
        format!(
            "{} Glimpse restarted it on {}; your photos, classes and model are kept.",
            self.loss.borrow(),
            backend_name(backend)
        )
    }
}

fn backend_name(backend: &BackendInfo) -> String {
    match backend.kind {
        BackendKind::WebGpu => format!("WebGPU ({})", backend.adapter),
        BackendKind::Cpu => "the CPU".to_string(),
    }
}
