//! The page's pool of helpers: extra CPU engines that embed training photos and classify photos
//! beside the engine, so that a folder of thousands of photos uses every core the machine can
//! spare. The CPU engine runs on one thread, so one worker uses one core.
//!
//! A helper embeds the ImageNet backbone's features, which no personal model or example changes,
//! so it keeps nothing it embeds (`AddExample { keep: false }`) and the page hands each answer to
//! the engine that trains (`RestoreExample`), which learns exactly what it would have from
//! embedding the photo itself (tests/engine_answers.rs). To classify, a helper is first told the
//! model the engine answers with (`model_state`: the personal model and the choice), so its
//! answers are the engine's; no helper classifies while the engine trains, since the engine's
//! answers after that come from the new model. A lost helper is let go and its photos go back to
//! the queue; the others and the engine go on.
//!
//! Helpers start only when the engine answers on the CPU and the backend race is over (they would
//! slow the race's timings), and only once enough work waits beyond what the engine holds.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;

use super::link::{EngineLink, Link};
use crate::protocol::{BackendKind, Request};

/// What the pool counts for one CPU worker: a budget, not a measurement. The engine's wasm memory
/// was 75 MB with 500 training photos (`bench/many-photos.spec.ts`), about 42 MB of it the model,
/// so this leaves room for the examples of a few thousand photos; a helper keeps none. The pool
/// stays within a quarter of the device's memory.
const WORKER_MB: f64 = 300.0;
/// The most workers (the engine included), whatever the machine.
const MAX_WORKERS: usize = 8;
/// `navigator.deviceMemory` where the browser does not say (Chromium caps it at 8).
const UNKNOWN_MEMORY_GB: f64 = 4.0;

struct Helper {
    /// The helper's place in the queue (`work_queue::ENGINE` is the engine's).
    slot: u32,
    link: Link,
    ready: bool,
    /// The engine's model change it was last told (`ModelState::change`).
    told: Option<u32>,
}

pub struct Pool {
    link: Rc<EngineLink>,
    helpers: RefCell<Vec<Helper>>,
    started: Cell<bool>,
    /// Workers embedding now: the engine and the helpers that have loaded the model.
    pub working: RwSignal<usize>,
}

impl Pool {
    pub(super) fn new(link: Rc<EngineLink>) -> Self {
        Self {
            link,
            helpers: RefCell::default(),
            started: Cell::new(false),
            working: RwSignal::new(1),
        }
    }

    /// Starts the helpers (once a visit): as many as `workers()` allows beside the engine.
    pub(super) fn start(&self) {
        if self.started.replace(true) {
            return;
        }
        let helpers = (1..workers()).map(|slot| Helper {
            slot: slot as u32,
            link: self.link.spawn(BackendKind::Cpu),
            ready: false,
            told: None,
        });
        self.helpers.borrow_mut().extend(helpers);
    }

    pub(super) fn started(&self) -> bool {
        self.started.get()
    }

    /// The queue slot of the helper whose answers carry `serial`.
    pub(super) fn slot_of(&self, serial: u32) -> Option<u32> {
        let helpers = self.helpers.borrow();
        helpers.iter().find(|h| h.link.0 == serial).map(|h| h.slot)
    }

    pub(super) fn set_ready(&self, slot: u32) {
        if let Some(helper) = self
            .helpers
            .borrow_mut()
            .iter_mut()
            .find(|h| h.slot == slot)
        {
            helper.ready = true;
        }
        self.count();
    }

    fn count(&self) {
        let ready = self.helpers.borrow().iter().filter(|h| h.ready).count();
        self.working.set(1 + ready);
    }

    /// The helpers that have loaded the model, by slot.
    pub(super) fn ready(&self) -> Vec<u32> {
        let helpers = self.helpers.borrow();
        helpers.iter().filter(|h| h.ready).map(|h| h.slot).collect()
    }

    pub(super) fn send(&self, slot: u32, request: Request) {
        if let Some(helper) = self.helpers.borrow().iter().find(|h| h.slot == slot) {
            helper.link.1.send(request);
        }
    }

    /// Tells helper `slot` the model the engine answers with, unless it already has it; its
    /// next photos are answered with that model.
    pub(super) fn tell_model(&self, slot: u32) {
        let state = self.link.model();
        let mut helpers = self.helpers.borrow_mut();
        let Some(helper) = helpers.iter_mut().find(|h| h.slot == slot) else {
            return;
        };
        if helper.told != Some(state.change) {
            for request in state.requests() {
                helper.link.1.send(request);
            }
            helper.told = Some(state.change);
        }
    }

    /// Lets every helper go (they run another backbone than the engine now) and answers their
    /// slots; the pool starts again when it is next wanted.
    pub(super) fn let_go_all(&self) -> Vec<u32> {
        let slots = self
            .helpers
            .borrow_mut()
            .drain(..)
            .map(|h| h.slot)
            .collect();
        self.started.set(false);
        self.count();
        slots
    }

    /// Lets helper `slot` go: its answers are ignored from now on.
    pub(super) fn let_go(&self, slot: u32) {
        self.helpers.borrow_mut().retain(|h| h.slot != slot);
        self.count();
    }
}

/// How many workers (the engine included) the machine allows: one per core, within a quarter of
/// the device's memory; `?workers=N` sets it (benchmarks and tests).
pub(super) fn workers() -> usize {
    if let Some(n) = super::bench_hook::workers() {
        return n.clamp(1, MAX_WORKERS);
    }
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return 1;
    };
    let cores = navigator.hardware_concurrency().max(1.0) as usize;
    let memory_gb = js_sys::Reflect::get(&navigator, &"deviceMemory".into())
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(UNKNOWN_MEMORY_GB);
    let within_memory = (memory_gb * 1024.0 / 4.0 / WORKER_MB).floor() as usize;
    cores.min(within_memory).clamp(1, MAX_WORKERS)
}
