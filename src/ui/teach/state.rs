//! What the Teach panel shows: the person's classes and photos, the training run and the trained
//! model's report. Plain signals, updated by the engine client from the worker's answers.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use leptos::prelude::*;

use crate::photo_tally::PhotoTally;
pub use crate::photo_tally::{ExampleState, Tally};
use crate::protocol::{
    BackendKind, EngineError, EpochReport, TrainProgress, TrainSettings, TrainingSummary,
};

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

impl TeachExample {
    /// A photo just added: embedding.
    pub fn new(id: u32, name: String, thumbnail: String, content_hash: Option<u128>) -> Self {
        Self {
            id,
            name,
            thumbnail,
            state: RwSignal::new(ExampleState::Embedding),
            content_hash,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TeachClass {
    pub key: u32,
    pub name: RwSignal<String>,
    pub photos: RwSignal<Vec<TeachExample>>,
    /// Where its photos stand, kept up to date by `Teach` as they change.
    pub tally: RwSignal<Tally>,
}

impl TeachClass {
    fn new(key: u32, name: String) -> Self {
        Self {
            key,
            name: RwSignal::new(name),
            photos: RwSignal::new(Vec::new()),
            tally: RwSignal::new(Tally::default()),
        }
    }
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
    /// Where the latest folder import's photos stand.
    pub import_tally: RwSignal<Tally>,
    /// Every photo's state, as its thumbnail shows it.
    example_states: RefCell<HashMap<u32, RwSignal<ExampleState>>>,
    /// Every photo's class and state, counted (the source of the tally signals).
    photo_tally: RefCell<PhotoTally>,
    /// The backend of the engine running (or that ran) the current training.
    pub trained_on: RwSignal<Option<BackendKind>>,
    /// Photos put into a class from their answers ("this is X") since the model was trained:
    /// the report then suggests retraining.
    pub corrections: RwSignal<usize>,
    /// The next run trains the head only, whatever the settings say (a quick retrain).
    pub head_only_next: Cell<bool>,
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
            import_tally: RwSignal::new(Tally::default()),
            example_states: RefCell::new(HashMap::new()),
            photo_tally: RefCell::new(PhotoTally::default()),
            trained_on: RwSignal::new(None),
            corrections: RwSignal::new(0),
            head_only_next: Cell::new(false),
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
        self.classes.update(|c| c.push(TeachClass::new(key, name)));
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
        self.photo_tally.borrow_mut().clear();
        self.import_tally.set(Tally::default());
        self.waiting_to_train.set(false);
        let next = classes.iter().map(|(key, _)| key + 1).max().unwrap_or(0);
        self.next_class.set(next.max(self.next_class.get()));
        self.classes.set(
            classes
                .iter()
                .map(|(key, name)| TeachClass::new(*key, name.clone()))
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
    /// effect reading it follows every class's tally).
    pub fn readiness(&self) -> Readiness {
        self.classes.with(|classes| {
            let (ready, embedding) = classes
                .iter()
                .map(|class| class.tally.with(|t| (t.ready, t.embedding)))
                .unzip();
            Readiness { ready, embedding }
        })
    }

    /// The class a photo is in now.
    pub fn class_of(&self, id: u32) -> Option<TeachClass> {
        let key = self.photo_tally.borrow().class_of(id)?;
        self.class(key)
    }

    /// A photo, wherever it is.
    pub fn photo(&self, id: u32) -> Option<TeachExample> {
        self.class_of(id)?
            .photos
            .with_untracked(|p| p.iter().find(|p| p.id == id).cloned())
    }

    /// Puts a new photo (`TeachExample::new`, embedding) at the end of class `key`; `imported`
    /// when the folder import under way brought it. False when there is no such class.
    pub fn add_photo(&self, key: u32, photo: TeachExample, imported: bool) -> bool {
        let Some(class) = self.class(key) else {
            return false;
        };
        let id = photo.id;
        self.example_states.borrow_mut().insert(id, photo.state);
        self.photo_tally.borrow_mut().add(id, key, imported);
        class.photos.update(|p| p.push(photo));
        self.publish(key);
        true
    }

    /// Takes a photo out of its class; gives it back, for the caller to let go of its thumbnail.
    pub fn remove_photo(&self, id: u32) -> Option<TeachExample> {
        let class = self.class_of(id);
        self.example_states.borrow_mut().remove(&id);
        let key = self.photo_tally.borrow_mut().remove(id)?;
        self.publish(key);
        let class = class?;
        let mut removed = None;
        class.photos.update(|p| {
            if let Some(i) = p.iter().position(|p| p.id == id) {
                removed = Some(p.remove(i));
            }
        });
        removed
    }

    /// Takes class `key` out with its photos; gives the photos back (see `remove_photo`).
    pub fn remove_class(&self, key: u32) -> Vec<TeachExample> {
        let Some(class) = self.class(key) else {
            return Vec::new();
        };
        let photos = class.photos.get_untracked();
        {
            let mut states = self.example_states.borrow_mut();
            let mut tally = self.photo_tally.borrow_mut();
            for photo in &photos {
                states.remove(&photo.id);
                tally.remove(photo.id);
            }
        }
        self.classes.update(|c| c.retain(|c| c.key != key));
        self.publish(key);
        photos
    }

    /// Moves a photo to the end of class `to`, as it stands (its embeddings stay valid); false
    /// when either is not there.
    pub fn move_photo(&self, id: u32, to: u32) -> bool {
        let (Some(from), Some(to)) = (self.class_of(id), self.class(to)) else {
            return false;
        };
        let mut moved = None;
        from.photos.update(|p| {
            if let Some(i) = p.iter().position(|p| p.id == id) {
                moved = Some(p.remove(i));
            }
        });
        let Some(photo) = moved else {
            return false;
        };
        to.photos.update(|p| p.push(photo));
        self.photo_tally.borrow_mut().move_to(id, to.key);
        self.publish(from.key);
        self.publish(to.key);
        true
    }

    pub fn class(&self, key: u32) -> Option<TeachClass> {
        self.classes
            .with_untracked(|c| c.iter().find(|c| c.key == key).cloned())
    }

    pub fn set_example_state(&self, id: u32, state: ExampleState) {
        let Some(signal) = self.example_states.borrow().get(&id).copied() else {
            return;
        };
        let class = self.photo_tally.borrow_mut().set(id, state.clone());
        signal.set(state);
        if let Some(key) = class {
            self.publish(key);
        }
    }

    /// A folder import begins: the import tally follows its photos only.
    pub fn start_import(&self) {
        self.photo_tally.borrow_mut().start_import();
        self.import_tally.set(Tally::default());
    }

    /// The latest import's photos still embedding.
    pub fn import_embedding(&self) -> Vec<u32> {
        self.photo_tally.borrow().import_embedding()
    }

    /// Shows class `key`'s counts and the import's, where they changed.
    fn publish(&self, key: u32) {
        let (class_tally, import_tally) = {
            let tally = self.photo_tally.borrow();
            (tally.class(key), tally.import())
        };
        if let Some(class) = self.class(key)
            && class.tally.get_untracked() != class_tally
        {
            class.tally.set(class_tally);
        }
        if self.import_tally.get_untracked() != import_tally {
            self.import_tally.set(import_tally);
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
                self.corrections.set(0);
            }
            Err(error) => self.training.set(TrainingState::Failed(error.to_string())),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.training.get_untracked(), TrainingState::Running(_))
    }
}
