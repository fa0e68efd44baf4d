//! The engine inside a dedicated Web Worker, so decoding, shader compilation and inference never
//! freeze the page. Requests are queued and served one at a time: the model and the GPU are one
//! resource, and a strict order keeps answers flowing back as soon as each is ready.

mod backend;
mod fetch;
mod timings;

use std::cell::Cell;
use std::rc::Rc;

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use gloo_worker::{HandlerId, Registrable, Worker, WorkerScope};
use wasm_bindgen::JsCast;
use web_time::Instant;

use crate::engine::Engine;
use crate::protocol::{
    BackendChoice, BackendInfo, ByteBuf, LoadTimings, PhotoError, Project, Request, Response,
    SaliencyMethod,
};

pub struct EngineWorker {
    queue: UnboundedSender<(HandlerId, Request)>,
    cancel: Rc<Cell<bool>>,
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
        let session = Session::default();
        let cancel = session.cancel.clone();
        wasm_bindgen_futures::spawn_local(serve(scope.clone(), requests, session));
        Self { queue, cancel }
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, _scope: &WorkerScope<Self>, request: Request, id: HandlerId) {
        // A cancel must not wait behind the training it cancels.
        if matches!(request, Request::CancelTraining) {
            self.cancel.set(true);
            return;
        }
        // The receiver lives as long as the worker; a send can only fail while it shuts down.
        let _ = self.queue.unbounded_send((id, request));
    }
}

async fn serve(
    scope: WorkerScope<EngineWorker>,
    mut requests: UnboundedReceiver<(HandlerId, Request)>,
    mut session: Session,
) {
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
    /// Set by a cancel request while training runs.
    pub cancel: Rc<Cell<bool>>,
}

/// Lets the worker's event loop run (and a cancel message arrive) between training epochs.
async fn next_tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = global.set_timeout_with_callback(&resolve);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

impl Session {
    /// Answers one request; `respond` may be called several times (progress, then the answer).
    pub async fn handle(&mut self, request: Request, respond: &dyn Fn(Response)) {
        match request {
            Request::Init {
                backend,
                weights_url,
            } => {
                let mut timings = timings::at_start();
                match start(backend, &weights_url, respond, &mut timings).await {
                    Ok((engine, info)) => {
                        self.engine = Some(engine);
                        respond(Response::Ready {
                            backend: info,
                            timings,
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
            Request::AddExample { id, bytes } => {
                let result = match self.engine.as_mut() {
                    Some(engine) => engine.add_example(id, &bytes).await,
                    None => Err(PhotoError::NotReady),
                };
                respond(Response::ExampleAdded { id, result });
            }
            Request::RestoreExample {
                id,
                photo,
                embeddings,
            } => {
                let result = match self.engine.as_mut() {
                    Some(engine) => engine.restore_example(id, &photo, &embeddings),
                    None => Err(PhotoError::NotReady),
                };
                respond(Response::ExampleRestored { id, result });
            }
            Request::RemoveExample { id } => {
                if let Some(engine) = self.engine.as_mut() {
                    engine.remove_example(id);
                }
            }
            Request::Reset => {
                if let Some(engine) = self.engine.as_mut() {
                    engine.reset();
                }
            }
            Request::LoadModel(saved) => {
                let result = match self.engine.as_mut() {
                    Some(engine) => engine.load_model(&saved),
                    None => Err(NOT_LOADED.into()),
                };
                respond(Response::ModelLoaded(result));
            }
            Request::CheckProject { bytes } => {
                let result = match self.engine.as_ref() {
                    Some(engine) => check_project(engine, &bytes),
                    None => Err(NOT_LOADED.into()),
                };
                respond(Response::ProjectChecked(result));
            }
            Request::Memory => {
                let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
                let buffer: js_sys::ArrayBuffer = memory.buffer().unchecked_into();
                respond(Response::Memory {
                    wasm_bytes: u64::from(buffer.byte_length()),
                });
            }
            Request::Benchmark {
                pixels,
                batch,
                runs,
                warmup,
            } => {
                let result = match self.engine.as_ref() {
                    Some(engine) => {
                        engine
                            .benchmark(&pixels, batch as usize, runs as usize, warmup as usize)
                            .await
                    }
                    None => Err(NOT_LOADED.into()),
                };
                respond(Response::Benchmarked(result));
            }
            Request::ExportNetwork { created } => {
                let result = match self.engine.as_ref() {
                    Some(engine) => engine.export_network(&created).await.map(ByteBuf::from),
                    None => Err(NOT_LOADED.into()),
                };
                respond(Response::NetworkExported(result));
            }
            Request::CancelTraining => self.cancel.set(true),
            Request::UseModel { personal } => {
                let result = match self.engine.as_mut() {
                    Some(engine) => engine.use_personal_model(personal),
                    None => Err(NOT_LOADED.into()),
                };
                respond(Response::ModelChanged { personal, result });
            }
            Request::Train {
                classes,
                examples,
                settings,
            } => {
                self.cancel.set(false);
                let cancel = self.cancel.clone();
                let labelled: Vec<(u32, usize)> = examples
                    .iter()
                    .map(|&(id, class)| (id, class as usize))
                    .collect();
                let result = match self.engine.as_mut() {
                    Some(engine) => {
                        engine
                            .train(classes, &labelled, &settings, |progress| {
                                respond(Response::TrainProgress(progress));
                                let cancel = cancel.clone();
                                async move {
                                    next_tick().await;
                                    !cancel.get()
                                }
                            })
                            .await
                    }
                    None => Err(NOT_LOADED.into()),
                };
                respond(Response::Trained(result));
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

const NOT_LOADED: &str = "the model is not loaded yet";

fn check_project(engine: &Engine, bytes: &[u8]) -> Result<(Project, Vec<ByteBuf>), String> {
    let project = crate::engine::bundle::read(bytes).map_err(|e| e.to_string())?;
    let thumbnails = engine.check_project(&project)?;
    Ok((project, thumbnails.into_iter().map(ByteBuf::from).collect()))
}

/// Picks the device, downloads the weights (streaming progress) and warms the model up.
async fn start(
    choice: BackendChoice,
    weights_url: &str,
    respond: &dyn Fn(Response),
    timings: &mut LoadTimings,
) -> Result<(Engine, BackendInfo), String> {
    // Device first: a forced-WebGPU failure should not cost a 9 MB download before it is told.
    let phase = Instant::now();
    let (device, info) = backend::select(choice).await?;
    timings.device_ms = timings::ms_since(phase);
    let phase = Instant::now();
    let weights = fetch::bytes_with_progress(weights_url, |loaded, total| {
        respond(Response::LoadProgress { loaded, total });
    })
    .await?;
    timings.weights_download_ms = timings::ms_since(phase);
    let phase = Instant::now();
    let engine = Engine::new(device, &weights)
        .map_err(|e| format!("the model weights are unusable: {e}"))?;
    timings.weights_load_ms = timings::ms_since(phase);
    let phase = Instant::now();
    engine
        .warm_up()
        .await
        .map_err(|e| format!("the model failed its first run on {}: {e}", info.adapter))?;
    timings.warm_up_ms = timings::ms_since(phase);
    Ok((engine, info))
}
