//! The engine inside a dedicated Web Worker, so decoding, shader compilation and inference never
//! freeze the page. Requests are queued and served one at a time: the model and the GPU are one
//! resource, and a strict order keeps answers flowing back as soon as each is ready.

mod backend;
mod fetch;
mod gpu_work;
mod lifeline;
mod timings;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use gloo_worker::{HandlerId, Registrable, Worker, WorkerScope};
use wasm_bindgen::JsCast;
use web_time::Instant;

use burn::tensor::wgpu::wgpu;

use crate::engine::{Engine, Respond};
use crate::protocol::{
    BackendInfo, BackendKind, EngineError, Fault, GpuWork, GpuWorkCount, LoadTimings, Request,
    Response,
};

pub struct EngineWorker {
    queue: UnboundedSender<Task>,
    cancel: Rc<Cell<bool>>,
}

/// What the worker's loop serves, in order.
enum Task {
    Request(HandlerId, Request),
    /// The WebGPU device was lost (reported by the browser while the worker may be idle).
    DeviceLost,
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
        lifeline::install(scope);
        let (queue, tasks) = unbounded();
        let session = Session::new(queue.clone());
        let cancel = session.cancel.clone();
        wasm_bindgen_futures::spawn_local(serve(scope.clone(), tasks, session));
        Self { queue, cancel }
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: ()) {}

    fn received(&mut self, _scope: &WorkerScope<Self>, request: Request, id: HandlerId) {
        lifeline::remember(id);
        // A cancel must not wait behind the training it cancels.
        if matches!(request, Request::CancelTraining) {
            self.cancel.set(true);
            return;
        }
        // An injected crash strikes whatever the engine is doing, as a real one would.
        match request {
            Request::InjectFault(Fault::Crash) => panic!("a test injected a crash"),
            Request::InjectFault(Fault::Abort) => std::process::abort(),
            _ => {}
        }
        // The receiver lives as long as the worker; a send can only fail while it shuts down.
        let _ = self.queue.unbounded_send(Task::Request(id, request));
    }
}

async fn serve(
    scope: WorkerScope<EngineWorker>,
    mut tasks: UnboundedReceiver<Task>,
    mut session: Session,
) {
    while let Some(task) = tasks.next().await {
        if lifeline::spoken() {
            return;
        }
        if let Task::Request(handler, request) = task {
            let lost = session.lost.clone();
            session
                .handle(request, &|response| {
                    // Whatever ran on a lost device is not an answer: the page asks again.
                    if lost.get().is_none() {
                        scope.respond(handler, response)
                    }
                })
                .await;
        }
        if let Some(reason) = session.lost.get() {
            lifeline::report(reason.clone(), true);
            return;
        }
    }
}

/// What the worker holds between requests: the engine, once it has loaded.
pub struct Session {
    engine: Option<Engine>,
    /// Set by a cancel request while training runs.
    pub cancel: Rc<Cell<bool>>,
    /// The WebGPU device under the engine, when it runs on one.
    gpu: Option<wgpu::Device>,
    /// Why the WebGPU device was lost, once it is.
    lost: Arc<OnceLock<String>>,
    tasks: UnboundedSender<Task>,
    /// Set by `Fault::WrongNumbers`: the probe's logits come out wrong.
    wrong_numbers: bool,
}

/// Lets the worker's event loop run (and a cancel message arrive) between training epochs.
async fn next_tick() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = global.set_timeout_with_callback(&resolve);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The engine's answers on their way to the page, and the pause between training epochs.
struct Page<'a> {
    respond: &'a dyn Fn(Response),
    cancel: Rc<Cell<bool>>,
    /// `Fault::WrongNumbers` was injected.
    wrong_numbers: bool,
}

impl Respond for Page<'_> {
    fn send(&self, response: Response) {
        (self.respond)(match response {
            // As a broken driver would: an answer, but not the right one.
            Response::Probed(Ok(mut probe)) if self.wrong_numbers => {
                probe.logits.reverse();
                Response::Probed(Ok(probe))
            }
            other => other,
        });
    }

    fn go_on(&self) -> impl Future<Output = bool> {
        let cancel = self.cancel.clone();
        async move {
            next_tick().await;
            !cancel.get()
        }
    }
}

