//! The page's handle type for the engine's worker. gloo needs a `Worker` type to encode the
//! messages of a bridge; the real one (`crate::worker::EngineWorker`) holds the engine, which the
//! page's build leaves out. This one has the same message types and is never started here: the
//! worker binary registers the real one.

use gloo_worker::{HandlerId, Worker, WorkerScope};

use crate::protocol::{Request, Response};

pub struct RemoteEngine;

impl Worker for RemoteEngine {
    type Message = ();
    type Input = Request;
    type Output = Response;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, _scope: &WorkerScope<Self>, _request: Request, _id: HandlerId) {}
}
