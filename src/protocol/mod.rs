//! Messages between the page and the engine's Web Worker. Only bytes, numbers and strings cross;
//! errors stay typed until the page turns them into text.
//!
//! The page sends `Init` once and waits for `Ready` (or `InitFailed`) before sending photos;
//! weight loading streams `LoadProgress`. Each `Classify` gets exactly one `Classified` with the
//! same `id`, so one broken photo never holds up another, followed by an `Explained` with the
//! Grad-CAM of its top class; each `Explain` gets one `Explained`. An engine that cannot go on
//! (a panic, a trap, a lost GPU device) sends `EngineLost` instead of any further answer and
//! closes; the page then starts a new worker and sends it the person's work again.

use serde::{Deserialize, Serialize};
pub use serde_bytes::ByteBuf;

mod errors;

pub use crate::formats::metrics::Evaluation;
pub use crate::formats::open_set::Familiarity;
use crate::formats::photo::CropBox;
pub use crate::formats::project_file::{Project, ProjectExample, SavedModel};
pub use crate::formats::records::{
    BenchmarkRun, EpochReport, HeldOut, KeptExample, Probe, SaliencyMethod, TrainMode,
    TrainProgress, TrainSettings, TrainingSummary,
};
pub use errors::{EngineError, PhotoError, TeachError};

/// Which compute backend the person asked for (`?backend=` in the page URL); `Auto` runs the
/// backend race (`backend_race`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackendChoice {
    /// The CPU first; WebGPU when it is measured faster and gives the same answers.
    Auto,
    Cpu,
    WebGpu,
}

