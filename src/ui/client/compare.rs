//! The client's part in comparing the backbones (`ui::backbone_compare` holds the state): one
//! engine at a time, beside the one answering, is handed the training photos (the running
//! backbone's cached embeddings; the others embed the photos), trains the head with the person's
//! settings, then classifies a few photos to be timed; then the next backbone.

use std::rc::Rc;

use leptos::prelude::*;

use super::EngineClient;
use crate::backend_race::median;
use crate::formats::backbone::Backbone;
use crate::protocol::{Request, Response, TrainMode};
use crate::ui::backbone_compare::{
    CompareStage, CompareState, Comparing, Measured, Plan, TIMED_PHOTOS,
};
use crate::ui::backbone_switch::backend_id;
use crate::ui::teach::state::ExampleState;

/// Ids the timed classifications go under: far above any photo's, so no answer is mistaken.
const TIMING_IDS: u32 = u32::MAX - 64;

impl EngineClient {
    /// "Compare backbones": the head trained on every backbone on the ready photos.
    pub fn compare_backbones(self: &Rc<Self>) {
        if self.compare.running() {
            return;
        }
        let classes: Vec<String> = self
            .teach
            .classes
            .get_untracked()
            .iter()
            .map(|c| c.name.get_untracked())
            .collect();
        let examples: Vec<(u32, u32)> = self
            .teach
            .photos_by_class()
            .into_iter()
            .filter(|(_, p)| p.state.get_untracked() == ExampleState::Ready)
            .map(|(index, p)| (p.id, index as u32))
            .collect();
        let mut settings = self.teach.settings.get_untracked();
        // The head only, with the person's settings (and seed): the backbone is what differs.
        settings.mode = TrainMode::HeadOnly;
        let current = self.link.backbone();
        let todo = std::iter::once(current)
            .chain(Backbone::ALL.into_iter().filter(|&b| b != current))
            .collect();
        self.compare.rows.set(Vec::new());
        self.compare.plan.replace(Some(Plan {
            classes,
            examples,
            settings,
            todo,
        }));
        self.compare_next();
    }

    pub fn cancel_compare(&self) {
        self.compare.stop();
    }

    /// Starts the engine of the next backbone to compare, or ends the comparison.
    fn compare_next(self: &Rc<Self>) {
        let next = self
            .compare
            .plan
            .borrow_mut()
            .as_mut()
            .and_then(|plan| (!plan.todo.is_empty()).then(|| plan.todo.remove(0)));
        let Some(backbone) = next else {
            self.compare.stop();
            return;
        };
        let link = self.link.spawn_with(self.link.kind(), backbone);
        self.compare.comparing.replace(Some(Comparing {
            link,
            backbone,
            embedded: 0,
            summary: None,
            timings: Vec::new(),
            answers: 0,
            timing_sent: None,
        }));
        self.compare.state.set(CompareState::Running {
            backbone,
            stage: CompareStage::Loading,
        });
    }

    fn send_to_comparing(&self, request: Request) {
        if let Some(comparing) = self.compare.comparing.borrow().as_ref() {
            comparing.link.1.send(request);
        }
    }

