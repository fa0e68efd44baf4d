//! Which backbone the engine runs, and changing it (`backbone-select`): a second engine loads
//! the chosen network and embeds every training photo again while the first keeps answering.
//! Only when all are embedded do the new embeddings replace the old in the store (one
//! transaction) and the new engine take over; cancelling, or a failure, lets it go and nothing
//! has changed. The latency each backbone has shown here is kept per backend.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use leptos::prelude::*;

use super::link::Link;
use crate::formats::backbone::Backbone;
use crate::formats::latency::LatencyLog;
use crate::protocol::{BackendKind, Request};

/// `localStorage` keys: the backbone to start with (the store has the final word) and the
/// latency log.
const BACKBONE_KEY: &str = "glimpse-backbone";
const LATENCY_KEY: &str = "glimpse-latency";

#[derive(Debug, Clone, PartialEq)]
pub enum SwitchState {
    Idle,
    /// The new engine is downloading and loading its weights.
    Loading {
        to: Backbone,
        loaded: u64,
        total: Option<u64>,
    },
    /// It is embedding the training photos.
    Embedding {
        to: Backbone,
        done: usize,
        total: usize,
    },
    /// The new embeddings are being stored.
    Finishing {
        to: Backbone,
    },
    Failed(String),
}

impl SwitchState {
    /// The backbone being switched to, while a switch runs.
    pub fn target(&self) -> Option<Backbone> {
        match self {
            SwitchState::Loading { to, .. }
            | SwitchState::Embedding { to, .. }
            | SwitchState::Finishing { to } => Some(*to),
            SwitchState::Idle | SwitchState::Failed(_) => None,
        }
    }
}

/// The engine being switched to, and what it has embedded.
pub(super) struct Switching {
    pub link: Link,
    pub to: Backbone,
    pub kind: BackendKind,
    asked: HashSet<u32>,
    embedded: HashMap<u32, Vec<f32>>,
}

impl Switching {
    /// Asks it to embed photo `id` (its kept JPEG); the engine that answers photos keeps it.
    pub fn embed(&mut self, id: u32, jpeg: Vec<u8>) {
        if self.asked.insert(id) {
            self.link.1.send(Request::AddExample {
                id,
                bytes: jpeg,
                keep: false,
            });
        }
    }

    pub fn asked(&self) -> &HashSet<u32> {
        &self.asked
    }

    /// Photo `id` embedded; answers how many of those asked are.
    pub fn embedded(&mut self, id: u32, embeddings: Vec<f32>) -> usize {
        self.embedded.insert(id, embeddings);
        self.embedded.len()
    }

    pub fn embedded_count(&self) -> usize {
        self.embedded.len()
    }

    /// Every photo asked is embedded.
    pub fn complete(&self) -> bool {
        self.asked.iter().all(|id| self.embedded.contains_key(id))
    }

    pub fn into_embeddings(self) -> (Link, HashMap<u32, Vec<f32>>) {
        (self.link, self.embedded)
    }
}

pub struct BackboneSwitch {
    /// The backbone the engine runs, which the stored embeddings belong to.
    pub current: RwSignal<Backbone>,
    pub state: RwSignal<SwitchState>,
    /// Per-photo times seen here.
    pub latency: RwSignal<LatencyLog>,
    pub(super) switching: RefCell<Option<Switching>>,
}

impl BackboneSwitch {
    pub(super) fn new() -> Self {
        let storage = storage();
        let get = |key| storage.as_ref()?.get_item(key).ok().flatten();
        Self {
            current: RwSignal::new(
                get(BACKBONE_KEY)
                    .and_then(|id| Backbone::parse(&id))
                    .unwrap_or_default(),
            ),
            state: RwSignal::new(SwitchState::Idle),
            latency: RwSignal::new(LatencyLog::parse(get(LATENCY_KEY).as_deref())),
            switching: RefCell::new(None),
        }
    }

    /// The engine runs `backbone` now; the next visit starts on it.
    pub(super) fn runs(&self, backbone: Backbone) {
        self.current.set(backbone);
        if let Some(storage) = storage() {
            let _ = storage.set_item(BACKBONE_KEY, backbone.id());
        }
    }

    /// The serial number of the engine being switched to.
    pub(super) fn serial(&self) -> Option<u32> {
        self.switching.borrow().as_ref().map(|s| s.link.0)
    }

    pub(super) fn begin(&self, link: Link, to: Backbone, kind: BackendKind) {
        self.switching.replace(Some(Switching {
            link,
            to,
            kind,
            asked: HashSet::new(),
            embedded: HashMap::new(),
        }));
        self.state.set(SwitchState::Loading {
            to,
            loaded: 0,
            total: None,
        });
    }

    /// Lets the engine being switched to go (cancelled or failed): nothing has changed.
    pub(super) fn stop(&self, why: Option<String>) {
        self.switching.replace(None);
        self.state.set(match why {
            Some(message) => SwitchState::Failed(message),
            None => SwitchState::Idle,
        });
    }

    /// One photo answered by the engine in `ms`.
    pub(super) fn answered(&self, backend: BackendKind, ms: f64) {
        let backbone = self.current.get_untracked();
        self.latency
            .update(|log| log.record(backbone, backend_id(backend), ms));
        if let Some(storage) = storage() {
            let _ = storage.set_item(LATENCY_KEY, &self.latency.with_untracked(|l| l.to_json()));
        }
    }
}

/// The backend's name in the latency log.
pub fn backend_id(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::Cpu => "cpu",
        BackendKind::WebGpu => "webgpu",
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}
