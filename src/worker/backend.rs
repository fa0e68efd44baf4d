//! Chooses the compute device inside the worker: WebGPU when it starts, else the CPU (Flex).
//!
//! The adapter is inspected through the WebGPU JS API before Burn initialises its own, because the
//! person should see which adapter runs and whether it is a software one. In `Auto` mode a
//! software (fallback) adapter such as SwiftShader is passed over for the CPU backend: it runs
//! WebGPU on the CPU too, but many times slower than Flex. `?backend=webgpu` still forces it.

use burn::prelude::Device;
use burn::tensor::wgpu::wgpu;
use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::protocol::{BackendChoice, BackendInfo, BackendKind};

const CPU_NAME: &str = "Flex (Rust on wasm, SIMD)";

struct Adapter {
    description: String,
    software: bool,
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn text(target: &JsValue, key: &str) -> Option<String> {
    get(target, key).as_string().filter(|s| !s.is_empty())
}

/// Asks the browser for a WebGPU adapter and describes it.
async fn probe_adapter() -> Result<Adapter, String> {
    let navigator = get(&js_sys::global(), "navigator");
    let gpu = get(&navigator, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser offers no WebGPU in workers".into());
    }
    let request: Function = get(&gpu, "requestAdapter")
        .dyn_into()
        .map_err(|_| "navigator.gpu.requestAdapter is missing".to_string())?;
    let options = Object::new();
    let _ = Reflect::set(
        &options,
        &"powerPreference".into(),
        &"high-performance".into(),
    );
    let promise: Promise = request
        .call1(&gpu, &options)
        .map_err(|_| "requestAdapter failed".to_string())?
        .unchecked_into();
    let adapter = JsFuture::from(promise)
        .await
        .map_err(|_| "requestAdapter was rejected".to_string())?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err("no WebGPU adapter is available".into());
    }
    let info = get(&adapter, "info");
    let parts: Vec<String> = ["vendor", "architecture", "device", "description"]
        .iter()
        .filter_map(|k| text(&info, k))
        .collect();
    let description = if parts.is_empty() {
        "unnamed adapter".into()
    } else {
        parts.join(" ")
    };
    let flagged = get(&info, "isFallbackAdapter").is_truthy()
        || get(&adapter, "isFallbackAdapter").is_truthy();
    let lower = description.to_ascii_lowercase();
    let software = flagged
        || ["swiftshader", "llvmpipe", "lavapipe", "software", "warp"]
            .iter()
            .any(|s| lower.contains(s));
    Ok(Adapter {
        description,
        software,
    })
}

/// The device the engine runs on, and the WebGPU device under it when there is one (to watch
/// for its loss, and for the tests to lose it on purpose).
pub struct Selected {
    pub device: Device,
    pub info: BackendInfo,
    pub gpu: Option<wgpu::Device>,
}

fn cpu(reason: Option<String>) -> Selected {
    let info = BackendInfo {
        kind: BackendKind::Cpu,
        adapter: CPU_NAME.into(),
        software: false,
        fallback_reason: reason,
    };
    Selected {
        device: Device::flex(),
        info,
        gpu: None,
    }
}

async fn webgpu() -> Result<Selected, String> {
    let adapter = probe_adapter().await?;
    let (device, setup) = Device::wgpu_options()
        .init_with_setup_async()
        .await
        .map_err(|e| format!("WebGPU could not start: {e:?}"))?;
    let info = BackendInfo {
        kind: BackendKind::WebGpu,
        adapter: adapter.description,
        software: adapter.software,
        fallback_reason: None,
    };
    Ok(Selected {
        device,
        info,
        gpu: Some(setup.device),
    })
}

pub async fn select(choice: BackendChoice) -> Result<Selected, String> {
    match choice {
        BackendChoice::Cpu => Ok(cpu(None)),
        BackendChoice::WebGpu => webgpu().await,
        BackendChoice::Auto => match probe_adapter().await {
            Ok(adapter) if adapter.software => Ok(cpu(Some(format!(
                "the only WebGPU adapter is a software one ({}); the CPU backend is faster",
                adapter.description
            )))),
            Ok(_) => match webgpu().await {
                Ok(selected) => Ok(selected),
                Err(reason) => Ok(cpu(Some(reason))),
            },
            Err(reason) => Ok(cpu(Some(reason))),
        },
    }
}
