//! Keeping the person's work: brings it back at start, writes each change through to IndexedDB,
//! and exports, imports and clears it.
//!
//! The page holds what it shows (names, thumbnails), not the kept copies and embeddings of the
//! photos: those live in IndexedDB and in the engine, and are read back one at a time through a
//! cursor when a new engine or the trainer needs them, or an export, so thousands of photos cost
//! the page only their thumbnails. Where nothing can be read back (no store, a hosted project),
//! the page holds the kept copies itself.

mod hosted;
mod usage;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::rc::Rc;

use leptos::prelude::*;

use super::files::{blob_url, download, now_iso, read_file, today};
use super::link::EngineLink;
use super::photo_ids::PhotoIds;
use super::teach::state::{ExampleState, Teach, TeachExample, TrainingState};
use crate::formats::backbone::Backbone;
use crate::formats::project_file::{self as project_file, Project, ProjectExample};
use crate::protocol::{ByteBuf, EngineError, KeptExample, Request, SavedModel};
use crate::store::{self, ClassRecord, ExampleRecord, Listing, Snapshot, Store, StoreError};
use crate::work_queue::{Work, WorkQueue};
pub use hosted::HostedProject;
pub use usage::UsageMeter;

#[derive(Debug, Clone, PartialEq)]
pub enum ImportState {
    Idle,
    Checking,
    /// Checked and waiting for the person to agree to replace their current work.
    Confirm(String),
    Done(String),
    Failed(String),
}

/// The person's stored work: which training photos are kept, the trained model, the store they
/// are written to, and an import waiting to be confirmed.
pub struct Keeper {
    link: Rc<EngineLink>,
    teach: Rc<Teach>,
    queue: Rc<RefCell<WorkQueue<web_sys::File>>>,
    ids: Rc<PhotoIds>,
    /// The training photos that are kept: stored, or held below.
    kept: RefCell<HashSet<u32>>,
    /// Kept copies that cannot be read back from the store (there is none, the work is a hosted
    /// project, or it came before the store was ready), held here instead.
    held: RefCell<HashMap<u32, KeptExample>>,
    /// Counts the hand-overs of the photos to the engine: a stream of photos for an engine that
    /// has since been handed them again, or reset, stops.
    hand_overs: Cell<u32>,
    saved_model: RefCell<Option<SavedModel>>,
    /// The model choice to apply once a restored model has loaded.
    wanted_personal: Cell<bool>,
    store: RefCell<Option<Rc<Store>>>,
    /// True once stored work is back on screen (and edits may be written).
    pub ready: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
    /// Bytes used and the quota, as the browser estimates them.
    pub usage: UsageMeter,
    pub persisted: RwSignal<Option<bool>>,
    pub import: RwSignal<ImportState>,
    pub export_error: RwSignal<Option<String>>,
    pending_import: RefCell<Option<Snapshot>>,
    asked_persist: Cell<bool>,
    /// A project opened from the site (`?project=`), shown read-only: the person's own stored
    /// work is neither read nor written while it is (`hosted.rs`).
    pub hosted: RwSignal<Option<HostedProject>>,
    /// The hosted project as records, for copying it into the person's own work.
    hosted_snapshot: RefCell<Option<Snapshot>>,
    /// The engine is checking the hosted project (not an import).
    hosted_checking: Cell<bool>,
    /// Restarts the engine on another backbone (the client's): work of another backbone than
    /// the engine's is shown only once the engine runs it.
    respawn: RefCell<Option<Respawn>>,
}

type Respawn = Box<dyn Fn(Backbone)>;

