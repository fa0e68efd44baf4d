//! What the Teach panel shows: the person's classes and photos, the training run and the trained
//! model's report. Plain signals, updated by the engine client from the worker's answers.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use leptos::prelude::*;

use crate::protocol::{
    BackendKind, EngineError, EpochReport, TrainProgress, TrainSettings, TrainingSummary,
};

#[derive(Debug, Clone, PartialEq)]
pub enum ExampleState {
    Embedding,
    Ready,
    Failed(String),
}

#[derive(Debug, Clone)]
pub struct TeachExample {
    pub id: u32,
    pub name: String,
    pub thumbnail: String,
    pub state: RwSignal<ExampleState>,
    /// The content hash of the file it came from, where known (imported photos): a folder
    /// imported again skips what is already here.
    pub content_hash: Option<u128>,
}

#[derive(Debug, Clone)]
pub struct TeachClass {
    pub key: u32,
    pub name: RwSignal<String>,
    pub photos: RwSignal<Vec<TeachExample>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TrainingState {
    Idle,
    Running(TrainProgress),
    Done(Box<TrainingSummary>),
    Failed(String),
}

/// Where the person's photos stand, per class in screen order: a photo counts from the moment
/// it is added, but the model can only learn from it once it is embedded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Readiness {
    pub ready: Vec<usize>,
    pub embedding: Vec<usize>,
}

impl Readiness {
    pub fn ready_total(&self) -> usize {
        self.ready.iter().sum()
    }

    pub fn embedding_total(&self) -> usize {
        self.embedding.iter().sum()
    }

    /// At least two classes, each with a photo that is or will be ready.
    pub fn can_train(&self) -> bool {
        self.ready.len() >= 2
            && self
                .ready
                .iter()
                .zip(&self.embedding)
                .all(|(ready, embedding)| ready + embedding > 0)
    }

    /// At least two classes, each with a ready photo: a run could start now.
    pub fn can_start(&self) -> bool {
        self.ready.len() >= 2 && self.ready.iter().all(|&n| n > 0)
    }
}

fn default_name(place: usize) -> String {
    format!("Class {place}")
}

pub struct Teach {
    pub classes: RwSignal<Vec<TeachClass>>,
    pub training: RwSignal<TrainingState>,
    /// Train was pressed while photos were still embedding: the run starts when they are ready
    /// (never on a silent subset of them), or on the ready ones if the person says so.
    pub waiting_to_train: RwSignal<bool>,
    /// Epoch curves of the current stage, for the live chart.
    pub history: RwSignal<Vec<EpochReport>>,
    pub settings: RwSignal<TrainSettings>,
    pub personal_ready: RwSignal<bool>,
    pub use_personal: RwSignal<bool>,
    pub model_error: RwSignal<Option<String>>,
    pub example_states: RefCell<HashMap<u32, RwSignal<ExampleState>>>,
    /// The backend of the engine running (or that ran) the current training.
    pub trained_on: RwSignal<Option<BackendKind>>,
    next_class: Cell<u32>,
}

impl Default for Teach {
    fn default() -> Self {
        let teach = Self {
            classes: RwSignal::new(Vec::new()),
            training: RwSignal::new(TrainingState::Idle),
            waiting_to_train: RwSignal::new(false),
            history: RwSignal::new(Vec::new()),
            settings: RwSignal::new(TrainSettings::default()),
            personal_ready: RwSignal::new(false),
            use_personal: RwSignal::new(false),
            model_error: RwSignal::new(None),
            example_states: RefCell::new(HashMap::new()),
            trained_on: RwSignal::new(None),
            next_class: Cell::new(0),
        };
        // Two empty classes to start from, as a person expects of a teachable classifier.
        teach.add_class();
        teach.add_class();
        teach
    }
}

impl Teach {
    pub fn add_class(&self) -> u32 {
        // Named by place, not key (keys keep growing across resets so stored records never
        // clash), skipping names in use.
        let taken = self.class_names();
        let name = (taken.len() + 1..)
            .map(default_name)
            .find(|name| !taken.contains(name))
            .unwrap_or_default();
        self.add_named_class(name)
    }

    pub fn add_named_class(&self, name: String) -> u32 {
        let key = self.next_class.get();
        self.next_class.set(key + 1);
        let name = RwSignal::new(name);
        self.classes.update(|c| {
            c.push(TeachClass {
                key,
                name,
                photos: RwSignal::new(Vec::new()),
            })
        });
        key
    }

    pub fn class_names(&self) -> Vec<String> {
        self.classes
            .with_untracked(|c| c.iter().map(|c| c.name.get_untracked()).collect())
    }

