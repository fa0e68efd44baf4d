//! Adds webcam frames to a class: a live preview and a Capture button. Each frame becomes a JPEG
//! file, exactly as if the person had picked a photo; the stream stops when the preview closes.

use js_sys::Reflect;
use leptos::html::Video;
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use crate::ui::camera::{capture, open_camera, stop};

#[component]
pub fn WebcamCapture(
    class_key: u32,
    on_files: impl Fn(u32, Vec<web_sys::File>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let stream = StoredValue::new_local(None::<JsValue>);
    let video = NodeRef::<Video>::new();
    let shots = StoredValue::new(0u32);

    let start = move |_| {
        error.set(None);
        open.set(true);
        wasm_bindgen_futures::spawn_local(async move {
            match open_camera().await {
                Ok(s) => {
                    if let Some(v) = video.get_untracked() {
                        let _ = Reflect::set(&v, &"srcObject".into(), &s);
                        let _ = v.play();
                    }
                    stream.set_value(Some(s));
                }
                Err(e) => {
                    error.set(Some(e));
                    open.set(false);
                }
            }
        });
    };
    let close = move |_| {
        stream.with_value(|s| {
            s.as_ref().map(stop);
        });
        stream.set_value(None);
        open.set(false);
    };
    let snap = move |_| {
        let Some(v) = video.get_untracked() else {
            return;
        };
        shots.update_value(|n| *n += 1);
        let name = format!("webcam-{class_key}-{}.jpg", shots.get_value());
        wasm_bindgen_futures::spawn_local(async move {
            match capture(&v, name).await {
                Ok(file) => on_files(class_key, vec![file]),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    on_cleanup(move || {
        stream.with_value(|s| s.as_ref().map(stop));
    });
    view! {
        <div class="webcam">
            <Show when=move || open.get() fallback=move || view! {
                <button type="button" class="ghost small" data-testid="webcam" on:click=start>"Webcam"</button>
            }>
                <video node_ref=video class="webcam-preview" autoplay muted playsinline data-testid="webcam-preview"></video>
                <div class="webcam-actions">
                    <button type="button" class="primary small" data-testid="webcam-capture" on:click=snap>"Capture"</button>
                    <button type="button" class="ghost small" on:click=close>"Done"</button>
                </div>
            </Show>
            {move || error.get().map(|e| view! { <p class="error">{e}</p> })}
        </div>
    }
}