impl BackendChoice {
    /// Parses the `backend` query parameter; anything unknown means `Auto`.
    pub fn from_query(value: Option<&str>) -> Self {
        match value.map(str::to_ascii_lowercase).as_deref() {
            Some("cpu") => Self::Cpu,
            Some("webgpu") | Some("gpu") => Self::WebGpu,
            _ => Self::Auto,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BackendKind {
    WebGpu,
    Cpu,
}

/// What the engine runs on, for the status bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    pub kind: BackendKind,
    /// Adapter description (vendor / architecture / device) or the CPU backend's name.
    pub adapter: String,
    /// A fallback adapter (e.g. SwiftShader) that runs WebGPU on the CPU.
    pub software: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    Init {
        /// Chosen by the page (`BackendChoice`, then the backend race).
        backend: BackendKind,
        weights_url: String,
        /// Count the WebGPU work of the engine (`www/gpu-work.js`): benchmarks and tests only.
        count_gpu_work: bool,
        /// Run the GPU path's own fused convolutions (normally); false runs Burn's, so that a
        /// benchmark can set the two side by side in one build (`?gpu-kernels=off`).
        fused_gpu_kernels: bool,
    },
    Classify {
        id: u32,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// A saliency map of one class of a photo already classified. The bytes travel again so the
    /// worker holds no photo it must not lose; it skips decoding when the photo is still cached.
    Explain {
        id: u32,
        class_index: u32,
        method: SaliencyMethod,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// A training photo: the worker embeds it at once and answers what the page stores of it.
    /// `keep`: the engine also keeps it to train on; a helper of the page's pool does not (the
    /// page hands the stored photo to the engine that trains, as `RestoreExample`).
    AddExample {
        id: u32,
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        keep: bool,
    },
    /// A training photo the page had stored: its kept copy and embeddings, not embedded again.
    RestoreExample {
        id: u32,
        #[serde(with = "serde_bytes")]
        photo: Vec<u8>,
        embeddings: Vec<f32>,
    },
    RemoveExample {
        id: u32,
    },
    /// Forget every example and the personal model.
    Reset,
    /// A stored or imported personal model, to build (not yet to use). Boxed: a model's summary
    /// (its evaluation, calibration and open-set rule) dwarfs every other request.
    LoadModel(Box<SavedModel>),
    /// Read and check an export file; nothing changes until the page applies it.
    CheckProject {
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// Time ImageNet forward passes on `pixels` (one preprocessed input), repeated `batch` times:
    /// the side-by-side benchmark (`bench/`), reached through the page's `?bench` hook.
    Benchmark {
        pixels: Vec<f32>,
        batch: u32,
        runs: u32,
        warmup: u32,
    },
    /// How much memory the engine's wasm instance holds (benchmarks and load tests).
    Memory,
    /// Count the WebGPU work of ImageNet forward passes on `pixels` repeated `batch` times: the
    /// first pass at this batch and the next one (needs `count_gpu_work` at `Init`).
    CountGpuWork {
        pixels: Vec<f32>,
        batch: u32,
    },
    /// The personal model as a whole network for other tools; `created` is the date to record.
    ExportNetwork {
        created: String,
    },
    /// The personal model as one ONNX file (`formats::onnx_model`).
    ExportOnnx {
        created: String,
    },
    /// Train a personal model on kept examples: `(example id, class index)` pairs.
    Train {
        classes: Vec<String>,
        examples: Vec<(u32, u32)>,
        settings: TrainSettings,
    },
    /// Stop the running training, keeping the best model so far. Handled as soon as it arrives.
    CancelTraining,
    /// Classify new photos with the personal model (true) or the ImageNet one.
    UseModel {
        personal: bool,
    },
    /// A fault for the tests to inject (the page exposes it only under `?bench`): the engine must
    /// survive it with nothing lost.
    InjectFault(Fault),
    /// Time the ImageNet model on the backend race's probe input and answer its logits
    /// (`backend_race`).
    Probe,
    /// Time one fine-tuning step on the probe photo (`backend_race`).
    ProbeTraining,
}

impl Request {
    /// How many answers the worker owes for this request (progress not counted): the page waits
    /// until none are owed before it hands its work to another engine.
    pub fn answers(&self) -> u32 {
        match self {
            // `Classified`, then `Explained` when there is a class to explain.
            Request::Classify { .. } => 2,
            // `Ready` or `InitFailed`, which the page waits for anyway.
            Request::Init { .. }
            | Request::RemoveExample { .. }
            | Request::Reset
            | Request::CancelTraining
            | Request::InjectFault(_) => 0,
            _ => 1,
        }
    }

    /// What this request gets when no engine is there to answer it (not loaded yet, or its start
    /// failed): its answers, each saying so.
    pub fn unanswered(&self) -> Vec<Response> {
        let not_loaded = EngineError::NotLoaded;
        match self {
            &Request::Classify { id, .. } => vec![Response::Classified {
                id,
                result: Err(PhotoError::NotReady),
            }],
            &Request::Explain {
                id,
                class_index,
                method,
                ..
            } => vec![Response::Explained {
                id,
                class_index,
                method,
                result: Err(PhotoError::NotReady),
            }],
            &Request::AddExample { id, .. } => vec![Response::ExampleAdded {
                id,
                result: Err(PhotoError::NotReady),
            }],
            &Request::RestoreExample { id, .. } => vec![Response::ExampleRestored {
                id,
                result: Err(PhotoError::NotReady),
            }],
            Request::LoadModel(_) => vec![Response::ModelLoaded(Err(not_loaded))],
            Request::CheckProject { .. } => vec![Response::ProjectChecked(Err(not_loaded))],
            Request::Benchmark { .. } => vec![Response::Benchmarked(Err(not_loaded))],
            Request::CountGpuWork { .. } => vec![Response::GpuWorkCounted(Err(not_loaded))],
            Request::ExportNetwork { .. } => vec![Response::NetworkExported(Err(not_loaded))],
            Request::ExportOnnx { .. } => vec![Response::OnnxExported(Err(not_loaded))],
            Request::Train { .. } => vec![Response::Trained(Err(not_loaded))],
            &Request::UseModel { personal } => vec![Response::ModelChanged {
                personal,
                result: Err(not_loaded),
            }],
            Request::Probe => vec![Response::Probed(Err(not_loaded))],
            Request::ProbeTraining => vec![Response::TrainingProbed(Err(not_loaded))],
            // Start-up and memory are the worker's own, never the engine's; the rest are owed
            // nothing.
            Request::Init { .. }
            | Request::Memory
            | Request::RemoveExample { .. }
            | Request::Reset
            | Request::CancelTraining
            | Request::InjectFault(_) => Vec::new(),
        }
    }
}

/// What `Request::InjectFault` breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// A panic inside the engine, as a bug in it would cause.
    Crash,
    /// A trap with no panic before it, as running out of memory causes.
    Abort,
    /// `GPUDevice.destroy()`: the browser reports the device lost, as after a driver reset.
    LoseDevice,
    /// The engine's probe logits come out wrong from now on, as on a GPU whose driver computes
    /// wrong numbers: the backend race must refuse that GPU.
    WrongNumbers,
}

/// A saliency map over the model's crop: `side` x `side` bytes, 255 = most salient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    pub method: SaliencyMethod,
    pub class_index: u32,
    pub side: u32,
    #[serde(with = "serde_bytes")]
    pub values: Vec<u8>,
    pub elapsed_ms: f64,
}

/// One ranked class of a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub class_index: u32,
    pub label: String,
    pub synonyms: Vec<String>,
    /// Softmax probability, 0..1.
    pub confidence: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// Most likely first.
    pub predictions: Vec<Prediction>,
    /// The upright photo's size and the square the model saw in it.
    pub width: u32,
    pub height: u32,
    pub crop: CropBox,
    /// Answered by the person's own model (else by the ImageNet one).
    pub personal: bool,
    /// Under a personal model with an open-set rule: how much the photo looks like its classes.
    #[serde(default)]
    pub familiarity: Option<Familiarity>,
    /// Time the engine spent on this photo (decode to ranked classes).
    pub elapsed_ms: f64,
}

/// WebGPU work as counted by `www/gpu-work.js` (dispatches, submits, read-backs, pipelines),
/// or the difference of two such counts. Machine-independent: SwiftShader counts them truly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuWork {
    pub dispatches: u32,
    pub submits: u32,
    /// `GPUBuffer.mapAsync` calls: results read back to the CPU.
    pub readbacks: u32,
    /// Compute pipelines created (shaders compiled).
    pub pipelines: u32,
}

impl GpuWork {
    /// The work done between `before` and `self`.
    pub fn since(self, before: GpuWork) -> GpuWork {
        GpuWork {
            dispatches: self.dispatches.saturating_sub(before.dispatches),
            submits: self.submits.saturating_sub(before.submits),
            readbacks: self.readbacks.saturating_sub(before.readbacks),
            pipelines: self.pipelines.saturating_sub(before.pipelines),
        }
    }
}

/// The WebGPU work of two forward passes at one batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GpuWorkCount {
    /// The first pass at this batch (it may compile pipelines).
    pub first_pass: GpuWork,
    /// The pass after it: what every later pass costs.
    pub pass: GpuWork,
}

