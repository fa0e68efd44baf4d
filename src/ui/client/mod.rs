//! The page's side of the engine: spawns the worker, feeds it photos and turns its answers into
//! signals the components read.
//!
//! Photos (to classify, or to learn from) wait in one queue on the page and at most `IN_FLIGHT`
//! are handed to the worker at a time, so dropping five hundred photos reads five hundred files
//! lazily instead of copying them all into the worker at once (memory stays bounded), and every
//! card still fills in the moment its own answer arrives. The files stay referenced until their
//! answer has come, so that a worker that is lost can be replaced and asked again
//! (`recovery.rs`, `work_queue.rs`). Training photos are embedded by the engine and the helpers of
//! the page's pool (`pool.rs`), `IN_FLIGHT` at a time each.

mod backbone;
mod compare;

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::{Rc, Weak};

use leptos::prelude::*;

use super::backbone_compare::BackboneCompare;
use super::backbone_switch::BackboneSwitch;
use super::backend_race::{BackendRace, RaceState, Trainer, kept_verdict};
use super::bench_hook::BenchHook;
use super::cards::{CardState, Cards, OverlayChoice};
use super::files::{download, read_file, today};
use super::folder_import::{FolderImporter, ImportSource};
use super::keep::Keeper;
use super::link::EngineLink;
use super::next_task::next_task;
use super::photo_ids::PhotoIds;
use super::pool::Pool;
use super::recovery::{MAX_RESTARTS, Recovery, TRAINING_STOPPED};
use super::teach::state::{ExampleState, Teach, TeachExample, TrainingState};
use crate::protocol::{
    BackendChoice, BackendInfo, BackendKind, Classification, EngineError, Fault, KeptExample,
    PhotoError, Probe, Request, Response, SaliencyMethod, TrainMode,
};
use crate::work_queue::{ENGINE, Job, Work, WorkQueue};

/// Two in flight: one being classified, one being decoded/sent, so the worker never idles.
const IN_FLIGHT: usize = 2;
/// Cards added per main-thread task: a drop of hundreds of photos appears in slices, so the page
/// never freezes while it builds them (500 cards at once took one 340 ms task, 50 about 60 ms).
const CARDS_PER_SLICE: usize = 20;
/// Photos to classify waiting beyond the engine's before the pool starts for them: a helper
/// takes a second or two to load the model, worth it only for more than a few seconds of work.
const POOL_CLASSIFY_AFTER: usize = 16;

#[derive(Debug, Clone, PartialEq)]
pub enum ModelStatus {
    Loading { loaded: u64, total: Option<u64> },
    Ready { backend: BackendInfo, load_ms: f64 },
    Failed(String),
}

/// The page's state, in parts that each own one thing, and the flow between them: photos to the
/// engine through the queue, answers to the part they concern.
pub struct EngineClient {
    pub teach: Rc<Teach>,
    pub keeper: Rc<Keeper>,
    pub cards: Cards,
    /// The live camera's frames and answers.
    pub live: super::live::Live,
    /// The labelled folder or zip being imported into the Teach panel, or the last one.
    pub folder_import: Rc<FolderImporter>,
    /// The engine that answers the person.
    link: Rc<EngineLink>,
    /// The backbone it runs, and a change of it under way (`backbone.rs`).
    pub backbone: Rc<BackboneSwitch>,
    /// The kept photos are being read for the engine being switched to.
    switch_reading: Cell<bool>,
    /// The backbones compared on the person's photos (`compare.rs`).
    pub compare: Rc<BackboneCompare>,
    /// Helpers that embed training photos beside the engine.
    pub pool: Rc<Pool>,
    /// Photos waiting for the engine, and those it holds (`work_queue`).
    queue: Rc<RefCell<WorkQueue<web_sys::File>>>,
    ids: Rc<PhotoIds>,
    bench: Rc<BenchHook>,
    recovery: Recovery,
    race: BackendRace,
    /// The engine for "head + last blocks" training when the race found the other engine
    /// faster at it than the one answering photos.
    trainer: RefCell<Option<Trainer>>,
    /// Counts training runs: a run still handing the trainer its photos when it was cancelled,
    /// or followed by another, does not start.
    train_runs: Cell<u32>,
    /// The run whose photos are being handed to the trainer.
    handing_to_trainer: Cell<Option<u32>>,
    /// The backend race, for the `backend` element (`RaceState::Forced` under `?backend=`).
    pub race_state: RwSignal<RaceState>,
    pub status: RwSignal<ModelStatus>,
    /// What happened to the engine, for the person (a lost GPU, a restart), until dismissed.
    pub notice: RwSignal<Option<String>>,
}

/// The page's state as the components hold it (the App component provides it as context).
pub type Client = StoredValue<Rc<EngineClient>, LocalStorage>;

/// The page's state, from a component under the App component.
pub fn use_client() -> Client {
    expect_context::<Client>()
}

