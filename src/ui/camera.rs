//! The camera, for the Teach panel's captures and the live mode: open it (the browser asks the
//! person), stop every track, and take the current frame as a JPEG file.
//!
//! The media APIs are reached through `Reflect` rather than more web-sys features: each new
//! web-sys feature recompiles the whole GPU stack, and these are three calls.

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Asks for the camera (the browser shows its permission prompt).
pub async fn open_camera() -> Result<JsValue, String> {
    let navigator = get(&js_sys::global(), "navigator");
    let devices = get(&navigator, "mediaDevices");
    let request: Function = get(&devices, "getUserMedia")
        .dyn_into()
        .map_err(|_| "this browser offers no camera access".to_string())?;
    let constraints = Object::new();
    let video = Object::new();
    let _ = Reflect::set(&video, &"facingMode".into(), &"environment".into());
    let _ = Reflect::set(&constraints, &"video".into(), &video);
    let promise: Promise = request
        .call1(&devices, &constraints)
        .map_err(|_| "the camera request failed".to_string())?
        .unchecked_into();
    JsFuture::from(promise).await.map_err(|e| {
        let name = get(&e, "name").as_string().unwrap_or_default();
        if name == "NotAllowedError" {
            "camera access was refused".to_string()
        } else {
            format!("no camera could be opened ({name})")
        }
    })
}

pub fn stop(stream: &JsValue) {
    if let Ok(tracks) = Reflect::get(stream, &"getTracks".into())
        .and_then(|f| f.dyn_into::<Function>())
        .and_then(|f| f.call0(stream))
    {
        for track in js_sys::Array::from(&tracks).iter() {
            if let Ok(stop) = get(&track, "stop").dyn_into::<Function>() {
                let _ = stop.call0(&track);
            }
        }
    }
}

/// The current video frame as a JPEG file.
pub async fn capture(
    video: &web_sys::HtmlVideoElement,
    name: String,
) -> Result<web_sys::File, String> {
    let (w, h) = (video.video_width(), video.video_height());
    if w == 0 || h == 0 {
        return Err("the camera has no picture yet".into());
    }
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let canvas: web_sys::HtmlCanvasElement = document
        .create_element("canvas")
        .map_err(|_| "no canvas")?
        .unchecked_into();
    canvas.set_width(w);
    canvas.set_height(h);
    let context: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .ok_or("no 2D context")?
        .unchecked_into();
    context
        .draw_image_with_html_video_element(video, 0.0, 0.0)
        .map_err(|_| "could not read the frame")?;
    let blob = JsFuture::from(Promise::new(&mut |resolve, _| {
        let callback = Closure::once_into_js(move |blob: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &blob);
        });
        let _ = canvas.to_blob_with_type(callback.unchecked_ref(), "image/jpeg");
    }))
    .await
    .map_err(|_| "could not encode the frame")?;
    // No MIME type on the file: the engine recognises JPEG by its bytes.
    let parts = js_sys::Array::of1(&blob);
    web_sys::File::new_with_blob_sequence(&parts, &name).map_err(|_| "could not make a file".into())
}
