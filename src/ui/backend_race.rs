//! The page's side of the backend race (`crate::backend_race` holds the decision): in Auto mode
//! the CPU engine answers first, a WebGPU engine (the contender) warms up in a worker of its own
//! behind it, both are probed one after the other, and the verdict is shown on the `backend`
//! element and kept in `localStorage` per adapter. A contender that wins takes over only at a
//! quiet moment, when the CPU engine owes no answer (`EngineClient::take_over`), so no photo is
//! lost or answered twice across the switch.

use std::cell::{Cell, RefCell};

use super::link::Link;
use crate::backend_race::{
    Contender, Preference, Probe, Verdict, Verdicts, judge, worth_timing_training,
};
use crate::protocol::{BackendInfo, BackendKind};

const STORAGE_KEY: &str = "glimpse-backend-verdicts";

/// What the person sees of the race.
#[derive(Debug, Clone, PartialEq)]
pub enum RaceState {
    /// `?backend=` chose the backend: no race.
    Forced,
    /// Looking for a WebGPU adapter.
    Starting,
    /// No WebGPU to race: why.
    Unavailable(String),
    /// The WebGPU engine on `adapter` is warming up or being timed.
    Measuring { adapter: String },
    /// Decided, now or (`earlier`) on an earlier visit.
    Decided { verdict: Verdict, earlier: bool },
}

/// The engine that runs "head + last blocks" training when it is not the one answering photos
/// (the race found it faster at a training step).
pub(super) struct Trainer {
    pub link: Link,
    pub backend: BackendInfo,
}

/// The race in progress.
#[derive(Default)]
pub(super) struct BackendRace {
    /// The WebGPU engine being measured, or the winner waiting to take over.
    contender: RefCell<Option<Link>>,
    adapter: RefCell<Option<(String, bool)>>,
    /// The contender's backend once it is ready.
    contender_backend: RefCell<Option<BackendInfo>>,
    cpu_probe: RefCell<Option<Probe>>,
    gpu_probe: RefCell<Option<Probe>>,
    failure: RefCell<Option<String>>,
    /// The contender won and waits for the CPU engine to owe nothing.
    winner: RefCell<Option<BackendInfo>>,
    /// A contender was started (the race runs once per visit).
    started: Cell<bool>,
    /// The verdict was given (once per visit).
    decided: Cell<bool>,
    /// The training step is being timed (`worth_timing_training`); its times so far.
    training_asked: Cell<bool>,
    cpu_train_ms: Cell<Option<f64>>,
    gpu_train_ms: Cell<Option<f64>>,
    /// The CPU engine was asked for its probe.
    cpu_asked: Cell<bool>,
}

impl BackendRace {
    pub(super) fn set_adapter(&self, description: String, software: bool) {
        self.adapter.replace(Some((description, software)));
    }

    pub(super) fn contender_serial(&self) -> Option<u32> {
        self.contender.borrow().as_ref().map(|(serial, _)| *serial)
    }

    pub(super) fn enter(&self, link: Link) {
        self.started.set(true);
        self.contender.replace(Some(link));
    }

    pub(super) fn started(&self) -> bool {
        self.started.get()
    }

    /// Whether the CPU engine's probe is still to be asked for (true once).
    pub(super) fn ask_cpu(&self) -> bool {
        !self.cpu_asked.replace(true)
    }

    pub(super) fn send_to_contender(&self, request: crate::protocol::Request) {
        if let Some((_, bridge)) = self.contender.borrow().as_ref() {
            bridge.send(request);
        }
    }

    pub(super) fn contender_ready(&self, backend: BackendInfo) {
        self.contender_backend.replace(Some(backend));
    }

    pub(super) fn cpu_probed(&self, probe: Probe) {
        self.cpu_probe.replace(Some(probe));
    }

    pub(super) fn gpu_probed(&self, probe: Probe) {
        self.gpu_probe.replace(Some(probe));
    }

    /// Whether the training step is to be timed now that both forward passes are (true once).
    pub(super) fn ask_training(&self, preference: Preference) -> bool {
        let (Some(cpu), Some(gpu)) = (&*self.cpu_probe.borrow(), &*self.gpu_probe.borrow()) else {
            return false;
        };
        worth_timing_training(cpu, gpu, preference) && !self.training_asked.replace(true)
    }

    /// The CPU engine's training step; `None` when it could not be timed (the race then goes on
    /// without it).
    pub(super) fn cpu_trained(&self, ms: Option<f64>) {
        self.cpu_train_ms.set(ms);
        if ms.is_none() {
            self.training_asked.set(false);
        }
    }