impl Session {
    /// Answers one request; `respond` may be called several times (progress, then the answer).
    /// The engine answers what it can (`Engine::answer`); the worker what only it has.
    pub async fn handle(&mut self, request: Request, respond: &dyn Fn(Response)) {
        match request {
            Request::Init {
                backend,
                weights_url,
                count_gpu_work,
                fused_gpu_kernels,
            } => {
                self.start(
                    backend,
                    &weights_url,
                    count_gpu_work,
                    fused_gpu_kernels,
                    respond,
                )
                .await
            }
            Request::Memory => {
                let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
                let buffer: js_sys::ArrayBuffer = memory.buffer().unchecked_into();
                respond(Response::Memory {
                    wasm_bytes: u64::from(buffer.byte_length()),
                });
            }
            Request::CountGpuWork { pixels, batch } => {
                let result = match self.engine.as_ref() {
                    Some(engine) => count_gpu_work(engine, &pixels, batch as usize).await,
                    None => Err(EngineError::NotLoaded),
                };
                respond(Response::GpuWorkCounted(result));
            }
            Request::CancelTraining => self.cancel.set(true),
            Request::InjectFault(Fault::Crash) => panic!("a test injected a crash"),
            Request::InjectFault(Fault::Abort) => std::process::abort(),
            Request::InjectFault(Fault::LoseDevice) => match &self.gpu {
                Some(gpu) => gpu.destroy(),
                None => log::warn!("no GPU device to lose: the engine runs on the CPU"),
            },
            Request::InjectFault(Fault::WrongNumbers) => self.wrong_numbers = true,
            request => {
                let Some(engine) = self.engine.as_mut() else {
                    request.unanswered().into_iter().for_each(respond);
                    return;
                };
                if matches!(request, Request::Train { .. }) {
                    self.cancel.set(false);
                }
                let page = Page {
                    respond,
                    cancel: self.cancel.clone(),
                    wrong_numbers: self.wrong_numbers,
                };
                if let Err(request) = engine.answer(request, &page).await {
                    log::warn!("the engine left a request to the worker: {request:?}");
                }
            }
        }
    }

    /// Starts the engine (`Init`): device, weights, warm-up; answers `Ready` or `InitFailed`.
    async fn start(
        &mut self,
        backend: BackendKind,
        weights_url: &str,
        count_gpu_work: bool,
        fused_gpu_kernels: bool,
        respond: &dyn Fn(Response),
    ) {
        crate::engine::use_fused_gpu_kernels(fused_gpu_kernels);
        if count_gpu_work && let Err(message) = gpu_work::install() {
            log::warn!("{message}");
        }
        let mut timings = timings::at_start();
        match start(backend, weights_url, respond, &mut timings).await {
            Ok((engine, info, gpu)) => {
                if let Some(gpu) = &gpu {
                    self.watch(gpu);
                }
                self.gpu = gpu;
                self.engine = Some(engine);
                respond(Response::Ready {
                    backend: info,
                    timings,
                });
            }
            Err(message) => respond(Response::InitFailed { message }),
        }
    }
}

impl Default for Session {
    /// A session outside the worker's loop (the browser tests drive it directly).
    fn default() -> Self {
        Self::new(unbounded().0)
    }
}

impl Session {
    fn new(tasks: UnboundedSender<Task>) -> Self {
        Self {
            engine: None,
            cancel: Rc::default(),
            gpu: None,
            lost: Arc::default(),
            tasks,
            wrong_numbers: false,
        }
    }

    /// Why the WebGPU device was lost, once the browser has said so.
    pub fn device_lost(&self) -> Option<&str> {
        self.lost.get().map(String::as_str)
    }

    /// Reports the device's loss through the task queue, so that it is told even while idle.
    fn watch(&self, gpu: &wgpu::Device) {
        let (lost, tasks) = (self.lost.clone(), self.tasks.clone());
        gpu.set_device_lost_callback(move |kind, message| {
            let _ = lost.set(format!("{kind:?}: {message}"));
            let _ = tasks.unbounded_send(Task::DeviceLost);
        });
    }
}

/// The WebGPU work of the first forward pass at `batch` and of the next one.
async fn count_gpu_work(
    engine: &Engine,
    pixels: &[f32],
    batch: usize,
) -> Result<GpuWorkCount, EngineError> {
    let mut passes = [GpuWork::default(); 2];
    for pass in &mut passes {
        let before = gpu_work::snapshot().ok_or(EngineError::NotCounting)?;
        engine.forward_pass(pixels, batch).await?;
        *pass = gpu_work::snapshot().unwrap_or(before).since(before);
    }
    let [first_pass, pass] = passes;
    Ok(GpuWorkCount { first_pass, pass })
}

/// Picks the device, downloads the weights (streaming progress) and warms the model up.
async fn start(
    kind: BackendKind,
    weights_url: &str,
    respond: &dyn Fn(Response),
    timings: &mut LoadTimings,
) -> Result<(Engine, BackendInfo, Option<wgpu::Device>), String> {
    // Device first: a forced-WebGPU failure should not cost a 9 MB download before it is told.
    let phase = Instant::now();
    let backend::Selected { device, info, gpu } = backend::select(kind).await?;
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
    let counted = gpu_work::snapshot();
    engine
        .warm_up()
        .await
        .map_err(|e| format!("the model failed its first run on {}: {e}", info.adapter))?;
    timings.warm_up_ms = timings::ms_since(phase);
    timings.warm_up_gpu_work = counted.and_then(|before| Some(gpu_work::snapshot()?.since(before)));
    Ok((engine, info, gpu))
}
