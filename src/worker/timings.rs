//! The worker's side of the load timings: its clock and its own wasm download, read from the
//! Performance and Resource Timing APIs (through `Reflect`: they are plain JS objects).

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_time::Instant;

use crate::protocol::LoadTimings;

fn number(target: &JsValue, key: &str) -> Option<f64> {
    Reflect::get(target, &key.into()).ok()?.as_f64()
}

fn performance() -> JsValue {
    Reflect::get(&js_sys::global(), &"performance".into()).unwrap_or(JsValue::UNDEFINED)
}

/// When this worker's wasm was fetched: the newest `.wasm` resource it loaded.
fn wasm_fetch(performance: &JsValue) -> Option<(f64, f64)> {
    let entries: Function = Reflect::get(performance, &"getEntriesByType".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let list: Array = entries
        .call1(performance, &"resource".into())
        .ok()?
        .dyn_into()
        .ok()?;
    list.iter()
        .filter(|entry| {
            Reflect::get(entry, &"name".into())
                .ok()
                .and_then(|n| n.as_string())
                .is_some_and(|name| name.split('?').next().unwrap_or("").ends_with(".wasm"))
        })
        .filter_map(|entry| {
            Some((
                number(&entry, "fetchStart")?,
                number(&entry, "responseEnd")?,
            ))
        })
        .next_back()
}

/// The timings as far as they are known when the start request arrives.
pub fn at_start() -> LoadTimings {
    let performance = performance();
    let now = Function::from(Reflect::get(&performance, &"now".into()).unwrap_or_default())
        .call0(&performance)
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    LoadTimings {
        clock_origin_ms: number(&performance, "timeOrigin").unwrap_or(0.0),
        wasm_fetch: wasm_fetch(&performance),
        started_at: now,
        ..LoadTimings::default()
    }
}

pub fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}