/// A point on the page's performance timeline, for the first-prediction benchmark.
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

impl EngineClient {
    /// Starts the worker and asks it to load the model on the chosen backend.
    pub fn start(choice: BackendChoice) -> Rc<Self> {
        let kind = match choice {
            BackendChoice::WebGpu => BackendKind::WebGpu,
            BackendChoice::Cpu | BackendChoice::Auto => BackendKind::Cpu,
        };
        let backbone = Rc::new(BackboneSwitch::new());
        let client = Rc::new_cyclic(|weak: &Weak<Self>| {
            let weak = weak.clone();
            let link = Rc::new(EngineLink::new(
                kind,
                backbone.current.get_untracked(),
                Rc::new(move |serial, response| {
                    if let Some(client) = weak.upgrade() {
                        client.on_engine_response(serial, response);
                    }
                }),
            ));
            let teach = Rc::new(Teach::default());
            let queue = Rc::new(RefCell::new(WorkQueue::new(IN_FLIGHT)));
            let ids = Rc::new(PhotoIds::default());
            let pool = Rc::new(Pool::new(Rc::clone(&link)));
            Self {
                keeper: Rc::new(Keeper::new(
                    Rc::clone(&link),
                    Rc::clone(&teach),
                    Rc::clone(&queue),
                    Rc::clone(&ids),
                )),
                bench: Rc::new(BenchHook::new(Rc::clone(&link), Rc::clone(&pool))),
                folder_import: Rc::new(FolderImporter::new(Rc::clone(&teach))),
                teach,
                cards: Cards::default(),
                live: super::live::Live::default(),
                pool,
                link,
                backbone,
                switch_reading: Cell::new(false),
                compare: Rc::new(BackboneCompare::new()),
                queue,
                ids,
                recovery: Recovery::default(),
                race: BackendRace::default(),
                trainer: RefCell::new(None),
                train_runs: Cell::new(0),
                handing_to_trainer: Cell::new(None),
                race_state: RwSignal::new(match choice {
                    BackendChoice::Auto => RaceState::Starting,
                    _ => RaceState::Forced,
                }),
                status: RwSignal::new(ModelStatus::Loading {
                    loaded: 0,
                    total: None,
                }),
                notice: RwSignal::new(None),
            }
        });
        client.link.start();
        mark("glimpse-worker-spawned");
        let weak = Rc::downgrade(&client);
        client.keeper.on_respawn(move |backbone| {
            if let Some(client) = weak.upgrade() {
                client.respawn_on(backbone);
            }
        });
        client.keeper.restore_saved();
        client.bench.expose();
        if choice == BackendChoice::Auto {
            client.look_for_gpu();
        }
        client
    }

    fn on_engine_response(self: &Rc<Self>, serial: u32, response: Response) {
        if self.link.answers(serial, &response) {
            self.on_response(response);
            self.take_over_when_quiet();
        } else if self.backbone.serial() == Some(serial) {
            self.on_switch_response(response);
        } else if self.compare.serial() == Some(serial) {
            self.on_compare_response(response);
        } else if self.race.contender_serial() == Some(serial) {
            self.on_contender_response(response);
        } else if self.trainer_serial() == Some(serial) {
            self.on_trainer_response(response);
        } else if let Some(slot) = self.pool.slot_of(serial) {
            self.on_helper_response(slot, response);
        }
    }

    /// A helper's answers: its embedded photos are the engine's too, and its classified photos
    /// are answered as the engine's are; a helper that fails is let go and its photos are asked
    /// of the others.
    fn on_helper_response(self: &Rc<Self>, slot: u32, response: Response) {
        match response {
            Response::Ready { .. } => self.pool.set_ready(slot),
            Response::ExampleAdded { id, result } => self.on_example_added(id, result, false),
            Response::Classified { id, result } => return self.on_classified(id, slot, result),
            Response::Explained {
                id,
                class_index,
                method,
                result,
            } => return self.cards.on_explained(id, class_index, method, result),
            Response::Memory { wasm_bytes } => return self.bench.on_memory(slot, wasm_bytes),
            Response::InitFailed { .. } | Response::EngineLost { .. } => {
                self.pool.let_go(slot);
                self.requeue_out_of(slot);
            }
            _ => return,
        }
        self.pump();
    }

    /// A training photo embedded by the engine (`kept_there`) or by a helper, whose answer the
    /// engine is then handed.
    fn on_example_added(
        self: &Rc<Self>,
        id: u32,
        result: Result<KeptExample, PhotoError>,
        kept_there: bool,
    ) {
        self.queue.borrow_mut().settle(id);
        match result {
            Ok(kept) => {
                self.keeper.keep_example(id, kept, !kept_there);
                self.teach.set_example_state(id, ExampleState::Ready);
            }
            Err(error) => self
                .teach
                .set_example_state(id, ExampleState::Failed(error.to_string())),
        }
    }