impl Keeper {
    pub(super) fn new(
        link: Rc<EngineLink>,
        teach: Rc<Teach>,
        queue: Rc<RefCell<WorkQueue<web_sys::File>>>,
        ids: Rc<PhotoIds>,
    ) -> Self {
        Self {
            link,
            teach,
            queue,
            ids,
            kept: RefCell::default(),
            held: RefCell::default(),
            hand_overs: Cell::new(0),
            saved_model: RefCell::new(None),
            wanted_personal: Cell::new(false),
            store: RefCell::new(None),
            ready: RwSignal::new(false),
            error: RwSignal::new(None),
            usage: UsageMeter::new(),
            persisted: RwSignal::new(None),
            import: RwSignal::new(ImportState::Idle),
            export_error: RwSignal::new(None),
            pending_import: RefCell::new(None),
            asked_persist: Cell::new(false),
            hosted: RwSignal::new(None),
            hosted_snapshot: RefCell::new(None),
            hosted_checking: Cell::new(false),
            respawn: RefCell::new(None),
        }
    }

    /// How the keeper has the engine restarted on another backbone.
    pub(super) fn on_respawn(&self, respawn: impl Fn(Backbone) + 'static) {
        *self.respawn.borrow_mut() = Some(Box::new(respawn));
    }

    fn store(&self) -> Option<Rc<Store>> {
        self.store.borrow().clone()
    }

    /// Whether changes are written to the store now (and can be read back from it).
    fn writes(&self) -> bool {
        self.ready.get_untracked()
            && self.hosted.with_untracked(Option::is_none)
            && self.store.borrow().is_some()
    }

