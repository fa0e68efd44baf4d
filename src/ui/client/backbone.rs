//! The client's part in changing the backbone (`ui::backbone_switch` holds its state): the
//! engine being switched to embeds the kept photos; once it has them all they are stored under
//! the new backbone and it takes over; work of another backbone (a reload, an import, a hosted
//! project) restarts the engine on it.

use std::collections::HashSet;
use std::rc::Rc;

use leptos::prelude::*;

use super::{EngineClient, ModelStatus};
use crate::formats::backbone::Backbone;
use crate::protocol::{BackendKind, Response};
use crate::ui::backbone_switch::SwitchState;
use crate::ui::link::Link;

impl EngineClient {
    /// The person chose `to` in `backbone-select`: a new engine starts on it beside this one.
    pub fn choose_backbone(self: &Rc<Self>, to: Backbone) {
        self.backbone.stop(None);
        if to == self.link.backbone() {
            return;
        }
        let kind = self.link.kind();
        let link = self.link.spawn_with(kind, to);
        self.backbone.begin(link, to, kind);
    }

    /// Stops a change of backbone: the engine being switched to is let go.
    pub fn cancel_backbone_switch(&self) {
        self.backbone.stop(None);
    }

    pub(super) fn on_switch_response(self: &Rc<Self>, response: Response) {
        let Some(to) = self.backbone.switching.borrow().as_ref().map(|s| s.to) else {
            return;
        };
        match response {
            Response::LoadProgress { loaded, total } => self
                .backbone
                .state
                .set(SwitchState::Loading { to, loaded, total }),
            Response::Ready { .. } => self.embed_for_switch(),
            Response::ExampleAdded { id, result } => {
                let kept = self.keeper.kept_ids();
                match result {
                    Ok(example) => {
                        let complete = {
                            let mut switching = self.backbone.switching.borrow_mut();
                            let Some(switching) = switching.as_mut() else {
                                return;
                            };
                            let done = switching.embedded(id, example.embeddings);
                            self.backbone.state.set(SwitchState::Embedding {
                                to,
                                done,
                                total: switching.asked().len(),
                            });
                            switching.complete()
                        };
                        if complete {
                            self.embed_for_switch();
                        }
                    }
                    // Removed meanwhile: not wanted any more.
                    Err(_) if !kept.contains(&id) => {}
                    Err(error) => {
                        let name = self
                            .teach
                            .photo(id)
                            .map(|p| p.name)
                            .unwrap_or_else(|| format!("photo {id}"));
                        self.backbone.stop(Some(format!(
                            "{to} could not embed \"{name}\": {error}; nothing was changed"
                        )));
                    }
                }
            }
            Response::InitFailed { message }
            | Response::EngineLost {
                reason: message, ..
            } => self.backbone.stop(Some(format!(
                "{to} could not start: {message}; nothing was changed"
            ))),
            _ => {}
        }
    }

    /// Asks the engine being switched to for each kept photo it has not been asked for (photos
    /// added meanwhile included); once a round asks for none and it has embedded every one, the
    /// switch finishes.
    fn embed_for_switch(self: &Rc<Self>) {
        if self.switch_reading.replace(true) {
            return;
        }
        let client = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let asked: HashSet<u32> = client
                .backbone
                .switching
                .borrow()
                .as_ref()
                .map(|s| s.asked().clone())
                .unwrap_or_default();
            let mut sent = 0;
            let read = client
                .keeper
                .each_kept_where(
                    |id| !asked.contains(&id),
                    |id, kept| {
                        if let Some(switching) = client.backbone.switching.borrow_mut().as_mut() {
                            switching.embed(id, kept.photo);
                            sent += 1;
                        }
                    },
                )
                .await;
            client.switch_reading.set(false);
            let Some((to, done, total, complete)) = client
                .backbone
                .switching
                .borrow()
                .as_ref()
                .map(|s| (s.to, s.embedded_count(), s.asked().len(), s.complete()))
            else {
                return;
            };
            if let Err(e) = read {
                client.backbone.stop(Some(format!(
                    "your saved photos could not be read: {e}; nothing was changed"
                )));
                return;
            }
            client
                .backbone
                .state
                .set(SwitchState::Embedding { to, done, total });
            if sent == 0 && complete {
                client.finish_switch();
            }
        });
    }

    /// Stores the new embeddings; the engine that made them then takes over.
    fn finish_switch(self: &Rc<Self>) {
        let Some(switching) = self.backbone.switching.borrow_mut().take() else {
            return;
        };
        let (to, kind) = (switching.to, switching.kind);
        self.backbone.state.set(SwitchState::Finishing { to });
        let (link, embeddings) = switching.into_embeddings();
        let client = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            match client.keeper.rebase(to, embeddings).await {
                Ok(()) => client.take_over_on(link, to, kind),
                // The new engine is let go with `link`.
                Err(e) => client.backbone.state.set(SwitchState::Failed(format!(
                    "the new embeddings could not be stored ({e}); nothing was changed"
                ))),
            }
        });
    }

    /// `link`, an engine of `to` that is ready, becomes the engine; the work is shown and handed
    /// to it again, with `to`'s own model if it has one.
    fn take_over_on(self: &Rc<Self>, link: Link, to: Backbone, kind: BackendKind) {
        self.leave_backbone(to);
        self.link.take_over(link, kind);
        self.keeper.reload();
        self.backbone.state.set(SwitchState::Idle);
        self.pump();
    }

    /// The stored work belongs to `backbone`: the engine restarts on it (the keeper then hands
    /// the new engine the work).
    pub(super) fn respawn_on(self: &Rc<Self>, backbone: Backbone) {
        self.backbone.stop(None);
        self.leave_backbone(backbone);
        self.status.set(ModelStatus::Loading {
            loaded: 0,
            total: None,
        });
        self.link.start();
    }

    /// Everything that ran the old backbone stops: photos it held go back to the queue, the
    /// pool's helpers and the trainer are let go, the live camera's next frame goes to the new
    /// engine.
    fn leave_backbone(&self, to: Backbone) {
        self.link.set_backbone(to);
        self.backbone.runs(to);
        self.live.lost();
        self.requeue_in_flight();
        self.abandon_race();
        self.bench.reject_all();
        for slot in self.pool.let_go_all() {
            self.requeue_out_of(slot);
        }
    }
}
