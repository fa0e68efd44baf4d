//! The page's side of the engine: spawns the worker, feeds it photos and turns its answers into
//! signals the components read.
//!
//! Photos (to classify, or to learn from) wait in one queue on the page and at most `IN_FLIGHT`
//! are handed to the worker at a time, so dropping five hundred photos reads five hundred files
//! lazily instead of copying them all into the worker at once (memory stays bounded), and every
//! card still fills in the moment its own answer arrives. The files stay referenced until their
//! answer has come, so that a worker that is lost can be replaced and asked again
//! (`recovery.rs`).

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};

use gloo_worker::Spawnable;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::backend_race::{BackendRace, Link, RaceState, Trainer, kept_verdict};
use super::keep::Keeper;
use super::remote::RemoteEngine;
use super::teach::state::{ExampleState, Teach, TeachPhoto, TrainingState};
use crate::backend_race::Probe;
use crate::protocol::{
    BackendChoice, BackendInfo, BackendKind, Classification, Fault, Heatmap, KeptExample, Request,
    Response, SaliencyMethod, SavedModel, TrainMode,
};
use crate::work_queue::{Job, Work, WorkQueue};

/// Two in flight: one being classified, one being decoded/sent, so the worker never idles.
const IN_FLIGHT: usize = 2;
/// Cards added per main-thread task: a drop of hundreds of photos appears in slices, so the page
/// never freezes while it builds them (500 cards at once took one 340 ms task, 50 about 60 ms).
const CARDS_PER_SLICE: usize = 20;

const WORKER_SCRIPT: &str = "./worker_loader.js";

#[derive(Debug, Clone, PartialEq)]
pub enum ModelStatus {
    Loading { loaded: u64, total: Option<u64> },
    Ready { backend: BackendInfo, load_ms: f64 },
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum CardState {
    Queued,
    Working,
    Done(Classification),
    Failed(String),
}

/// Which class and method the card's overlay should explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlayChoice {
    pub class_index: u32,
    pub method: SaliencyMethod,
}

/// A card's saliency overlay: what the person asked for, and the maps computed so far (kept so
/// that switching back to an earlier class or method is instant).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overlay {
    pub choice: Option<OverlayChoice>,
    pub maps: Vec<Heatmap>,
    pub error: Option<String>,
}

impl Overlay {
    pub fn current(&self) -> Option<&Heatmap> {
        let choice = self.choice?;
        self.maps
            .iter()
            .find(|m| m.class_index == choice.class_index && m.method == choice.method)
    }

    pub fn computing(&self) -> bool {
        self.choice.is_some() && self.current().is_none() && self.error.is_none()
    }
}

/// One dropped photo and what the model said about it.
#[derive(Debug, Clone)]
pub struct PhotoCard {
    pub id: u32,
    pub name: String,
    /// Object URL of the original file (the browser applies EXIF orientation when drawing it).
    pub thumbnail: String,
    pub state: RwSignal<CardState>,
    pub overlay: RwSignal<Overlay>,
}