    /// Runs one storage change in the background. Changes start in the order they are asked for
    /// (each opens its transaction when first polled), so IndexedDB applies them in that order.
    pub fn write<F, Fut>(&self, change: F)
    where
        F: FnOnce(Rc<Store>) -> Fut + 'static,
        Fut: Future<Output = Result<(), StoreError>> + 'static,
    {
        let Some(store) = self.store().filter(|_| self.writes()) else {
            return;
        };
        let (error, usage) = (self.error, self.usage);
        wasm_bindgen_futures::spawn_local(async move {
            match change(store).await {
                Ok(()) => usage.refresh().await,
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    }
}

fn restore(id: u32, kept: KeptExample) -> Request {
    Request::RestoreExample {
        id,
        photo: kept.photo,
        embeddings: kept.embeddings,
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// What a project holds, in words ("3 classes, 30 photos and a trained model").
fn contents(project: &Project) -> String {
    format!(
        "{}, {}{}",
        count(project.classes.len(), "class", "classes"),
        count(project.photos.len(), "photo", "photos"),
        if project.model.is_some() {
            " and a trained model"
        } else {
            ""
        }
    )
}

impl Keeper {
    /// Opens the store and puts back what it holds (or opens the project the page was given);
    /// then keeps class names and settings written.
    pub(super) fn restore_saved(self: &Rc<Self>) {
        if !self.open_hosted() {
            self.restore_own();
        }
        self.write_classes_and_settings();
    }

    /// Opens the store and puts back the person's own work.
    fn restore_own(self: &Rc<Self>) {
        let keeper = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let listing = match Store::open().await {
                Ok(store) => {
                    let store = Rc::new(store);
                    *keeper.store.borrow_mut() = Some(Rc::clone(&store));
                    store.list().await.unwrap_or_else(|e| {
                        keeper
                            .error
                            .set(Some(format!("your saved work could not be read: {e}")));
                        Listing::default()
                    })
                }
                Err(e) => {
                    keeper.error.set(Some(format!(
                        "your work will not be kept after this visit: {e}"
                    )));
                    Listing::default()
                }
            };
            let hand_over = keeper.show(listing);
            keeper.ready.set(true);
            keeper.stream_to_engine(hand_over).await;
            keeper.usage.refresh().await;
        });
    }

    /// Writes the classes (names, order) and training settings whenever they change.
    fn write_classes_and_settings(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let (classes, ready, settings) = (self.teach.classes, self.ready, self.teach.settings);
        Effect::new(move |_| {
            let records: Vec<ClassRecord> = classes.with(|classes| {
                classes
                    .iter()
                    .enumerate()
                    .map(|(position, class)| ClassRecord {
                        key: class.key,
                        name: class.name.get(),
                        position: position as u32,
                    })
                    .collect()
            });
            if ready.get()
                && let Some(keeper) = weak.upgrade()
            {
                keeper.write(move |store| async move { store.put_classes(&records).await });
            }
        });
        let weak = Rc::downgrade(self);
        Effect::new(move |_| {
            let settings = settings.get();
            if ready.get()
                && let Some(keeper) = weak.upgrade()
            {
                keeper.write(move |store| async move { store.put_train_settings(&settings).await });
            }
        });
    }

    /// Makes `snapshot` (an import, a hosted project, nothing after clearing) the person's work
    /// on screen and in the engine; where the store cannot give the photos back, the page holds
    /// them.
    fn apply_snapshot(self: &Rc<Self>, snapshot: Snapshot) {
        self.show(Listing::from(&snapshot));
        let hold = !self.writes();
        for record in snapshot.photos {
            let id = record.id;
            if !self.kept.borrow().contains(&id) {
                continue;
            }
            let kept = record.into_kept();
            if hold {
                self.held.borrow_mut().insert(id, kept.clone());
            }
            self.link.send(restore(id, kept));
        }
    }

    /// Shows `listing` as the person's work and gives the engine its model; its photos show as
    /// embedding until the engine has them back. Answers the hand-over the photos belong to.
    fn show(self: &Rc<Self>, listing: Listing) -> u32 {
        let Listing {
            backbone,
            classes,
            photos,
            model,
            use_personal,
            settings,
        } = listing;
        if backbone != self.link.backbone()
            && let Some(respawn) = self.respawn.borrow().as_ref()
        {
            // What follows goes to the new engine, queued behind its start.
            respawn(backbone);
        }
        self.link.send(Request::Reset);
        // Training photos still waiting belong to the classes being replaced.
        self.queue
            .borrow_mut()
            .forget_where(|job| job.work == Work::Learn);
        self.kept.borrow_mut().clear();
        self.held.borrow_mut().clear();
        *self.saved_model.borrow_mut() = None;
        let names: Vec<(u32, String)> = classes.iter().map(|c| (c.key, c.name.clone())).collect();
        self.teach.reset_classes(&names);
        for photo in photos {
            self.list_photo(photo);
        }
        self.teach.history.set(Vec::new());
        self.teach.use_personal.set(false);
        self.teach.model_error.set(None);
        match model {
            Some(model) => {
                self.wanted_personal.set(use_personal);
                self.teach.history.set(model.summary.history.clone());
                self.teach
                    .training
                    .set(TrainingState::Done(Box::new(model.summary.clone())));
                self.link.send(Request::LoadModel(Box::new(model.clone())));
                // Right behind it, before any photo: the first answers come from the right model.
                self.link.send(Request::UseModel {
                    personal: use_personal,
                });
                *self.saved_model.borrow_mut() = Some(model);
            }
            None => {
                self.teach.personal_ready.set(false);
                self.teach.training.set(TrainingState::Idle);
                self.link.send(Request::UseModel { personal: false });
            }
        }
        if let Some(settings) = settings {
            self.teach.settings.set(settings);
        }
        self.next_hand_over()
    }

    /// One stored photo on screen, embedding until the engine has it back.
    fn list_photo(&self, photo: store::PhotoListing) {
        let content_hash = photo.content_hash_value();
        let id = photo.id;
        let thumbnail = blob_url(&photo.thumbnail, "image/jpeg");
        let listed = TeachExample::new(id, photo.name, thumbnail.clone(), content_hash);
        if self.teach.add_photo(photo.class_key, listed, false) {
            self.ids.above(id);
            self.kept.borrow_mut().insert(id);
        } else {
            let _ = web_sys::Url::revoke_object_url(&thumbnail);
        }
    }

    fn next_hand_over(&self) -> u32 {
        let next = self.hand_overs.get().wrapping_add(1);
        self.hand_overs.set(next);
        next
    }

    pub(super) fn on_model_loaded(&self, result: Result<(), EngineError>) {
        match result {
            Ok(()) => {
                self.teach.personal_ready.set(true);
                self.link.send(Request::UseModel {
                    personal: self.wanted_personal.get(),
                });
            }
            Err(message) => {
                self.teach.personal_ready.set(false);
                self.teach.model_error.set(Some(format!(
                    "the saved model could not be loaded: {message}"
                )));
            }
        }
    }

    /// Stores a training photo once it is embedded; one a helper embedded (`to_engine`) goes to
    /// the engine too, which trains on it. A photo the store cannot take is held here, so that
    /// this visit still trains on it.
    pub(super) fn keep_example(self: &Rc<Self>, id: u32, kept: KeptExample, to_engine: bool) {
        // Removed while it was being embedded: nothing to keep.
        let (Some(class), Some(photo)) = (self.teach.class_of(id), self.teach.photo(id)) else {
            return;
        };
        if to_engine {
            self.link.send(restore(id, kept.clone()));
        }
        self.kept.borrow_mut().insert(id);
        self.ask_to_persist();
        let Some(store) = self.store().filter(|_| self.writes()) else {
            self.held.borrow_mut().insert(id, kept);
            return;
        };
        let record = ExampleRecord {
            id,
            class_key: class.key,
            name: photo.name,
            content_hash: photo.content_hash.map(ExampleRecord::hash_to_hex),
            photo: kept.photo,
            thumbnail: kept.thumbnail,
            embeddings: ExampleRecord::embeddings_to_bytes(&kept.embeddings),
        };
        let keeper = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            match store.put_photo(&record).await {
                Ok(()) => keeper.usage.refresh().await,
                Err(e) => {
                    keeper.error.set(Some(e.to_string()));
                    if keeper.kept.borrow().contains(&id) {
                        keeper.held.borrow_mut().insert(id, record.into_kept());
                    }
                }
            }
        });
    }

    /// Asks once per visit, when there is first something worth keeping, that the browser not
    /// evict the storage.
    fn ask_to_persist(&self) {
        if self.asked_persist.replace(true) {
            return;
        }
        let persisted = self.persisted;
        wasm_bindgen_futures::spawn_local(async move {
            persisted.set(store::persist().await);
        });
    }

    /// Keeps a model the engine has just trained, stamped with when it arrived.
    pub(super) fn keep_model(&self, mut saved: SavedModel) {
        saved.summary.trained_at.get_or_insert_with(now_iso);
        *self.saved_model.borrow_mut() = Some(saved.clone());
        self.write(move |store| async move { store.put_model(&saved).await });
    }

    pub(super) fn keep_model_choice(&self, personal: bool) {
        self.write(move |store| async move { store.put_use_personal(personal).await });
    }

    /// The person's work as a project, classes in screen order, kept photos only (read back
    /// from the store when `include_photos`).
    async fn project(&self, include_photos: bool) -> Result<Project, StoreError> {
        let mut copies: HashMap<u32, KeptExample> = HashMap::new();
        if include_photos {
            self.each_kept(|id, kept| {
                copies.insert(id, kept);
            })
            .await?;
        }
        let photos = self
            .teach
            .photos_by_class()
            .into_iter()
            .filter_map(|(class, p)| {
                copies.remove(&p.id).map(|k| ProjectExample {
                    class,
                    name: p.name.clone(),
                    jpeg: k.photo,
                    embeddings: k.embeddings,
                })
            })
            .collect();
        let classes = self.teach.classes.get_untracked();
        Ok(Project {
            backbone: self.link.backbone(),
            classes: classes.iter().map(|c| c.name.get_untracked()).collect(),
            photos,
            model: self.saved_model.borrow().clone(),
            settings: self.teach.settings.get_untracked(),
        })
    }

    /// Downloads the project file: model, classes and (if asked) the training photos.
    pub fn export_project(self: &Rc<Self>, include_photos: bool) {
        let keeper = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let error = keeper.export_error;
            let project = match keeper.project(include_photos).await {
                Ok(project) => project,
                Err(e) => {
                    error.set(Some(format!("the photos could not be read back: {e}")));
                    return;
                }
            };
            if project.model.is_none() && project.photos.is_empty() {
                error.set(Some(
                    "nothing to export yet: train a model, or add photos and include them".into(),
                ));
                return;
            }
            let bytes = project_file::write(&project, &now_iso(), include_photos);
            error.set(
                download(
                    &bytes,
                    "application/zip",
                    &format!("glimpse-project-{}.zip", today()),
                )
                .err(),
            );
        });
    }

    /// Asks the engine for the whole network (for other tools); downloaded when it answers.
    pub fn export_network(&self) {
        self.export_error.set(None);
        self.link
            .send(Request::ExportNetwork { created: now_iso() });
    }

    pub(super) fn on_network_exported(&self, result: Result<ByteBuf, EngineError>) {
        self.offer_export(result, "application/zip", "zip");
    }

    /// Downloads what the engine exported as `glimpse-model-DATE.EXTENSION`, or says why not.
    fn offer_export(&self, result: Result<ByteBuf, EngineError>, mime: &str, extension: &str) {
        let name = format!("glimpse-model-{}.{extension}", today());
        let outcome = result
            .map_err(|e| e.to_string())
            .and_then(|bytes| download(&bytes, mime, &name));
        self.export_error.set(outcome.err());
    }

    /// Asks the engine for the personal model as ONNX; downloaded when it answers.
    pub fn export_onnx(&self) {
        self.export_error.set(None);
        self.link.send(Request::ExportOnnx { created: now_iso() });
    }

    pub(super) fn on_onnx_exported(&self, result: Result<ByteBuf, EngineError>) {
        self.offer_export(result, "application/octet-stream", "onnx");
    }

    /// Reads an export file and has the engine check it; nothing changes until it passes.
    pub fn import_file(self: &Rc<Self>, file: web_sys::File) {
        self.import.set(ImportState::Checking);
        let keeper = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            match read_file(&file).await {
                Ok(bytes) => keeper.link.send(Request::CheckProject { bytes }),
                Err(message) => keeper.import.set(ImportState::Failed(message)),
            }
        });
    }

    pub(super) fn on_project_checked(
        self: &Rc<Self>,
        result: Result<(Project, Vec<ByteBuf>), EngineError>,
    ) {
        if self.hosted_checking.replace(false) {
            self.on_hosted_checked(result);
            return;
        }
        let (project, thumbnails) = match result {
            Ok(checked) => checked,
            Err(error) => {
                self.import.set(ImportState::Failed(error.to_string()));
                return;
            }
        };
        let what = contents(&project);
        let snapshot = self.snapshot_of(project, thumbnails);
        let has_work = !self.kept.borrow().is_empty() || self.saved_model.borrow().is_some();
        *self.pending_import.borrow_mut() = Some(snapshot);
        if has_work {
            self.import.set(ImportState::Confirm(what));
        } else {
            self.confirm_import(what);
        }
    }

    /// A checked project as stored records, with fresh photo ids.
    fn snapshot_of(&self, project: Project, thumbnails: Vec<ByteBuf>) -> Snapshot {
        let classes: Vec<ClassRecord> = project
            .classes
            .iter()
            .enumerate()
            .map(|(i, name)| ClassRecord {
                key: i as u32,
                name: name.clone(),
                position: i as u32,
            })
            .collect();
        let photos = project
            .photos
            .into_iter()
            .zip(thumbnails)
            .map(|(photo, thumbnail)| ExampleRecord {
                id: self.ids.next(),
                class_key: photo.class as u32,
                name: photo.name,
                photo: photo.jpeg,
                thumbnail: thumbnail.into_vec(),
                embeddings: ExampleRecord::embeddings_to_bytes(&photo.embeddings),
                content_hash: None,
            })
            .collect();
        Snapshot {
            backbone: project.backbone,
            classes,
            photos,
            use_personal: project.model.is_some(),
            model: project.model,
            settings: Some(project.settings),
        }
    }

    /// Replaces the person's work with the checked import: storage first, in one transaction, so
    /// a failure there changes nothing.
    pub fn confirm_import(self: &Rc<Self>, what: String) {
        let Some(snapshot) = self.pending_import.borrow_mut().take() else {
            return;
        };
        let keeper = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(store) = keeper.store()
                && let Err(e) = store.replace_all(&snapshot).await
            {
                keeper
                    .import
                    .set(ImportState::Failed(format!("nothing was changed: {e}")));
                return;
            }
            if keeper.hosted.with_untracked(Option::is_some) {
                // A hosted project copied: the person's own page, now holding it.
                hosted::open_own_work();
                return;
            }
            keeper.apply_snapshot(snapshot);
            keeper
                .import
                .set(ImportState::Done(format!("Imported {what}.")));
            keeper.usage.refresh().await;
        });
    }

    pub fn cancel_import(&self) {
        self.pending_import.borrow_mut().take();
        self.import.set(ImportState::Idle);
    }

    /// Deletes every class, photo and model, stored and on screen.
    pub fn clear_everything(self: &Rc<Self>) {
        let keeper = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(store) = keeper.store()
                && let Err(e) = store.clear_all(keeper.link.backbone()).await
            {
                keeper.error.set(Some(format!("nothing was cleared: {e}")));
                return;
            }
            // Nothing is left that belongs to a backbone: the engine's stays.
            keeper.apply_snapshot(Snapshot {
                backbone: keeper.link.backbone(),
                ..Snapshot::default()
            });
            keeper.import.set(ImportState::Idle);
            keeper.usage.refresh().await;
        });
    }

    /// Sends a new engine the person's work: the trained model and the model choice first (the
    /// first answers come from the right model), then the training photos, read back one at a
    /// time; they show as embedding until it has them, so Train waits for all of them. Queued
    /// behind `Init` on a new worker, which serves them once the model has loaded.
    pub(super) fn hand_over(self: &Rc<Self>) {
        if let Some(model) = self.saved_model.borrow().clone() {
            let personal = self.teach.use_personal.get_untracked();
            self.wanted_personal.set(personal);
            self.link.send(Request::LoadModel(Box::new(model)));
            self.link.send(Request::UseModel { personal });
        }
        for &id in self.kept.borrow().iter() {
            self.teach.set_example_state(id, ExampleState::Embedding);
        }
        let hand_over = self.next_hand_over();
        let keeper = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move { keeper.stream_to_engine(hand_over).await });
    }

    /// Sends the engine every kept photo of `hand_over`, unless a later one has begun. A photo
    /// whose copy could not be read back is marked failed, so that Train does not wait for it.
    async fn stream_to_engine(&self, hand_over: u32) {
        let current = || self.hand_overs.get() == hand_over;
        // Photos kept from here on reach the engine as they are embedded.
        let wanted = self.kept.borrow().clone();
        let mut sent = HashSet::new();
        let read = self
            .each_kept(|id, kept| {
                if current() {
                    self.link.send(restore(id, kept));
                    sent.insert(id);
                }
            })
            .await;
        if let Err(e) = &read {
            self.error
                .set(Some(format!("your saved photos could not be read: {e}")));
        }
        if !current() {
            return;
        }
        let kept = self.kept.borrow();
        let lost: Vec<u32> = wanted
            .difference(&sent)
            .filter(|id| kept.contains(id))
            .copied()
            .collect();
        drop(kept);
        for id in lost {
            self.teach.set_example_state(
                id,
                ExampleState::Failed("its saved copy could not be read back".into()),
            );
        }
    }

    /// Sends every kept training photo, as `RestoreExample` requests (to the trainer).
    pub(super) async fn send_examples(&self, send: &dyn Fn(Request)) -> Result<(), StoreError> {
        self.each_kept(|id, kept| send(restore(id, kept))).await
    }

    /// Hands `take` each kept photo's copy: those held here, then those in the store.
    async fn each_kept(&self, mut take: impl FnMut(u32, KeptExample)) -> Result<(), StoreError> {
        let held: Vec<u32> = self.held.borrow().keys().copied().collect();
        for id in held {
            let copy = self.held.borrow().get(&id).cloned();
            if let Some(kept) = copy {
                take(id, kept);
            }
        }
        let Some(store) = self.store().filter(|_| self.writes()) else {
            return Ok(());
        };
        store
            .each_photo(|record| {
                let id = record.id;
                // Removed since, or held (newer than what the store has).
                if self.kept.borrow().contains(&id) && !self.held.borrow().contains_key(&id) {
                    take(id, record.into_kept());
                }
            })
            .await
    }

    /// The training photos that are kept.
    pub(super) fn kept_ids(&self) -> HashSet<u32> {
        self.kept.borrow().clone()
    }

    /// Hands `take` the kept copy of each kept photo that `wanted` picks, one at a time.
    pub(super) async fn each_kept_where(
        &self,
        wanted: impl Fn(u32) -> bool,
        mut take: impl FnMut(u32, KeptExample),
    ) -> Result<(), StoreError> {
        self.each_kept(|id, kept| {
            if wanted(id) {
                take(id, kept);
            }
        })
        .await
    }

    /// The photos are embedded on `backbone` (`embeddings` by id) by the engine about to take
    /// over: kept under it, in one transaction (the old embeddings stay if it fails).
    pub(super) async fn rebase(
        &self,
        backbone: Backbone,
        embeddings: HashMap<u32, Vec<f32>>,
    ) -> Result<(), StoreError> {
        if let Some(store) = self.store().filter(|_| self.writes()) {
            store.rebase(backbone, &embeddings).await?;
        }
        for (id, kept) in self.held.borrow_mut().iter_mut() {
            if let Some(values) = embeddings.get(id) {
                kept.embeddings.clone_from(values);
            }
        }
        Ok(())
    }

    /// Shows the work again and hands it to the engine, as at start: after the engine changed
    /// backbone, with that backbone's own model if it has one.
    pub(super) fn reload(self: &Rc<Self>) {
        let keeper = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let Some(store) = keeper.store().filter(|_| keeper.writes()) else {
                // Nothing stored: the page holds the photos; a model belongs to the old backbone.
                *keeper.saved_model.borrow_mut() = None;
                keeper.teach.personal_ready.set(false);
                keeper.teach.use_personal.set(false);
                keeper.teach.training.set(TrainingState::Idle);
                keeper.link.send(Request::Reset);
                keeper.link.send(Request::UseModel { personal: false });
                let hand_over = keeper.next_hand_over();
                keeper.stream_to_engine(hand_over).await;
                return;
            };
            match store.list().await {
                Ok(listing) => {
                    let hand_over = keeper.show(listing);
                    keeper.stream_to_engine(hand_over).await;
                }
                Err(e) => keeper
                    .error
                    .set(Some(format!("your saved work could not be read: {e}"))),
            }
        });
    }

    /// A trained model, from the engine that trained it: kept, and used once loaded.
    pub(super) fn trained(&self, saved: SavedModel) {
        self.keep_model(saved);
        self.wanted_personal.set(true);
    }

    /// The person removed a training photo.
    pub(super) fn forget_example(&self, id: u32) {
        self.kept.borrow_mut().remove(&id);
        self.held.borrow_mut().remove(&id);
    }

    /// The engine restarted: a file it was checking must be imported again.
    pub(super) fn engine_restarted(&self) {
        if matches!(self.import.get_untracked(), ImportState::Checking) {
            self.import.set(ImportState::Failed(
                "the engine restarted while checking the file: please import it again".into(),
            ));
        }
    }

    /// The model that gave an answer, as the results table names it.
    pub(super) fn model_name(&self, personal: bool) -> String {
        if !personal {
            return format!("ImageNet ({})", self.link.backbone());
        }
        let trained_at = self
            .saved_model
            .borrow()
            .as_ref()
            .and_then(|m| m.summary.trained_at.clone());
        match trained_at {
            Some(at) => format!("personal model trained {at}"),
            None => "personal model".into(),
        }
    }
}