    fn trainer_serial(&self) -> Option<u32> {
        self.trainer.borrow().as_ref().map(|t| t.link.0)
    }

    /// The trainer's answers: its progress and model are the person's; the model then goes to
    /// the engine that answers photos, right ahead of the next photo.
    fn on_trainer_response(&self, response: Response) {
        match response {
            Response::TrainProgress(progress) => self.teach.on_progress(progress),
            Response::Trained(result) => {
                let summary = result.map(|saved| {
                    let summary = saved.summary.clone();
                    self.keeper.trained(saved.clone());
                    self.link.send(Request::LoadModel(Box::new(saved)));
                    self.link.send(Request::UseModel { personal: true });
                    summary
                });
                self.teach.on_trained(summary);
            }
            Response::EngineLost { reason, .. } | Response::InitFailed { message: reason } => {
                self.trainer.replace(None);
                if self.teach.is_running() {
                    self.teach.training.set(TrainingState::Failed(format!(
                        "the engine that was training stopped ({reason}); press Train to run it again on this one"
                    )));
                }
            }
            // The photos it was handed, and anything else, concern only the training.
            _ => {}
        }
    }

    /// Auto mode: finds the WebGPU adapter and, unless an earlier visit settled the choice,
    /// races a WebGPU engine against the CPU one (`backend_race`).
    fn look_for_gpu(self: &Rc<Self>) {
        let client = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            match crate::gpu_adapter::probe_adapter().await {
                Err(reason) => client.race_state.set(RaceState::Unavailable(reason)),
                Ok(adapter) => {
                    if let Some(verdict) = kept_verdict(&adapter.description) {
                        client.race_state.set(RaceState::Decided {
                            verdict,
                            earlier: true,
                        });
                        return;
                    }
                    client
                        .race
                        .set_adapter(adapter.description.clone(), adapter.software);
                    client.race_state.set(RaceState::Measuring {
                        adapter: adapter.description,
                    });
                    client.start_contender();
                }
            }
        });
    }

    /// The contender starts once the CPU engine is ready, so that it never delays the first
    /// answer.
    fn start_contender(self: &Rc<Self>) {
        let measuring = matches!(self.race_state.get_untracked(), RaceState::Measuring { .. });
        if !measuring || !self.is_ready() || self.recovery.restarting() || self.race.started() {
            return;
        }
        let link = self.link.spawn(BackendKind::WebGpu);
        if super::bench_hook::wrong_gpu_numbers() {
            link.1.send(Request::InjectFault(Fault::WrongNumbers));
        }
        self.race.enter(link);
    }

    fn on_contender_response(self: &Rc<Self>, response: Response) {
        match response {
            Response::Ready { backend, .. } => {
                self.race.contender_ready(backend);
                self.ask_cpu_probe();
            }
            Response::InitFailed { message } => self.contender_failed(message),
            Response::EngineLost { reason, .. } => self.contender_failed(reason),
            Response::Probed(Ok(probe)) => {
                self.race.gpu_probed(probe);
                // The training step next, one engine after the other, where it may matter.
                if self.race.ask_training(super::bench_hook::race_preference()) {
                    self.link.send(Request::ProbeTraining);
                } else {
                    self.decide_race();
                }
            }
            Response::TrainingProbed(Ok(ms)) => {
                self.race.gpu_trained(ms);
                self.decide_race();
            }
            Response::Probed(Err(error)) | Response::TrainingProbed(Err(error)) => {
                self.contender_failed(error.to_string())
            }
            // Loading progress: the person follows the engine that answers them.
            _ => {}
        }
    }

    fn ask_cpu_probe(&self) {
        if self.race.ask_cpu() {
            self.link.send(Request::Probe);
        }
    }

    fn contender_failed(self: &Rc<Self>, message: String) {
        self.race.contender_failed(message);
        self.ask_cpu_probe();
        self.decide_race();
    }

    /// The CPU engine's probe: the contender is probed next, one after the other, so that
    /// neither is timed while the other runs its probe.
    fn on_cpu_probed(self: &Rc<Self>, result: Result<Probe, EngineError>) {
        match result {
            Ok(probe) => {
                self.race.cpu_probed(probe);
                self.race.send_to_contender(Request::Probe);
                self.decide_race();
            }
            Err(message) => {
                self.race.abandon();
                self.race_state.set(RaceState::Unavailable(format!(
                    "the CPU engine could not be timed: {message}"
                )));
            }
        }
    }

    /// The CPU engine's training step: the contender's is timed next.
    fn on_cpu_trained(self: &Rc<Self>, result: Result<f64, EngineError>) {
        match result {
            Ok(ms) => {
                self.race.cpu_trained(Some(ms));
                self.race.send_to_contender(Request::ProbeTraining);
            }
            Err(message) => {
                log::warn!("the CPU engine's training step could not be timed: {message}");
                self.race.cpu_trained(None);
                self.decide_race();
            }
        }
    }

    fn decide_race(self: &Rc<Self>) {
        if let Some(verdict) = self.race.decide(super::bench_hook::race_preference()) {
            if verdict.winner == BackendKind::Cpu && verdict.trainer == BackendKind::WebGpu {
                self.trainer.replace(self.race.take_contender());
            }
            self.race_state.set(RaceState::Decided {
                verdict,
                earlier: false,
            });
            self.take_over_when_quiet();
        }
    }

    /// A winning contender becomes the engine once the CPU engine owes no answer: nothing in
    /// flight is lost or answered twice. It is handed the person's work as after a restart.
    fn take_over_when_quiet(self: &Rc<Self>) {
        if !self.race.switching() || !self.link.quiet() || self.recovery.restarting() {
            return;
        }
        let Some((link, backend)) = self.race.take_winner() else {
            return;
        };
        let (load_ms, answered_by) = match self.status.get_untracked() {
            ModelStatus::Ready { load_ms, backend } => (load_ms, Some(backend)),
            _ => (0.0, None),
        };
        let cpu_trains = matches!(
            self.race_state.get_untracked(),
            RaceState::Decided { verdict, .. } if verdict.trainer == BackendKind::Cpu
        );
        let cpu = self.link.take_over(link, BackendKind::WebGpu);
        // The CPU engine stays on to train when it was the faster at a training step.
        if let (true, Some(link), Some(backend)) = (cpu_trains, cpu, answered_by) {
            self.trainer.replace(Some(Trainer { link, backend }));
        }
        self.keeper.hand_over();
        self.status.set(ModelStatus::Ready { backend, load_ms });
        self.pump();
    }

    /// The race stops (the engine is being restarted): the CPU answers; the person is told.
    fn abandon_race(&self) {
        if matches!(self.race_state.get_untracked(), RaceState::Measuring { .. }) {
            self.race.abandon();
            self.race_state.set(RaceState::Unavailable(
                "the measurement of WebGPU stopped because the engine restarted".into(),
            ));
        }
        // A trainer does not outlive the engine it trained for: the restarted one trains.
        self.trainer.replace(None);
    }

    fn is_ready(&self) -> bool {
        matches!(self.status.get_untracked(), ModelStatus::Ready { .. })
    }

    fn on_response(self: &Rc<Self>, response: Response) {
        match response {
            Response::LoadProgress { loaded, total } => {
                self.status.set(ModelStatus::Loading { loaded, total })
            }
            Response::Ready { backend, timings } => {
                super::bench_hook::expose_load_timings(&timings);
                if self.recovery.finish() {
                    self.on_restarted(&backend);
                }
                self.status.set(ModelStatus::Ready {
                    backend,
                    load_ms: timings.engine_ms(),
                });
                self.pump();
                self.start_contender();
            }
            Response::InitFailed { message } => {
                if self.recovery.restarting() && self.retry_on_cpu(&message) {
                    return;
                }
                self.status.set(ModelStatus::Failed(message.clone()));
                self.fail_waiting(&format!("the model did not load: {message}"));
            }
            Response::EngineLost {
                reason,
                device_lost,
            } => self.on_engine_lost(reason, device_lost),
            Response::Classified { id, result } => {
                if let Some(result) = self.live.on_classified(id, result) {
                    self.on_classified(id, ENGINE, result);
                }
            }
            Response::ExampleAdded { id, result } => {
                self.on_example_added(id, result, true);
                self.pump();
            }
            Response::ExampleRestored { id, result } => self.teach.set_example_state(
                id,
                match result {
                    Ok(()) => ExampleState::Ready,
                    Err(error) => ExampleState::Failed(error.to_string()),
                },
            ),
            Response::TrainProgress(progress) => self.teach.on_progress(progress),
            Response::Trained(result) => {
                let summary = result.map(|saved| {
                    let summary = saved.summary.clone();
                    // The engine answers with it now; helpers that classify are told so.
                    self.link.trained(saved.clone());
                    self.keeper.keep_model(saved);
                    summary
                });
                self.teach.on_trained(summary);
                self.pump();
            }
            Response::ModelLoaded(result) => self.keeper.on_model_loaded(result),
            Response::ModelChanged { personal, result } => match result {
                Ok(()) => {
                    self.teach.use_personal.set(personal);
                    self.teach.model_error.set(None);
                    self.keeper.keep_model_choice(personal);
                }
                Err(error) => self.teach.model_error.set(Some(error.to_string())),
            },
            Response::ProjectChecked(result) => self.keeper.on_project_checked(result),
            Response::NetworkExported(result) => self.keeper.on_network_exported(result),
            Response::OnnxExported(result) => self.keeper.on_onnx_exported(result),
            Response::Benchmarked(result) => self.bench.on_benchmarked(result),
            Response::GpuWorkCounted(result) => self.bench.on_gpu_work_counted(result),
            Response::Memory { wasm_bytes } => self.bench.on_memory(ENGINE, wasm_bytes),
            Response::Probed(result) => self.on_cpu_probed(result),
            Response::TrainingProbed(result) => self.on_cpu_trained(result),
            Response::Explained {
                id,
                class_index,
                method,
                result,
            } => {
                if let Some(result) = self.live.on_explained(id, result) {
                    self.cards.on_explained(id, class_index, method, result);
                }
            }
        }
    }

    /// A photo's answer, from the engine or a helper (`worker`).
    fn on_classified(
        self: &Rc<Self>,
        id: u32,
        worker: u32,
        result: Result<Classification, PhotoError>,
    ) {
        super::bench_hook::count_answer(id, worker);
        self.queue.borrow_mut().settle(id);
        if let Ok(classification) = &result {
            let model = self.keeper.model_name(classification.personal);
            self.cards.answered_by(id, model);
            if worker == ENGINE {
                self.backbone
                    .answered(self.link.kind(), classification.elapsed_ms);
            }
        }
        self.cards.set_state(
            id,
            match result {
                Ok(classification) => CardState::Done(classification),
                Err(error) => CardState::Failed(error.to_string()),
            },
        );
        self.pump();
    }

    /// Shows the saliency of `choice` on card `id`, asking the engine unless it is computed.
    pub fn explain(self: &Rc<Self>, id: u32, choice: OverlayChoice) {
        let Some(file) = self.cards.choose(id, choice) else {
            return;
        };
        let client = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            match read_file(&file).await {
                Ok(bytes) => client.link.send(Request::Explain {
                    id,
                    class_index: choice.class_index,
                    method: choice.method,
                    bytes,
                }),
                Err(message) => client.cards.overlay_failed(id, message),
            }
        });
    }

    /// Adds photos as cards (newest first) and queues them for the engine, a slice per task.
    pub fn add_files(self: &Rc<Self>, files: Vec<web_sys::File>) {
        let mut slices: Vec<Vec<web_sys::File>> = files
            .chunks(CARDS_PER_SLICE)
            .map(<[web_sys::File]>::to_vec)
            .collect();
        if slices.is_empty() {
            return;
        }
        self.add_slice(slices.remove(0));
        if slices.is_empty() {
            return;
        }
        let client = Rc::clone(self);
        let clears = self.cards.clears();
        wasm_bindgen_futures::spawn_local(async move {
            for slice in slices {
                next_task().await;
                if client.cards.clears() != clears {
                    return;
                }
                client.add_slice(slice);
            }
        });
    }

    fn add_slice(self: &Rc<Self>, files: Vec<web_sys::File>) {
        for (id, file) in self.cards.add(files, &self.ids) {
            self.queue.borrow_mut().push(id, Work::Classify, file);
        }
        if matches!(self.status.get_untracked(), ModelStatus::Failed(_)) {
            self.fail_waiting("the model did not load, so this photo cannot be used");
        }
        self.pump();
    }

    /// Every queued photo gets `message` as its answer.
    pub(super) fn fail_waiting(&self, message: &str) {
        let jobs = self.queue.borrow_mut().take_waiting();
        for Job { id, work, .. } in jobs {
            match work {
                Work::Classify => self.cards.set_state(id, CardState::Failed(message.into())),
                Work::Learn => self
                    .teach
                    .set_example_state(id, ExampleState::Failed(message.into())),
            }
        }
    }

    /// Adds training photos to a class; the worker embeds each as it arrives.
    pub fn add_examples(self: &Rc<Self>, class_key: u32, files: Vec<web_sys::File>) {
        for file in files {
            self.add_example(class_key, file, None);
        }
        self.after_adding_examples();
    }

    /// Puts one training photo in a class and in the queue to be embedded (the caller calls
    /// `after_adding_examples` once the photos are in).
    fn add_example(&self, class_key: u32, file: web_sys::File, content_hash: Option<u128>) {
        if self.teach.class(class_key).is_none() {
            return;
        }
        let id = self.ids.next();
        let thumbnail = web_sys::Url::create_object_url_with_blob(&file).unwrap_or_default();
        let photo = TeachExample::new(id, file.name(), thumbnail, content_hash);
        // Imported photos are the only ones with a content hash.
        let imported = content_hash.is_some();
        self.teach.add_photo(class_key, photo, imported);
        self.queue.borrow_mut().push(id, Work::Learn, file);
    }

    /// "This is X": a photo on screen becomes a training photo of class `to` (of a new class when
    /// None); answers the class's name. The report then suggests retraining.
    pub fn add_to_class(self: &Rc<Self>, card: u32, to: Option<u32>) -> Option<String> {
        let file = self.cards.file(card)?;
        let key = to.unwrap_or_else(|| self.teach.add_class());
        let name = self.teach.class(key)?.name.get_untracked();
        self.add_example(key, file, None);
        self.after_adding_examples();
        self.teach.corrections.update(|n| *n += 1);
        Some(name)
    }

    /// Sends one camera frame to the engine that answers; the receiver resolves once it is
    /// answered. None while no engine can take it (loading, restarting, handing over to the
    /// race's winner, which waits for the engine to owe nothing).
    pub fn live_frame(
        self: &Rc<Self>,
        bytes: Vec<u8>,
    ) -> Option<futures::channel::oneshot::Receiver<()>> {
        if !self.is_ready() || self.race.switching() {
            return None;
        }
        let id = self.ids.next();
        let answered = self.live.sent(id);
        self.link.send(Request::Classify { id, bytes });
        Some(answered)
    }

    /// Trains again, the head only (seconds: it learns from the cached embeddings), once every
    /// photo is embedded.
    pub fn retrain(self: &Rc<Self>) {
        self.teach.head_only_next.set(true);
        self.train();
    }

    fn after_adding_examples(self: &Rc<Self>) {
        if matches!(self.status.get_untracked(), ModelStatus::Failed(_)) {
            self.fail_waiting("the model did not load, so this photo cannot be used");
        }
        self.pump();
    }

    /// Imports labelled folders or zips into the Teach panel, one import at a time.
    pub fn import_folder(self: &Rc<Self>, sources: Vec<ImportSource>) {
        if sources.is_empty() || self.folder_import.reading() {
            return;
        }
        let untouched = self.teach.untouched_classes();
        let client = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let adder = Rc::clone(&client);
            let add = move |key, file, hash| {
                adder.add_example(key, file, Some(hash));
                adder.after_adding_examples();
            };
            let report = client.folder_import.run(sources, add).await;
            // The empty classes a page starts with make way for the imported ones.
            if report.added() > 0 {
                for key in untouched {
                    let empty = client
                        .teach
                        .class(key)
                        .is_some_and(|c| c.photos.with_untracked(Vec::is_empty));
                    if empty {
                        client.remove_class(key);
                    }
                }
            }
        });
    }

    /// Stops an import: what is embedded stays, the rest is taken out again.
    pub fn cancel_folder_import(&self) {
        for id in self.folder_import.cancel() {
            self.remove_example(id);
        }
    }

    pub fn dismiss_folder_import(&self) {
        self.folder_import.dismiss();
    }

    /// Removes a training photo, from storage too.
    pub fn remove_example(&self, id: u32) {
        self.forget_example(id);
        self.keeper
            .write(move |store| async move { store.delete_photo(id).await });
    }

    fn forget_example(&self, id: u32) {
        if let Some(photo) = self.teach.remove_photo(id) {
            self.forget_photos(&[photo]);
        }
    }

    /// Lets go of photos taken out of their class: their thumbnails, kept copies, queued work
    /// and the engine's embeddings.
    fn forget_photos(&self, photos: &[TeachExample]) {
        let ids: HashSet<u32> = photos.iter().map(|p| p.id).collect();
        self.queue
            .borrow_mut()
            .forget_where(|job| ids.contains(&job.id));
        for photo in photos {
            let _ = web_sys::Url::revoke_object_url(&photo.thumbnail);
            self.keeper.forget_example(photo.id);
            self.link.send(Request::RemoveExample { id: photo.id });
        }
    }

    /// Moves a training photo to another class (its embeddings stay valid).
    pub fn move_example(&self, id: u32, to: u32) {
        if self.teach.move_photo(id, to) {
            self.keeper
                .write(move |store| async move { store.move_photo(id, to).await });
        }
    }

    pub fn remove_class(&self, key: u32) {
        let photos = self.teach.remove_class(key);
        self.forget_photos(&photos);
        let ids: Vec<u32> = photos.iter().map(|p| p.id).collect();
        self.keeper
            .write(move |store| async move { store.delete_class(key, &ids).await });
    }

    /// Train, as pressed: starts at once when every photo is embedded; otherwise waits for the
    /// photos still embedding (the Teach panel starts the run when they are ready), so a run never
    /// learns from a silent subset of the photos.
    pub fn train(self: &Rc<Self>) {
        if self.teach.is_running() {
            return;
        }
        if untrack(|| self.teach.readiness()).embedding_total() > 0 {
            self.teach.waiting_to_train.set(true);
            return;
        }
        self.train_ready_now();
    }

    /// Starts training on the photos that are ready now, every one of them, whether or not
    /// others are still embedding (the person's choice while waiting, or nothing is left).
    pub fn train_ready_now(self: &Rc<Self>) {
        self.teach.waiting_to_train.set(false);
        if self.teach.is_running() {
            return;
        }
        let classes = self.teach.classes.get_untracked();
        let names: Vec<String> = classes.iter().map(|c| c.name.get_untracked()).collect();
        let examples: Vec<(u32, u32)> = self
            .teach
            .photos_by_class()
            .into_iter()
            .filter(|(_, p)| p.state.get_untracked() == ExampleState::Ready)
            .map(|(index, p)| (p.id, index as u32))
            .collect();
        let mut settings = self.teach.settings.get_untracked();
        if self.teach.head_only_next.replace(false) {
            settings.mode = TrainMode::HeadOnly;
        }
        let train = Request::Train {
            classes: names,
            examples,
            settings: settings.clone(),
        };
        let run = self.train_runs.get().wrapping_add(1);
        self.train_runs.set(run);
        let trainer = self
            .trainer
            .borrow()
            .as_ref()
            .filter(|_| settings.mode == TrainMode::HeadAndBlocks)
            .map(|t| (t.link.0, t.backend.kind));
        match trainer {
            Some((serial, kind)) => {
                self.teach.trained_on.set(Some(kind));
                self.hand_to_trainer(serial, run, train);
            }
            None => {
                self.link.send(train);
                self.teach.trained_on.set(Some(self.link.kind()));
            }
        }
        self.teach.history.set(Vec::new());
        self.teach
            .training
            .set(TrainingState::Running(crate::protocol::TrainProgress {
                stage: "starting".into(),
                epoch: 0,
                epochs: settings.epochs,
                report: None,
            }));
    }

    /// The trainer is handed the photos as they are now, read back one at a time, then
    /// trains on them; unless the run was cancelled or the trainer let go meanwhile.
    fn hand_to_trainer(self: &Rc<Self>, serial: u32, run: u32, train: Request) {
        let client = Rc::clone(self);
        let send = move |request: Request| {
            if let Some(trainer) = client.trainer.borrow().as_ref()
                && trainer.link.0 == serial
            {
                trainer.link.1.send(request);
            }
        };
        self.handing_to_trainer.set(Some(run));
        let client = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            send(Request::Reset);
            let handed = client.keeper.send_examples(&send).await;
            if client.train_runs.get() != run {
                return;
            }
            client.handing_to_trainer.set(None);
            match handed {
                Ok(()) if client.trainer_serial() == Some(serial) => send(train),
                Ok(()) => client.teach.training.set(TrainingState::Failed(
                    "the engine that was to train stopped; press Train to run it again on this one"
                        .into(),
                )),
                Err(e) => client.teach.training.set(TrainingState::Failed(format!(
                    "the training photos could not be read back: {e}"
                ))),
            }
        });
    }

    pub fn cancel_training(&self) {
        if self.teach.waiting_to_train.get_untracked() {
            self.teach.waiting_to_train.set(false);
            return;
        }
        // A run still being handed its photos has learned nothing: it does not start.
        if self.handing_to_trainer.take() == Some(self.train_runs.get()) {
            self.train_runs.set(self.train_runs.get().wrapping_add(1));
            self.teach.training.set(TrainingState::Idle);
            return;
        }
        self.link.send(Request::CancelTraining);
        if let Some(trainer) = self.trainer.borrow().as_ref() {
            trainer.link.1.send(Request::CancelTraining);
        }
    }

    /// The person's choice of model; stored at once (not when the engine answers) so that a
    /// reload right after it keeps it.
    pub fn use_personal_model(&self, personal: bool) {
        self.link.send(Request::UseModel { personal });
        self.keeper.keep_model_choice(personal);
    }

    /// Downloads every card's answer as a CSV table (`formats::results_csv`).
    pub fn export_results(&self) {
        let table = crate::formats::results_csv::to_csv(&self.cards.results());
        let name = format!("glimpse-results-{}.csv", today());
        if let Err(message) = download(table.as_bytes(), "text/csv", &name) {
            self.notice.set(Some(format!(
                "The results could not be exported: {message}."
            )));
        }
    }

    /// Removes every card and frees the thumbnails.
    pub fn clear(&self) {
        self.cards.clear();
        // Photos already handed to the worker will still be answered, and not asked again.
        self.queue
            .borrow_mut()
            .forget_where(|job| job.work == Work::Classify);
    }

    pub(super) fn on_engine_lost(self: &Rc<Self>, reason: String, device_lost: bool) {
        self.live.lost();
        let what = if device_lost {
            format!("The GPU stopped working ({reason}).")
        } else {
            format!("The engine stopped: {reason}.")
        };
        if self.recovery.may_restart(js_sys::Date::now()) {
            self.restart(what);
            return;
        }
        self.link.let_go();
        let message = format!("{what} It stopped {MAX_RESTARTS} times within a minute");
        self.notice.set(Some(format!(
            "{what} Glimpse stopped restarting it; reload the page to try again. Your classes, photos and model are kept."
        )));
        self.status.set(ModelStatus::Failed(message.clone()));
        self.requeue_in_flight();
        self.fail_waiting(&format!("the model stopped: {message}"));
    }

    /// Replaces the worker and hands the new one the person's work; `what` says why.
    fn restart(self: &Rc<Self>, what: String) {
        self.notice.set(Some(format!(
            "{what} Glimpse is restarting it; your photos, classes and model are kept."
        )));
        self.recovery.begin(what);
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
        self.keeper.engine_restarted();
        self.bench.reject_all();
        self.abandon_race();
        self.link.start();
        self.keeper.hand_over();
    }

    /// Photos the lost engine held go back to the front of the queue, in their order.
    fn requeue_in_flight(&self) {
        self.requeue_out_of(ENGINE);
    }

    /// Photos the lost worker `slot` held go back to the front of the queue, in their order.
    fn requeue_out_of(&self, slot: u32) {
        let again = self.queue.borrow_mut().requeue_out_of(slot);
        for job in again {
            if job.work == Work::Classify {
                self.cards.set_state(job.id, CardState::Queued);
            }
        }
    }

    /// The new engine is ready: say so, and ask again for the overlays the old one owed.
    fn on_restarted(self: &Rc<Self>, backend: &BackendInfo) {
        self.notice.set(Some(self.recovery.restarted_on(backend)));
        for card in self.cards.all() {
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
    fn retry_on_cpu(self: &Rc<Self>, message: &str) -> bool {
        if self.link.kind() == BackendKind::Cpu {
            return false;
        }
        self.link.set_kind(BackendKind::Cpu);
        let what = format!(
            "{} WebGPU could not start again ({message}).",
            self.recovery.loss()
        );
        self.restart(what);
        true
    }

    /// Hands queued photos to the engine, and training photos to the pool's helpers, while
    /// fewer than `IN_FLIGHT` are out with each.
    pub(super) fn pump(self: &Rc<Self>) {
        // A winning contender is about to take over: new work waits for it.
        if !self.is_ready() || self.race.switching() {
            return;
        }
        // Each job is taken with the queue borrowed only for that moment.
        while let Some(job) = self.next_job(ENGINE, |_| true) {
            self.send_job(job, ENGINE);
        }
        self.grow_pool();
        // While the engine trains, photos wait for it: its answers after that come from the new model.
        let classify = !self.teach.is_running();
        let takes = |work| work == Work::Learn || classify;
        for slot in self.pool.ready() {
            while let Some(job) = self.next_job(slot, takes) {
                if job.work == Work::Classify {
                    self.pool.tell_model(slot);
                }
                self.send_job(job, slot);
            }
        }
    }

    /// Starts the pool's helpers once training photos, or more than a few photos to classify,
    /// wait beyond what the engine holds, when the engine answers on the CPU and no race is being
    /// run (`pool.rs`).
    fn grow_pool(&self) {
        let settled = matches!(
            self.race_state.get_untracked(),
            RaceState::Forced | RaceState::Unavailable(_) | RaceState::Decided { .. }
        );
        let waiting = || {
            let queue = self.queue.borrow();
            queue.waiting().any(|job| job.work == Work::Learn)
                || queue
                    .waiting()
                    .filter(|job| job.work == Work::Classify)
                    .count()
                    >= POOL_CLASSIFY_AFTER
        };
        if !self.pool.started()
            && settled
            && self.link.kind() == BackendKind::Cpu
            && self.trainer.borrow().is_none()
            && waiting()
        {
            self.pool.start();
        }
    }

    fn next_job(&self, slot: u32, takes: impl Fn(Work) -> bool) -> Option<Job<web_sys::File>> {
        self.queue.borrow_mut().hand_out_to(slot, takes)
    }

    /// Reads a job's file and sends it to worker `slot` (the engine, or a helper).
    fn send_job(self: &Rc<Self>, Job { id, work, file }: Job<web_sys::File>, slot: u32) {
        if work == Work::Classify {
            self.cards.set_state(id, CardState::Working);
        }
        let client = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            match (read_file(&file).await, work) {
                (Ok(bytes), Work::Classify) if slot == ENGINE => {
                    client.link.send(Request::Classify { id, bytes })
                }
                (Ok(bytes), Work::Classify) => {
                    client.pool.send(slot, Request::Classify { id, bytes })
                }
                (Ok(bytes), Work::Learn) if slot == ENGINE => {
                    client.link.send(Request::AddExample {
                        id,
                        bytes,
                        keep: true,
                    })
                }
                (Ok(bytes), Work::Learn) => client.pool.send(
                    slot,
                    Request::AddExample {
                        id,
                        bytes,
                        keep: false,
                    },
                ),
                (Err(message), _) => {
                    client.queue.borrow_mut().settle(id);
                    match work {
                        Work::Classify => client.cards.set_state(id, CardState::Failed(message)),
                        Work::Learn => client
                            .teach
                            .set_example_state(id, ExampleState::Failed(message)),
                    }
                    client.pump();
                }
            }
        });
    }
}