    pub(super) fn gpu_trained(&self, ms: f64) {
        self.gpu_train_ms.set(Some(ms));
    }

    /// The contender failed (to start, in warm-up or in its probe); it is let go.
    pub(super) fn contender_failed(&self, message: String) {
        self.failure.replace(Some(message));
        self.contender.replace(None);
    }

    /// The verdict, once both sides have been heard. A winning contender waits (`take_winner`);
    /// one that only trains faster is handed over as the trainer (`take_contender`); any other
    /// is let go.
    pub(super) fn decide(&self, preference: Preference) -> Option<Verdict> {
        if self.decided.get() {
            return None;
        }
        let cpu = self.cpu_probe.borrow().clone()?;
        let (adapter, software) = self.adapter.borrow().clone()?;
        let failure = self.failure.borrow().clone();
        let training_pending = self.training_asked.get() && self.gpu_train_ms.get().is_none();
        if training_pending && failure.is_none() {
            return None;
        }
        let cpu = Probe {
            train_step_ms: self.cpu_train_ms.get(),
            ..cpu
        };
        let gpu = self.gpu_probe.borrow().clone().map(|gpu| Probe {
            train_step_ms: self.gpu_train_ms.get(),
            ..gpu
        });
        let contender = match (&failure, &gpu) {
            (Some(message), _) => Contender::Failed(message),
            (None, Some(probe)) => Contender::Probed(probe),
            (None, None) => return None,
        };
        let verdict = judge(
            &adapter,
            software,
            &cpu,
            contender,
            preference,
            js_sys::Date::now(),
        );
        if verdict.winner == BackendKind::WebGpu {
            self.winner.replace(self.contender_backend.borrow().clone());
        } else if verdict.trainer == BackendKind::Cpu {
            self.contender.replace(None);
        }
        self.decided.set(true);
        keep(verdict.clone());
        Some(verdict)
    }

    /// Whether a winner waits to take over (the page holds new work back meanwhile).
    pub(super) fn switching(&self) -> bool {
        self.winner.borrow().is_some()
    }

    /// The winning contender's worker and backend, to become the page's engine.
    pub(super) fn take_winner(&self) -> Option<(Link, BackendInfo)> {
        let backend = self.winner.take()?;
        let link = self.contender.take()?;
        Some((link, backend))
    }

    /// The contender and its backend, to train (it lost at answering photos).
    pub(super) fn take_contender(&self) -> Option<Trainer> {
        let backend = self.contender_backend.borrow().clone()?;
        let link = self.contender.take()?;
        Some(Trainer { link, backend })
    }

    /// Stops the race (the CPU engine was lost and is being restarted).
    pub(super) fn abandon(&self) {
        self.contender.replace(None);
        self.winner.replace(None);
    }
}

/// The verdict kept for this adapter, if it still settles the choice.
pub(super) fn kept_verdict(adapter: &str) -> Option<Verdict> {
    let verdicts = Verdicts::parse(
        storage()
            .and_then(|s| s.get_item(STORAGE_KEY).ok())
            .flatten()
            .as_deref(),
    );
    verdicts
        .get(adapter)
        .filter(|v| v.settles(js_sys::Date::now()))
        .cloned()
}

fn keep(verdict: Verdict) {
    let Some(storage) = storage() else { return };
    let mut verdicts = Verdicts::parse(storage.get_item(STORAGE_KEY).ok().flatten().as_deref());
    verdicts.insert(verdict);
    // Private windows may refuse to store: the race then simply runs again next time.
    let _ = storage.set_item(STORAGE_KEY, &verdicts.to_json());
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// What the `backend` element shows of the race: its state, the figures and the reason.
pub(super) fn describe(
    state: &RaceState,
) -> (Option<&'static str>, Option<String>, Option<String>) {
    match state {
        RaceState::Forced => (None, None, None),
        RaceState::Starting => (Some("starting"), None, None),
        RaceState::Unavailable(reason) => (Some("unavailable"), None, Some(reason.clone())),
        RaceState::Measuring { adapter } => (
            Some("measuring"),
            Some(format!("measuring WebGPU ({adapter}) against the CPU…")),
            None,
        ),
        RaceState::Decided { verdict, earlier } => {
            let when = if *earlier {
                " (measured on an earlier visit)"
            } else {
                ""
            };
            let training = verdict
                .training_line()
                .map(|line| format!("; {line}"))
                .unwrap_or_default();
            (
                Some("decided"),
                Some(format!("{}{training}{when}", verdict.line())),
                verdict.reason.clone(),
            )
        }
    }
}
