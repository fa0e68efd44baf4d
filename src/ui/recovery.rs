//! When the engine is lost (its GPU device was lost, or the worker crashed) the page starts a new
//! worker and hands it everything the person has: the training photos (their kept copies and
//! embeddings), the trained model and the model choice; photos that were being classified or
//! learnt from go back to the front of the queue, overlays being computed are asked for again.
//! Nothing the person did is lost, and the page says what happened. A training run that was
//! going is stopped (its last finished model is kept); three losses within a minute stop the
//! restarts, so a worker that can never start does not loop.

use std::rc::Rc;

use leptos::prelude::*;

use super::client::{CardState, EngineClient, ModelStatus, OverlayChoice};
use super::keep::ImportState;
use super::teach::state::TrainingState;
use crate::protocol::{BackendInfo, BackendKind, Request, SaliencyMethod};
use crate::work_queue::Work;

/// Restarts allowed within `RESTART_WINDOW_MS` before the page gives up.
const MAX_RESTARTS: usize = 3;
const RESTART_WINDOW_MS: f64 = 60_000.0;
const TRAINING_STOPPED: &str = "training stopped because the engine was restarted; your photos and your last model are kept: press Train to run it again";

fn backend_name(backend: &BackendInfo) -> String {
    match backend.kind {
        BackendKind::WebGpu => format!("WebGPU ({})", backend.adapter),
        BackendKind::Cpu => "the CPU".to_string(),
    }
}

impl EngineClient {
    pub(super) fn on_engine_lost(self: &Rc<Self>, reason: String, device_lost: bool) {
        let what = if device_lost {
            format!("The GPU stopped working ({reason}).")
        } else {
            format!("The engine stopped: {reason}.")
        };
        let now = js_sys::Date::now();
        let too_many = {
            let mut restarts = self.restarts.borrow_mut();
            restarts.retain(|&t| now - t < RESTART_WINDOW_MS);
            restarts.push(now);
            restarts.len() > MAX_RESTARTS
        };
        if too_many {
            self.bridge_gone();
            let message = format!("{what} It stopped {MAX_RESTARTS} times within a minute");
            self.notice.set(Some(format!(
                "{what} Glimpse stopped restarting it; reload the page to try again. Your classes, photos and model are kept."
            )));
            self.status.set(ModelStatus::Failed(message.clone()));
            self.requeue_in_flight();
            self.fail_waiting(&format!("the model stopped: {message}"));
            return;
        }
        self.restart(what);
    }

    /// Replaces the worker and hands the new one the person's work; `what` says why.
    fn restart(self: &Rc<Self>, what: String) {
        self.notice.set(Some(format!(
            "{what} Glimpse is restarting it; your photos, classes and model are kept."
        )));
        self.loss.replace(what);
        self.restarting.set(true);
        self.status.set(ModelStatus::Loading {
            loaded: 0,
            total: None,
        });
        self.requeue_in_flight();
        if self.teach.is_running() {
            self.teach
                .training
                .set(TrainingState::Failed(TRAINING_STOPPED.into()));
        }
        if matches!(self.keeper.import.get_untracked(), ImportState::Checking) {
            self.keeper.import.set(ImportState::Failed(
                "the engine restarted while checking the file: please import it again".into(),
            ));
        }
        self.reject_probes();
        self.abandon_race();
        self.spawn_worker();
        self.hand_over_work();
    }

    /// Sends the engine the person's work: the training photos (kept copies and embeddings),
    /// the trained model and the model choice. Queued behind `Init` on a new worker, which
    /// serves them once the model has loaded.
    pub(super) fn hand_over_work(&self) {
        for (&id, kept) in self.kept.borrow().iter() {
            self.send(Request::RestoreExample {
                id,
                photo: kept.photo.clone(),
                embeddings: kept.embeddings.clone(),
            });
        }
        if let Some(model) = self.saved_model.borrow().clone() {
            let personal = self.teach.use_personal.get_untracked();
            self.wanted_personal.set(personal);
            self.send(Request::LoadModel(model));
            // Right behind it, before any photo: the first answers come from the right model.
            self.send(Request::UseModel { personal });
        }
    }

    /// Photos the lost worker held go back to the front of the queue, in their order.
    fn requeue_in_flight(&self) {
        let again = self.queue.borrow_mut().requeue_out();
        for job in again {
            if job.work == Work::Classify {
                self.set_state(job.id, CardState::Queued);
            }
        }
    }

    /// The new engine is ready: say so, and ask again for the overlays the old one owed.
    pub(super) fn on_restarted(self: &Rc<Self>, backend: &BackendInfo) {
        self.notice.set(Some(format!(
            "{} Glimpse restarted it on {}; your photos, classes and model are kept.",
            self.loss.borrow(),
            backend_name(backend)
        )));
        for card in self.cards.get_untracked() {
            let CardState::Done(classification) = card.state.get_untracked() else {
                continue;
            };
            let (owed, top) = card.overlay.with_untracked(|o| {
                let top = o.maps.is_empty() && o.choice.is_none() && o.error.is_none();
                (o.computing().then_some(o.choice).flatten(), top)
            });
            if let Some(choice) = owed {
                self.explain(card.id, choice);
            } else if top && let Some(best) = classification.predictions.first() {
                self.explain(
                    card.id,
                    OverlayChoice {
                        class_index: best.class_index,
                        method: SaliencyMethod::GradCam,
                    },
                );
            }
        }
    }

    /// A WebGPU start that fails after a lost device falls back to the CPU rather than leaving
    /// the person without a model. Returns whether it did.
    pub(super) fn retry_on_cpu(self: &Rc<Self>, message: &str) -> bool {
        if self.kind.get() == BackendKind::Cpu {
            return false;
        }
        self.kind.set(BackendKind::Cpu);
        let what = format!(
            "{} WebGPU could not start again ({message}).",
            self.loss.borrow()
        );
        self.restart(what);
        true
    }
}
