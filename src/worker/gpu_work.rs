//! Counting the engine's WebGPU work, for benchmarks and tests only: `www/gpu-work.js` wraps the
//! WebGPU API's prototypes (dispatch, submit, mapAsync, pipeline creation) before the device
//! exists, and this module reads its counters. The ONNX Runtime Web page of the benchmark loads
//! the same script, so both runtimes are counted by the same hooks.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

use crate::protocol::GpuWork;

/// Next to the worker's own script in the built site (index.html copies it).
const SCRIPT: &str = "gpu-work.js";

/// Loads the counters into this worker; must run before the WebGPU device is created.
pub fn install() -> Result<(), String> {
    let scope: web_sys::WorkerGlobalScope = js_sys::global()
        .dyn_into()
        .map_err(|_| "GPU work can only be counted inside a worker".to_string())?;
    let scripts = js_sys::Array::of1(&SCRIPT.into());
    scope
        .import_scripts(&scripts)
        .map_err(|e| format!("could not load {SCRIPT}: {e:?}"))
}

/// The counts so far, or `None` when the counters are not installed (no WebGPU, not asked for).
pub fn snapshot() -> Option<GpuWork> {
    let counts = Reflect::get(&js_sys::global(), &"glimpseGpuWork".into()).ok()?;
    if counts.is_undefined() || counts.is_null() {
        return None;
    }
    let count = |key: &str| -> u32 {
        Reflect::get(&counts, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_f64())
            .map_or(0, |v| v as u32)
    };
    Some(GpuWork {
        dispatches: count("dispatches"),
        submits: count("submits"),
        readbacks: count("readbacks"),
        pipelines: count("pipelines"),
    })
}
