//! The WebGPU adapter the browser offers, read through the WebGPU JS API (in the page and in
//! the worker alike, so both name it the same way): the person should see which adapter runs
//! and whether it is a software one, and the backend race keeps its verdict per adapter.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The WebGPU adapter the browser offers.
pub struct Adapter {
    pub description: String,
    /// A fallback (software) adapter such as SwiftShader.
    pub software: bool,
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn text(target: &JsValue, key: &str) -> Option<String> {
    get(target, key).as_string().filter(|s| !s.is_empty())
}

/// Asks the browser for a WebGPU adapter and describes it.
pub async fn probe_adapter() -> Result<Adapter, String> {
    let navigator = get(&js_sys::global(), "navigator");
    let gpu = get(&navigator, "gpu");
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser offers no WebGPU".into());
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