pub struct EngineClient {
    pub teach: Teach,
    pub keeper: Keeper,
    /// What is stored of each training photo, so export needs no storage round trip.
    pub(super) kept: RefCell<HashMap<u32, KeptExample>>,
    pub(super) saved_model: RefCell<Option<SavedModel>>,
    /// The model choice to apply once a restored model has loaded.
    pub(super) wanted_personal: Cell<bool>,
    /// Promises of `?bench` requests waiting for their answer, in order.
    pub(super) benchmarks: RefCell<VecDeque<(js_sys::Function, js_sys::Function)>>,
    pub(super) gpu_work_counts: RefCell<VecDeque<(js_sys::Function, js_sys::Function)>>,
    pub(super) memory_probes: RefCell<VecDeque<js_sys::Function>>,
    /// The engine's worker, which answers the person's photos.
    bridge: RefCell<Option<Link>>,
    /// The serial number of the last worker started.
    serials: Cell<u32>,
    /// Answers the engine still owes (`Request::answers`): none at a quiet moment.
    owed: Cell<u32>,
    /// What the engine runs on; a restart after a lost GPU may fall back from it.
    pub(super) kind: Cell<BackendKind>,
    race: BackendRace,
    /// The engine for "head + last blocks" training when the race found the other engine
    /// faster at it than the one answering photos.
    trainer: RefCell<Option<Trainer>>,
    /// The backend race, for the `backend` element (`RaceState::Forced` under `?backend=`).
    pub race_state: RwSignal<RaceState>,
    pub status: RwSignal<ModelStatus>,
    /// What happened to the engine, for the person (a lost GPU, a restart), until dismissed.
    pub notice: RwSignal<Option<String>>,
    pub cards: RwSignal<Vec<PhotoCard>>,
    /// Photos waiting for the engine, and those it holds (`work_queue`).
    pub(super) queue: RefCell<WorkQueue<web_sys::File>>,
    pub(super) states: RefCell<HashMap<u32, RwSignal<CardState>>>,
    pub(super) overlays: RefCell<HashMap<u32, RwSignal<Overlay>>>,
    /// Files on screen, kept to explain another class later.
    pub(super) files: RefCell<HashMap<u32, web_sys::File>>,
    /// Set while a lost engine is being replaced; cleared when the new one is ready.
    pub(super) restarting: Cell<bool>,
    /// When the engine was last restarted (ms since the epoch), to stop a crash loop.
    pub(super) restarts: RefCell<Vec<f64>>,
    /// What happened to the engine that is being restarted, for the notice.
    pub(super) loss: RefCell<String>,
    pub(super) next_id: Cell<u32>,
    /// Bumped by `clear`, so that slices of an earlier drop still being added stop.
    drops_cleared: Cell<u32>,
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
        let client = Rc::new(Self {
            teach: Teach::default(),
            keeper: Keeper::default(),
            kept: RefCell::new(HashMap::new()),
            saved_model: RefCell::new(None),
            wanted_personal: Cell::new(false),
            benchmarks: RefCell::new(VecDeque::new()),
            gpu_work_counts: RefCell::new(VecDeque::new()),
            memory_probes: RefCell::new(VecDeque::new()),
            bridge: RefCell::new(None),
            serials: Cell::new(0),
            owed: Cell::new(0),
            kind: Cell::new(match choice {
                BackendChoice::WebGpu => BackendKind::WebGpu,
                BackendChoice::Cpu | BackendChoice::Auto => BackendKind::Cpu,
            }),
            race: BackendRace::default(),
            trainer: RefCell::new(None),
            race_state: RwSignal::new(match choice {
                BackendChoice::Auto => RaceState::Starting,
                _ => RaceState::Forced,
            }),
            status: RwSignal::new(ModelStatus::Loading {
                loaded: 0,
                total: None,
            }),
            notice: RwSignal::new(None),
            cards: RwSignal::new(Vec::new()),
            queue: RefCell::new(WorkQueue::new(IN_FLIGHT)),
            states: RefCell::new(HashMap::new()),
            overlays: RefCell::new(HashMap::new()),
            files: RefCell::new(HashMap::new()),
            restarting: Cell::new(false),
            restarts: RefCell::new(Vec::new()),
            loss: RefCell::new(String::new()),
            next_id: Cell::new(0),
            drops_cleared: Cell::new(0),
        });
        client.spawn_worker();
        mark("glimpse-worker-spawned");
        client.restore_saved();
        client.expose_benchmark();
        if choice == BackendChoice::Auto {
            client.look_for_gpu();
        }
        client
    }

    /// Starts a worker and asks it to load the model on `kind`; its answers reach
    /// `on_engine_response` with the worker's serial number.
    fn spawn_engine(self: &Rc<Self>, kind: BackendKind) -> Link {
        let serial = self.serials.get() + 1;
        self.serials.set(serial);
        let weak: Weak<Self> = Rc::downgrade(self);
        // `with_loader`: start Trunk's loader script itself rather than a blob: shim, so the worker
        // has a real URL (relative imports resolve, and a CSP needs no blob: workers).
        let bridge = RemoteEngine::spawner()
            .with_loader(true)
            .as_module(false)
            .callback(move |response| {
                if let Some(client) = weak.upgrade() {
                    client.on_engine_response(serial, response);
                }
            })
            .spawn(WORKER_SCRIPT);
        bridge.send(Request::Init {
            backend: kind,
            weights_url: weights_url(),
            count_gpu_work: super::bench_hook::wanted(),
            fused_gpu_kernels: super::bench_hook::fused_gpu_kernels(),
        });
        (serial, bridge)
    }

    /// Starts the engine's worker on `kind`. A worker already there is let go (its bridge
    /// dropped): it has closed itself, or closes on that.
    pub(super) fn spawn_worker(self: &Rc<Self>) {
        let link = self.spawn_engine(self.kind.get());
        self.owed.set(0);
        self.bridge.replace(Some(link));
    }

    /// Lets the worker go: its answers are ignored from now on.
    pub(super) fn bridge_gone(&self) {
        self.bridge.replace(None);
    }

    fn on_engine_response(self: &Rc<Self>, serial: u32, response: Response) {
        let engine = self.bridge.borrow().as_ref().map(|(s, _)| *s);
        if engine == Some(serial) {
            self.owed
                .set(self.owed.get().saturating_sub(response.settles()));
            self.on_response(response);
            self.take_over_when_quiet();
        } else if self.race.contender_serial() == Some(serial) {
            self.on_contender_response(response);
        } else if self.trainer_serial() == Some(serial) {
            self.on_trainer_response(response);
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
                    self.keep_model(saved.clone());
                    self.wanted_personal.set(true);
                    self.send(Request::LoadModel(saved));
                    self.send(Request::UseModel { personal: true });
                    summary
                });
                self.teach.on_trained(summary.map_err(|e| e.to_string()));
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
        if !measuring || !self.is_ready() || self.restarting.get() || self.race.started() {
            return;
        }
        let link = self.spawn_engine(BackendKind::WebGpu);
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
                    self.send(Request::ProbeTraining);
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
            self.send(Request::Probe);
        }
    }

    fn contender_failed(self: &Rc<Self>, message: String) {
        self.race.contender_failed(message);
        self.ask_cpu_probe();
        self.decide_race();
    }

    /// The CPU engine's probe: the contender is probed next, one after the other, so that
    /// neither is timed while the other runs its probe.
    fn on_cpu_probed(self: &Rc<Self>, result: Result<Probe, String>) {
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
    fn on_cpu_trained(self: &Rc<Self>, result: Result<f64, String>) {
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
        if !self.race.switching() || self.owed.get() > 0 || self.restarting.get() {
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
        let cpu = self.bridge.replace(Some(link));
        // The CPU engine stays on to train when it was the faster at a training step.
        if let (true, Some(link), Some(backend)) = (cpu_trains, cpu, answered_by) {
            self.trainer.replace(Some(Trainer { link, backend }));
        }
        self.kind.set(BackendKind::WebGpu);
        self.hand_over_work();
        self.status.set(ModelStatus::Ready { backend, load_ms });
        self.pump();
    }

    /// The race stops (the engine is being restarted): the CPU answers; the person is told.
    pub(super) fn abandon_race(&self) {
        if matches!(self.race_state.get_untracked(), RaceState::Measuring { .. }) {
            self.race.abandon();
            self.race_state.set(RaceState::Unavailable(
                "the measurement of WebGPU stopped because the engine restarted".into(),
            ));
        }
        // A trainer does not outlive the engine it trained for: the restarted one trains.
        self.trainer.replace(None);
    }

    /// `?bench` promises the lost worker will never answer.
    pub(super) fn reject_probes(&self) {
        let mut waiting = self.benchmarks.borrow_mut();
        waiting.extend(self.gpu_work_counts.borrow_mut().drain(..));
        for (_, reject) in waiting.drain(..) {
            let _ = reject.call1(
                &wasm_bindgen::JsValue::NULL,
                &"the engine was restarted".into(),
            );
        }
        for resolve in self.memory_probes.borrow_mut().drain(..) {
            let _ = resolve.call1(&wasm_bindgen::JsValue::NULL, &f64::NAN.into());
        }
    }

    pub(super) fn send(&self, request: Request) {
        if let Some((_, bridge)) = self.bridge.borrow().as_ref() {
            self.owed.set(self.owed.get() + request.answers());
            bridge.send(request);
        }
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
                self.expose_load_timings(&timings);
                if self.restarting.replace(false) {
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
                if self.restarting.get() && self.retry_on_cpu(&message) {
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
                super::bench_hook::count_answer(id);
                self.queue.borrow_mut().settle(id);
                self.set_state(
                    id,
                    match result {
                        Ok(classification) => CardState::Done(classification),
                        Err(error) => CardState::Failed(error.to_string()),
                    },
                );
                self.pump();
            }
            Response::ExampleAdded { id, result } => {
                self.queue.borrow_mut().settle(id);
                match result {
                    Ok(kept) => {
                        self.teach.set_example_state(id, ExampleState::Ready);
                        self.keep_example(id, kept);
                    }
                    Err(error) => self
                        .teach
                        .set_example_state(id, ExampleState::Failed(error.to_string())),
                }
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
                    self.keep_model(saved);
                    summary
                });
                self.teach.on_trained(summary.map_err(|e| e.to_string()));
            }
            Response::ModelLoaded(result) => {
                self.on_model_loaded(result.map_err(|e| e.to_string()))
            }
            Response::ModelChanged { personal, result } => match result {
                Ok(()) => {
                    self.teach.use_personal.set(personal);
                    self.teach.model_error.set(None);
                    self.keep_model_choice(personal);
                }
                Err(error) => self.teach.model_error.set(Some(error.to_string())),
            },
            Response::ProjectChecked(result) => {
                self.on_project_checked(result.map_err(|e| e.to_string()))
            }
            Response::NetworkExported(result) => {
                self.on_network_exported(result.map_err(|e| e.to_string()))
            }
            Response::Benchmarked(result) => self.on_benchmarked(result.map_err(|e| e.to_string())),
            Response::GpuWorkCounted(result) => {
                self.on_gpu_work_counted(result.map_err(|e| e.to_string()))
            }
            Response::Memory { wasm_bytes } => self.on_memory(wasm_bytes),
            Response::Probed(result) => self.on_cpu_probed(result.map_err(|e| e.to_string())),
            Response::TrainingProbed(result) => {
                self.on_cpu_trained(result.map_err(|e| e.to_string()))
            }
            Response::Explained {
                id,
                class_index,
                method,
                result,
            } => {
                self.update_overlay(id, |overlay| match result {
                    Ok(map) => {
                        // The first map of a photo is its top class's: show it.
                        if overlay.choice.is_none() {
                            overlay.choice = Some(OverlayChoice {
                                class_index,
                                method,
                            });
                        }
                        overlay
                            .maps
                            .retain(|m| !(m.class_index == class_index && m.method == method));
                        overlay.maps.push(map);
                    }
                    Err(error) => {
                        if overlay.choice
                            == Some(OverlayChoice {
                                class_index,
                                method,
                            })
                        {
                            overlay.error = Some(error.to_string());
                        }
                    }
                });
            }
        }
    }

    fn update_overlay(&self, id: u32, change: impl FnOnce(&mut Overlay)) {
        if let Some(signal) = self.overlays.borrow().get(&id) {
            signal.update(change);
        }
    }

    /// Shows the saliency of `choice` on card `id`, asking the engine unless it is computed.
    pub fn explain(self: &Rc<Self>, id: u32, choice: OverlayChoice) {
        let Some(overlay) = self.overlays.borrow().get(&id).copied() else {
            return;
        };
        let known = overlay.with_untracked(|o| {
            o.maps
                .iter()
                .any(|m| m.class_index == choice.class_index && m.method == choice.method)
        });
        overlay.update(|o| {
            o.choice = Some(choice);
            o.error = None;
        });
        if known {
            return;
        }
        let Some(file) = self.files.borrow().get(&id).cloned() else {
            return;
        };
        let client = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            match read_file(&file).await {
                Ok(bytes) => client.send(Request::Explain {
                    id,
                    class_index: choice.class_index,
                    method: choice.method,
                    bytes,
                }),
                Err(message) => client.update_overlay(id, |o| o.error = Some(message)),
            }
        });
    }

    pub(super) fn set_state(&self, id: u32, state: CardState) {
        if let Some(signal) = self.states.borrow().get(&id) {
            signal.set(state);
        }
    }

    /// Adds photos as cards (newest first) and queues them for the engine.
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
        let cleared = self.drops_cleared.get();
        wasm_bindgen_futures::spawn_local(async move {
            for slice in slices {
                next_task().await;
                if client.drops_cleared.get() != cleared {
                    return;
                }
                client.add_slice(slice);
            }
        });
    }

    fn add_slice(self: &Rc<Self>, files: Vec<web_sys::File>) {
        let mut new_cards = Vec::with_capacity(files.len());
        for file in files {
            let id = self.next_id.get();
            self.next_id.set(id + 1);
            let state = RwSignal::new(CardState::Queued);
            let overlay = RwSignal::new(Overlay::default());
            self.states.borrow_mut().insert(id, state);
            self.overlays.borrow_mut().insert(id, overlay);
            self.files.borrow_mut().insert(id, file.clone());
            let thumbnail = web_sys::Url::create_object_url_with_blob(&file).unwrap_or_default();
            new_cards.push(PhotoCard {
                id,
                name: file.name(),
                thumbnail,
                state,
                overlay,
            });
            self.queue.borrow_mut().push(id, Work::Classify, file);
        }
        self.cards.update(|cards| {
            new_cards.reverse();
            new_cards.append(cards);
            *cards = new_cards;
        });
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
                Work::Classify => self.set_state(id, CardState::Failed(message.into())),
                Work::Learn => self
                    .teach
                    .set_example_state(id, ExampleState::Failed(message.into())),
            }
        }
    }

    pub(super) fn new_id(&self) -> u32 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }

    /// Adds training photos to a class; the worker embeds each as it arrives.
    pub fn add_examples(self: &Rc<Self>, class_key: u32, files: Vec<web_sys::File>) {
        let Some(class) = self.teach.class(class_key) else {
            return;
        };
        for file in files {
            let id = self.new_id();
            let state = RwSignal::new(ExampleState::Embedding);
            self.teach.example_states.borrow_mut().insert(id, state);
            let thumbnail = web_sys::Url::create_object_url_with_blob(&file).unwrap_or_default();
            class.photos.update(|p| {
                p.push(TeachPhoto {
                    id,
                    name: file.name(),
                    thumbnail,
                    state,
                })
            });
            self.queue.borrow_mut().push(id, Work::Learn, file);
        }
        if matches!(self.status.get_untracked(), ModelStatus::Failed(_)) {
            self.fail_waiting("the model did not load, so this photo cannot be used");
        }
        self.pump();
    }

    /// Removes a training photo, from storage too.
    pub fn remove_example(&self, class_key: u32, id: u32) {
        self.forget_example(class_key, id);
        self.keeper
            .write(move |store| async move { store.delete_photo(id).await });
    }

    fn forget_example(&self, class_key: u32, id: u32) {
        if let Some(class) = self.teach.class(class_key) {
            class.photos.update(|p| {
                if let Some(photo) = p.iter().find(|p| p.id == id) {
                    let _ = web_sys::Url::revoke_object_url(&photo.thumbnail);
                }
                p.retain(|p| p.id != id);
            });
        }
        self.teach.example_states.borrow_mut().remove(&id);
        self.kept.borrow_mut().remove(&id);
        self.queue.borrow_mut().forget(id);
        self.send(Request::RemoveExample { id });
    }

    /// Moves a training photo to another class (its embeddings stay valid).
    pub fn move_example(&self, from: u32, id: u32, to: u32) {
        let (Some(from), Some(to)) = (self.teach.class(from), self.teach.class(to)) else {
            return;
        };
        let mut moved = None;
        from.photos.update(|p| {
            if let Some(i) = p.iter().position(|p| p.id == id) {
                moved = Some(p.remove(i));
            }
        });
        if let Some(photo) = moved {
            to.photos.update(|p| p.push(photo));
            let key = to.key;
            self.keeper
                .write(move |store| async move { store.move_photo(id, key).await });
        }
    }

    pub fn remove_class(&self, key: u32) {
        let mut ids = Vec::new();
        if let Some(class) = self.teach.class(key) {
            for photo in class.photos.get_untracked() {
                ids.push(photo.id);
                self.forget_example(key, photo.id);
            }
        }
        self.teach.classes.update(|c| c.retain(|c| c.key != key));
        self.keeper
            .write(move |store| async move { store.delete_class(key, &ids).await });
    }

    /// Train, as pressed: starts at once when every photo is embedded; otherwise waits for the
    /// photos still embedding (the Teach panel starts the run when they are ready), so a run never
    /// learns from a silent subset of the photos.
    pub fn train(&self) {
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
    pub fn train_ready_now(&self) {
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
        let settings = self.teach.settings.get_untracked();
        let train = Request::Train {
            classes: names,
            examples,
            settings: settings.clone(),
        };
        match self.trainer.borrow().as_ref() {
            // The trainer is handed the photos as they are now, then trains on them.
            Some(trainer) if settings.mode == TrainMode::HeadAndBlocks => {
                let bridge = &trainer.link.1;
                bridge.send(Request::Reset);
                for (&id, kept) in self.kept.borrow().iter() {
                    bridge.send(Request::RestoreExample {
                        id,
                        photo: kept.photo.clone(),
                        embeddings: kept.embeddings.clone(),
                    });
                }
                bridge.send(train);
                self.teach.trained_on.set(Some(trainer.backend.kind));
            }
            _ => {
                self.send(train);
                self.teach.trained_on.set(Some(self.kind.get()));
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

    pub fn cancel_training(&self) {
        if self.teach.waiting_to_train.get_untracked() {
            self.teach.waiting_to_train.set(false);
            return;
        }
        self.send(Request::CancelTraining);
        if let Some(trainer) = self.trainer.borrow().as_ref() {
            trainer.link.1.send(Request::CancelTraining);
        }
    }

    /// The person's choice of model; stored at once (not when the engine answers) so that a
    /// reload right after it keeps it.
    pub fn use_personal_model(&self, personal: bool) {
        self.send(Request::UseModel { personal });
        self.keep_model_choice(personal);
    }

    /// Removes every card and frees the thumbnails.
    pub fn clear(&self) {
        self.drops_cleared.set(self.drops_cleared.get() + 1);
        for card in self.cards.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&card.thumbnail);
        }
        // Photos already handed to the worker will still be answered: keep their states until then.
        self.queue
            .borrow_mut()
            .forget_where(|job| job.work == Work::Classify);
        self.states
            .borrow_mut()
            .retain(|_, state| matches!(state.get_untracked(), CardState::Working));
        self.overlays.borrow_mut().clear();
        self.files.borrow_mut().clear();
        self.cards.set(Vec::new());
    }

    /// Hands queued photos to the worker while fewer than `IN_FLIGHT` are there.
    pub(super) fn pump(self: &Rc<Self>) {
        // A winning contender is about to take over: new work waits for it.
        if !self.is_ready() || self.race.switching() {
            return;
        }
        loop {
            let Some(Job { id, work, file }) = self.queue.borrow_mut().hand_out() else {
                return;
            };
            if work == Work::Classify {
                self.set_state(id, CardState::Working);
            }
            let client = Rc::clone(self);
            wasm_bindgen_futures::spawn_local(async move {
                match (read_file(&file).await, work) {
                    (Ok(bytes), Work::Classify) => client.send(Request::Classify { id, bytes }),
                    (Ok(bytes), Work::Learn) => client.send(Request::AddExample { id, bytes }),
                    (Err(message), _) => {
                        client.queue.borrow_mut().settle(id);
                        match work {
                            Work::Classify => client.set_state(id, CardState::Failed(message)),
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
}

/// Lets the page's event loop run (input, painting) before going on.
async fn next_task() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback(&resolve);
        }
    });
    let _ = JsFuture::from(promise).await;
}

pub(super) async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| "the browser could not read this file".to_string())?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// The weights sit next to the page; an absolute URL because the worker resolves relative URLs
/// against its own script.
fn weights_url() -> String {
    let file = crate::formats::records::WEIGHTS_FILE;
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten());
    match base.and_then(|base| web_sys::Url::new_with_base(file, &base).ok()) {
        Some(url) => url.href(),
        None => file.to_string(),
    }
}

/// Files out of a `FileList` (input or drop).
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// Image files among the items of a paste (screenshots, copied images).
pub fn pasted_files(event: &web_sys::ClipboardEvent) -> Vec<web_sys::File> {
    let Some(data) = event.clipboard_data() else {
        return Vec::new();
    };
    let items = data.items();
    (0..items.length())
        .filter_map(|i| items.get(i))
        .filter(|item| item.kind() == "file")
        .filter_map(|item| item.get_as_file().ok().flatten())
        .filter_map(|file| file.dyn_into::<web_sys::File>().ok())
        .collect()
}
