//! The live camera's state: the frame in flight (at most one: the next frame is taken only once
//! the last is answered, so frames the backend cannot keep up with are dropped, never queued),
//! its answer and Grad-CAM, how many frames were answered and at what rate.

use std::cell::RefCell;
use std::collections::VecDeque;

use futures::channel::oneshot;
use leptos::prelude::*;

use crate::protocol::{Classification, Heatmap, PhotoError};

/// Frames over which the rate is measured: a second or two at the rates a CPU sustains.
const RATE_WINDOW: usize = 10;

pub struct Live {
    pub on: RwSignal<bool>,
    /// Frames answered since the camera was turned on.
    pub frames: RwSignal<u32>,
    pub answer: RwSignal<Option<Classification>>,
    /// The Grad-CAM of the latest answer's top class.
    pub heatmap: RwSignal<Option<Heatmap>>,
    /// Frames answered per second, over the last `RATE_WINDOW` frames.
    pub fps: RwSignal<Option<f64>>,
    pub error: RwSignal<Option<String>>,
    in_flight: RefCell<Option<(u32, oneshot::Sender<()>)>>,
    answered_at: RefCell<VecDeque<f64>>,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            on: RwSignal::new(false),
            frames: RwSignal::new(0),
            answer: RwSignal::new(None),
            heatmap: RwSignal::new(None),
            fps: RwSignal::new(None),
            error: RwSignal::new(None),
            in_flight: RefCell::new(None),
            answered_at: RefCell::new(VecDeque::new()),
        }
    }
}

impl Live {
    fn owns(&self, id: u32) -> bool {
        self.in_flight
            .borrow()
            .as_ref()
            .is_some_and(|(own, _)| *own == id)
    }

    /// Frame `id` went to the engine; the receiver resolves when it is answered (or is dropped
    /// when its engine is lost).
    pub fn sent(&self, id: u32) -> oneshot::Receiver<()> {
        let (done, answered) = oneshot::channel();
        *self.in_flight.borrow_mut() = Some((id, done));
        answered
    }

    /// Takes a frame's answer; hands back an answer that is not a live frame's.
    pub fn on_classified(
        &self,
        id: u32,
        result: Result<Classification, PhotoError>,
    ) -> Option<Result<Classification, PhotoError>> {
        if !self.owns(id) {
            return Some(result);
        }
        match result {
            // Its Grad-CAM follows: the frame is done then.
            Ok(classification) => {
                self.error.set(None);
                self.answer.set(Some(classification));
                self.frames.update(|n| *n += 1);
            }
            Err(error) => {
                self.error.set(Some(error.to_string()));
                self.finish();
            }
        }
        None
    }

    /// Takes a frame's Grad-CAM, which ends the frame; hands back a map that is not a frame's.
    pub fn on_explained(
        &self,
        id: u32,
        result: Result<Heatmap, PhotoError>,
    ) -> Option<Result<Heatmap, PhotoError>> {
        if !self.owns(id) {
            return Some(result);
        }
        if let Ok(map) = result {
            self.heatmap.set(Some(map));
        }
        self.count_rate();
        self.finish();
        None
    }

    fn count_rate(&self) {
        let mut times = self.answered_at.borrow_mut();
        times.push_back(js_sys::Date::now());
        while times.len() > RATE_WINDOW {
            times.pop_front();
        }
        if let (Some(first), Some(last)) = (times.front(), times.back())
            && times.len() > 1
            && last > first
        {
            self.fps
                .set(Some((times.len() - 1) as f64 / ((last - first) / 1000.0)));
        }
    }

    fn finish(&self) {
        if let Some((_, done)) = self.in_flight.borrow_mut().take() {
            let _ = done.send(());
        }
    }

    /// The engine was lost with the frame: the next one goes to its successor.
    pub fn lost(&self) {
        self.in_flight.borrow_mut().take();
    }

    /// The camera was turned off: nothing is in flight any more, and the next run starts afresh.
    pub fn stopped(&self) {
        self.on.set(false);
        self.lost();
        self.answered_at.borrow_mut().clear();
        self.answer.set(None);
        self.heatmap.set(None);
        self.fps.set(None);
    }

    /// The camera was turned on.
    pub fn started(&self) {
        self.stopped();
        self.frames.set(0);
        self.error.set(None);
        self.on.set(true);
    }
}