    /// The key of the class called `name` (trimmed, any case), if there is one.
    pub fn class_named(&self, name: &str) -> Option<u32> {
        let wanted = name.trim().to_lowercase();
        self.classes.with_untracked(|c| {
            c.iter()
                .find(|c| c.name.get_untracked().trim().to_lowercase() == wanted)
                .map(|c| c.key)
        })
    }

    /// Classes as they start out, empty and with their default name: an import replaces them.
    pub fn untouched_classes(&self) -> Vec<u32> {
        self.classes.with_untracked(|classes| {
            classes
                .iter()
                .filter(|c| {
                    let name = c.name.get_untracked();
                    let default = name
                        .strip_prefix("Class ")
                        .is_some_and(|n| n.parse::<usize>().is_ok());
                    default && c.photos.with_untracked(Vec::is_empty)
                })
                .map(|c| c.key)
                .collect()
        })
    }

    /// The content hash of every photo that has one, with its class's name.
    pub fn content_hashes(&self) -> Vec<(u128, String)> {
        self.classes.with_untracked(|classes| {
            classes
                .iter()
                .flat_map(|class| {
                    let name = class.name.get_untracked();
                    class.photos.with_untracked(|photos| {
                        photos
                            .iter()
                            .filter_map(|p| p.content_hash.map(|hash| (hash, name.clone())))
                            .collect::<Vec<_>>()
                    })
                })
                .collect()
        })
    }

    /// Replaces every class (and its photos) with `classes`, or with two empty ones.
    pub fn reset_classes(&self, classes: &[(u32, String)]) {
        for class in self.classes.get_untracked() {
            for photo in class.photos.get_untracked() {
                let _ = web_sys::Url::revoke_object_url(&photo.thumbnail);
            }
        }
        self.example_states.borrow_mut().clear();
        self.waiting_to_train.set(false);
        let next = classes.iter().map(|(key, _)| key + 1).max().unwrap_or(0);
        self.next_class.set(next.max(self.next_class.get()));
        self.classes.set(
            classes
                .iter()
                .map(|(key, name)| TeachClass {
                    key: *key,
                    name: RwSignal::new(name.clone()),
                    photos: RwSignal::new(Vec::new()),
                })
                .collect(),
        );
        if classes.is_empty() {
            self.add_class();
            self.add_class();
        }
    }

    /// Every photo, with the position of its class on screen, in screen order.
    pub fn photos_by_class(&self) -> Vec<(usize, TeachExample)> {
        self.classes.with_untracked(|classes| {
            classes
                .iter()
                .enumerate()
                .flat_map(|(index, class)| {
                    class
                        .photos
                        .get_untracked()
                        .into_iter()
                        .map(move |photo| (index, photo))
                })
                .collect()
        })
    }

    /// How many photos of each class are ready and how many still embedding (tracked: a view or
    /// effect reading it follows every photo's state).
    pub fn readiness(&self) -> Readiness {
        self.classes.with(|classes| {
            let (ready, embedding) = classes
                .iter()
                .map(|class| {
                    class.photos.with(|photos| {
                        photos.iter().fold((0, 0), |(r, e), p| match p.state.get() {
                            ExampleState::Ready => (r + 1, e),
                            ExampleState::Embedding => (r, e + 1),
                            ExampleState::Failed(_) => (r, e),
                        })
                    })
                })
                .unzip();
            Readiness { ready, embedding }
        })
    }

    /// The class a photo is in now.
    pub fn class_of(&self, id: u32) -> Option<TeachClass> {
        self.classes.with_untracked(|classes| {
            classes
                .iter()
                .find(|c| c.photos.with_untracked(|p| p.iter().any(|p| p.id == id)))
                .cloned()
        })
    }

    pub fn class(&self, key: u32) -> Option<TeachClass> {
        self.classes
            .with_untracked(|c| c.iter().find(|c| c.key == key).cloned())
    }

    pub fn set_example_state(&self, id: u32, state: ExampleState) {
        if let Some(signal) = self.example_states.borrow().get(&id) {
            signal.set(state);
        }
    }

    pub fn on_progress(&self, progress: TrainProgress) {
        let stage_changed = self.training.with_untracked(|t| match t {
            TrainingState::Running(p) => p.stage != progress.stage,
            _ => true,
        });
        if stage_changed {
            self.history.set(Vec::new());
        }
        if let Some(report) = progress.report {
            self.history.update(|h| h.push(report));
        }
        self.training.set(TrainingState::Running(progress));
    }

    pub fn on_trained(&self, result: Result<TrainingSummary, EngineError>) {
        match result {
            Ok(summary) => {
                self.history.set(summary.history.clone());
                self.training.set(TrainingState::Done(Box::new(summary)));
                self.personal_ready.set(true);
                self.use_personal.set(true);
            }
            Err(error) => self.training.set(TrainingState::Failed(error.to_string())),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.training.get_untracked(), TrainingState::Running(_))
    }
}
