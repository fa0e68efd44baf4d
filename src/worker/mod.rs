//! The engine inside a dedicated Web Worker, so decoding, shader compilation and inference never
//! freeze the page. Requests are queued and served one at a time: the model and the GPU are one
//! resource, and a strict order keeps answers flowing back as soon as each is ready.

mod backend;
mod fetch;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use gloo_worker::{HandlerId, Registrable, Worker, WorkerScope};
use web_time::Instant;

use crate::engine::Engine;
use crate::protocol::{BackendChoice, BackendInfo, PhotoError, Request, Response, SaliencyMethod};

pub struct EngineWorker {
    queue: UnboundedSender<(HandlerId, Request)>,
}

/// Called by the worker binary: answer the page's messages from now on.
pub fn register() {
    console_error_panic_hook::set_once();
    let _ = console_log::init_with_level(log::Level::Info);
    EngineWorker::registrar().register();
}

impl Worker for EngineWorker {
    type Message = ();
    type Input = Request;
    type Output = Response;

    fn create(scope: &WorkerScope<Self>) -> Self {
        let (queue, requests) = unbounded();
        wasm_bindgen_futures::spawn_local(serve(scope.clone(), requests));
        Self { queue }
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, _scope: &WorkerScope<Self>, request: Request, id: HandlerId) {
        // The receiver lives as long as the worker; a send can only fail while it shuts down.
        let _ = self.queue.unbounded_send((id, request));
    }
}

async fn serve(
    scope: WorkerScope<EngineWorker>,
    mut requests: UnboundedReceiver<(HandlerId, Request)>,
) {
    let mut session = Session::default();
    while let Some((handler, request)) = requests.next().await {
        session
            .handle(request, &|response| scope.respond(handler, response))
            .await;
    }
}

/// What the worker holds between requests: the engine, once it has loaded.
#[derive(Default)]
pub struct Session {
    engine: Option<Engine>,
}

impl Session {
    /// Answers one request; `respond` may be called several times (progress, then the answer).
    pub async fn handle(&mut self, request: Request, respond: &dyn Fn(Response)) {
        match request {
            Request::Init {
                backend,
                weights_url,
            } => {
                let started = Instant::now();
                match start(backend, &weights_url, respond).await {
                    Ok((engine, info)) => {
                        self.engine = Some(engine);
                        let load_ms = started.elapsed().as_secs_f64() * 1000.0;
                        respond(Response::Ready {
                            backend: info,
                            load_ms,
                        });
                    }
                    Err(message) => respond(Response::InitFailed { message }),
                }
            }
            Request::Classify { id, bytes } => {
                let Some(engine) = &self.engine else {
                    respond(Response::Classified {
                        id,
                        result: Err(PhotoError::NotReady),
                    });
                    return;
                };
                let result = engine.classify(id, &bytes).await;
                let top = result
                    .as_ref()
                    .ok()
                    .and_then(|c| c.predictions.first())
                    .map(|p| p.class_index);
                respond(Response::Classified { id, result });
                // The answer first, then the overlay of its top class.
                if let Some(class_index) = top {
                    let method = SaliencyMethod::GradCam;
                    let result = engine.explain(id, class_index, method, &bytes).await;
                    respond(Response::Explained {
                        id,
                        class_index,
                        method,
                        result,
                    });
                }
            }
            Request::Explain {
                id,
                class_index,
                method,
                bytes,
            } => {
                let result = match &self.engine {
                    Some(engine) => engine.explain(id, class_index, method, &bytes).await,
                    None => Err(PhotoError::NotReady),
                };
                respond(Response::Explained {
                    id,
                    class_index,
                    method,
                    result,
                });
            }
        }
    }
}

/// Picks the device, downloads the weights (streaming progress) and warms the model up.
async fn start(
    choice: BackendChoice,
    weights_url: &str,
    respond: &dyn Fn(Response),
) -> Result<(Engine, BackendInfo), String> {
    // Device first: a forced-WebGPU failure should not cost a 9 MB download before it is told.
    let (device, info) = backend::select(choice).await?;
    let weights = fetch::bytes_with_progress(weights_url, |loaded, total| {
        respond(Response::LoadProgress { loaded, total });
    })
    .await?;
    let engine = Engine::new(device, &weights)
        .map_err(|e| format!("the model weights are unusable: {e}"))?;
    engine
        .warm_up()
        .await
        .map_err(|e| format!("the model failed its first run on {}: {e}", info.adapter))?;
    Ok((engine, info))
}