    pub(super) fn on_compare_response(self: &Rc<Self>, response: Response) {
        let Some(backbone) = self.compare.comparing.borrow().as_ref().map(|c| c.backbone) else {
            return;
        };
        let Some(plan) = self.compare.plan.borrow().clone() else {
            return;
        };
        let total = plan.examples.len();
        match response {
            Response::Ready { .. } => {
                self.compare
                    .set_stage(CompareStage::Embedding { done: 0, total });
                self.hand_photos_to_comparing(backbone, plan);
            }
            Response::ExampleAdded { .. } | Response::ExampleRestored { .. } => {
                let done = self
                    .compare
                    .comparing
                    .borrow_mut()
                    .as_mut()
                    .map(|c| {
                        c.embedded += 1;
                        c.embedded
                    })
                    .unwrap_or(0);
                self.compare
                    .set_stage(CompareStage::Embedding { done, total });
            }
            Response::TrainProgress(progress) => self.compare.set_stage(CompareStage::Training {
                epoch: progress.epoch,
                epochs: progress.epochs,
            }),
            Response::Trained(Ok(saved)) => {
                if let Some(comparing) = self.compare.comparing.borrow_mut().as_mut() {
                    comparing.summary = Some(saved.summary);
                }
                self.compare.set_stage(CompareStage::Timing);
                self.time_comparing(plan);
            }
            Response::Trained(Err(error)) => {
                self.compare.finish_one(Err(error.to_string()));
                self.compare_next();
            }
            Response::Classified { result, .. } => {
                let timed = {
                    let mut comparing = self.compare.comparing.borrow_mut();
                    let Some(comparing) = comparing.as_mut() else {
                        return;
                    };
                    comparing.answers += 1;
                    if let Ok(classification) = result {
                        comparing.timings.push(classification.elapsed_ms);
                        self.backbone.latency.update(|log| {
                            log.record(
                                backbone,
                                backend_id(self.link.kind()),
                                classification.elapsed_ms,
                            )
                        });
                    }
                    comparing.timed()
                };
                if timed {
                    self.finish_comparing();
                }
            }
            Response::InitFailed { message }
            | Response::EngineLost {
                reason: message, ..
            } => {
                self.compare
                    .finish_one(Err(format!("{backbone} could not start: {message}")));
                self.compare_next();
            }
            _ => {}
        }
    }

    /// The running backbone's engine gets the cached embeddings; another's embeds the photos.
    /// Train follows them (the worker answers requests in order).
    fn hand_photos_to_comparing(self: &Rc<Self>, backbone: Backbone, plan: Plan) {
        let client = Rc::clone(self);
        let cached = backbone == self.link.backbone();
        wasm_bindgen_futures::spawn_local(async move {
            let wanted: std::collections::HashSet<u32> =
                plan.examples.iter().map(|(id, _)| *id).collect();
            let read = client
                .keeper
                .each_kept_where(
                    |id| wanted.contains(&id),
                    |id, kept| {
                        client.send_to_comparing(if cached {
                            Request::RestoreExample {
                                id,
                                photo: kept.photo,
                                embeddings: kept.embeddings,
                            }
                        } else {
                            Request::AddExample {
                                id,
                                bytes: kept.photo,
                                keep: true,
                            }
                        })
                    },
                )
                .await;
            if let Err(e) = read {
                client.compare.finish_one(Err(format!(
                    "the training photos could not be read back: {e}"
                )));
                client.compare_next();
                return;
            }
            client.send_to_comparing(Request::Train {
                classes: plan.classes,
                examples: plan.examples,
                settings: plan.settings,
            });
        });
    }

    /// Classifies a few of the training photos on the compared engine, to time it.
    fn time_comparing(self: &Rc<Self>, plan: Plan) {
        let client = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let timed: std::collections::HashSet<u32> = plan
                .examples
                .iter()
                .take(TIMED_PHOTOS)
                .map(|(id, _)| *id)
                .collect();
            let mut n = 0;
            let read = client
                .keeper
                .each_kept_where(
                    |id| timed.contains(&id),
                    |_, kept| {
                        client.send_to_comparing(Request::Classify {
                            id: TIMING_IDS + n,
                            bytes: kept.photo,
                        });
                        n += 1;
                    },
                )
                .await;
            let timed = client.compare.comparing.borrow_mut().as_mut().map(|c| {
                // Unreadable photos are not waited for.
                c.timing_sent = Some(if read.is_ok() { n as usize } else { c.answers });
                c.timed()
            });
            if timed == Some(true) {
                client.finish_comparing();
            }
        });
    }

    fn finish_comparing(self: &Rc<Self>) {
        let measured = self.compare.comparing.borrow_mut().as_mut().map(|c| {
            (
                c.summary.take(),
                (!c.timings.is_empty()).then(|| median(&c.timings)),
            )
        });
        if let Some((Some(summary), ms_per_photo)) = measured {
            self.compare.finish_one(Ok(Measured {
                summary,
                ms_per_photo,
            }));
        }
        self.compare_next();
    }
}
