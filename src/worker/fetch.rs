//! Downloads a file from the worker with progress, reading the response body chunk by chunk.
//! The browser's HTTP cache (and later the service worker) keeps it for the next visit.

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, WorkerGlobalScope};

fn js_error(context: &str, e: JsValue) -> String {
    let detail = e
        .as_string()
        .or_else(|| js_sys::Error::from(e).message().as_string())
        .unwrap_or_default();
    format!("{context}: {detail}")
}

/// Fetches `url`, calling `progress(loaded, total)` as bytes arrive (total from Content-Length).
pub async fn bytes_with_progress(
    url: &str,
    progress: impl Fn(u64, Option<u64>),
) -> Result<Vec<u8>, String> {
    let global: WorkerGlobalScope = js_sys::global().unchecked_into();
    let response: web_sys::Response = JsFuture::from(global.fetch_with_str(url))
        .await
        .map_err(|e| js_error("could not download the model weights", e))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!(
            "could not download the model weights: HTTP {} for {url}",
            response.status()
        ));
    }
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    let body = response.body().ok_or("the weights response has no body")?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    let mut reported = 0u64;
    progress(0, total);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| js_error("the weights download broke off", e))?;
        let done = Reflect::get(&chunk, &"done".into())
            .map(|d| d.is_truthy())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = Reflect::get(&chunk, &"value".into()).map_err(|e| js_error("bad chunk", e))?;
        bytes.extend_from_slice(&Uint8Array::new(&value).to_vec());
        let loaded = bytes.len() as u64;
        // About 50 updates per download is smooth enough and keeps messages few.
        if loaded - reported >= total.unwrap_or(10_000_000) / 50 {
            reported = loaded;
            progress(loaded, total);
        }
    }
    progress(bytes.len() as u64, total);
    Ok(bytes)
}