/// How the engine's start went: the status line shows the total, the benchmark splits a first
/// prediction with it. Times marked "worker clock" are `performance.now()` in the worker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadTimings {
    /// The worker clock's origin in ms since the epoch, to line its times up with the page's.
    pub clock_origin_ms: f64,
    /// When the worker's wasm download started and ended (worker clock, Resource Timing).
    pub wasm_fetch: Option<(f64, f64)>,
    /// When the engine got its start request, its wasm compiled and running (worker clock).
    pub started_at: f64,
    /// Choosing and opening the compute device.
    pub device_ms: f64,
    pub weights_download_ms: f64,
    /// Parsing the weight file and uploading it to the device.
    pub weights_load_ms: f64,
    /// The first (blank) run: shader compilation, pipelines, kernel choices.
    pub warm_up_ms: f64,
    /// The WebGPU work of that first run, when it was counted (`count_gpu_work`).
    pub warm_up_gpu_work: Option<GpuWork>,
}

impl LoadTimings {
    /// From the start request to a ready engine.
    pub fn engine_ms(&self) -> f64 {
        self.device_ms + self.weights_download_ms + self.weights_load_ms + self.warm_up_ms
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    LoadProgress {
        loaded: u64,
        total: Option<u64>,
    },
    Ready {
        backend: BackendInfo,
        timings: LoadTimings,
    },
    InitFailed {
        message: String,
    },
    Classified {
        id: u32,
        result: Result<Classification, PhotoError>,
    },
    Explained {
        id: u32,
        class_index: u32,
        method: SaliencyMethod,
        result: Result<Heatmap, PhotoError>,
    },
    ExampleAdded {
        id: u32,
        result: Result<KeptExample, PhotoError>,
    },
    ExampleRestored {
        id: u32,
        result: Result<(), PhotoError>,
    },
    TrainProgress(TrainProgress),
    Trained(Result<SavedModel, EngineError>),
    ModelLoaded(Result<(), EngineError>),
    /// The checked project and a thumbnail per photo.
    ProjectChecked(Result<(Project, Vec<ByteBuf>), EngineError>),
    NetworkExported(Result<ByteBuf, EngineError>),
    OnnxExported(Result<ByteBuf, EngineError>),
    Benchmarked(Result<BenchmarkRun, EngineError>),
    GpuWorkCounted(Result<GpuWorkCount, EngineError>),
    /// The worker's wasm linear memory in bytes: it only grows, so it is the peak so far.
    Memory {
        wasm_bytes: u64,
    },
    ModelChanged {
        personal: bool,
        result: Result<(), EngineError>,
    },
    /// The engine cannot go on (its GPU device was lost, or it crashed) and its worker is
    /// closing; nothing it answered before is affected. The page starts a new one and hands it
    /// the person's work again.
    EngineLost {
        reason: String,
        device_lost: bool,
    },
    Probed(Result<Probe, EngineError>),
    /// The time of one fine-tuning step, in milliseconds.
    TrainingProbed(Result<f64, EngineError>),
}

impl Response {
    /// How many of the answers owed (`Request::answers`) this one settles.
    pub fn settles(&self) -> u32 {
        match self {
            // A photo that could not be classified gets no overlay after it.
            Response::Classified { result, .. } => match result {
                Ok(classification) if !classification.predictions.is_empty() => 1,
                _ => 2,
            },
            Response::LoadProgress { .. }
            | Response::Ready { .. }
            | Response::InitFailed { .. }
            | Response::TrainProgress(_)
            | Response::EngineLost { .. } => 0,
            _ => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_classified_photo_settles_both_its_answers_only_with_its_overlay() {
        let classify = Request::Classify {
            id: 1,
            bytes: Vec::new(),
        };
        assert_eq!(classify.answers(), 2);
        let failed = Response::Classified {
            id: 1,
            result: Err(PhotoError::NotReady),
        };
        assert_eq!(failed.settles(), 2);
        let answered = Response::Classified {
            id: 1,
            result: Ok(Classification {
                predictions: vec![Prediction {
                    class_index: 3,
                    label: "x".into(),
                    synonyms: Vec::new(),
                    confidence: 1.0,
                }],
                width: 1,
                height: 1,
                crop: CropBox {
                    x: 0,
                    y: 0,
                    side: 1,
                },
                personal: false,
                familiarity: None,
                elapsed_ms: 0.0,
            }),
        };
        assert_eq!(answered.settles(), 1);
        assert_eq!(Request::Probe.answers(), 1);
        assert_eq!(Request::RemoveExample { id: 1 }.answers(), 0);
        assert_eq!(
            Response::Memory { wasm_bytes: 1 }.settles(),
            Request::Memory.answers()
        );
    }

    #[test]
    fn a_request_with_no_engine_behind_it_still_gets_every_answer_it_is_owed() {
        let summary = TrainingSummary::empty(&["a", "b"]);
        let requests = [
            Request::Classify {
                id: 1,
                bytes: Vec::new(),
            },
            Request::Explain {
                id: 1,
                class_index: 0,
                method: SaliencyMethod::SmoothGrad,
                bytes: Vec::new(),
            },
            Request::AddExample {
                id: 2,
                bytes: Vec::new(),
                keep: true,
            },
            Request::RestoreExample {
                id: 3,
                photo: Vec::new(),
                embeddings: Vec::new(),
            },
            Request::RemoveExample { id: 3 },
            Request::Reset,
            Request::LoadModel(Box::new(SavedModel {
                backbone: crate::formats::backbone::Backbone::Lite2,
                weights: Vec::new(),
                tuned_blocks: 0,
                summary,
            })),
            Request::CheckProject { bytes: Vec::new() },
            Request::Benchmark {
                pixels: Vec::new(),
                batch: 1,
                runs: 1,
                warmup: 0,
            },
            Request::CountGpuWork {
                pixels: Vec::new(),
                batch: 1,
            },
            Request::ExportNetwork {
                created: String::new(),
            },
            Request::ExportOnnx {
                created: String::new(),
            },
            Request::Train {
                classes: Vec::new(),
                examples: Vec::new(),
                settings: TrainSettings::default(),
            },
            Request::CancelTraining,
            Request::UseModel { personal: true },
            Request::InjectFault(Fault::LoseDevice),
            Request::Probe,
            Request::ProbeTraining,
        ];
        for request in requests {
            let answers = request.unanswered();
            let settled: u32 = answers.iter().map(Response::settles).sum();
            assert_eq!(settled, request.answers(), "{request:?} got {answers:?}");
        }
        // A photo's refusal names the photo and says why.
        assert!(matches!(
            Request::AddExample {
                id: 2,
                bytes: Vec::new(),
                keep: true,
            }
            .unanswered()
            .as_slice(),
            [Response::ExampleAdded {
                id: 2,
                result: Err(PhotoError::NotReady)
            }]
        ));
    }

    #[test]
    fn gpu_work_since_is_the_difference() {
        let before = GpuWork {
            dispatches: 10,
            submits: 2,
            readbacks: 1,
            pipelines: 7,
        };
        let after = GpuWork {
            dispatches: 63,
            submits: 5,
            readbacks: 2,
            pipelines: 7,
        };
        assert_eq!(
            after.since(before),
            GpuWork {
                dispatches: 53,
                submits: 3,
                readbacks: 1,
                pipelines: 0
            }
        );
        // A counter that was reset (a new worker) never reads as a huge number.
        assert_eq!(before.since(after).dispatches, 0);
    }

    #[test]
    fn backend_query_parses_case_insensitively() {
        assert_eq!(BackendChoice::from_query(Some("CPU")), BackendChoice::Cpu);
        assert_eq!(
            BackendChoice::from_query(Some("webgpu")),
            BackendChoice::WebGpu
        );
        assert_eq!(BackendChoice::from_query(Some("tpu")), BackendChoice::Auto);
        assert_eq!(BackendChoice::from_query(None), BackendChoice::Auto);
    }
}
