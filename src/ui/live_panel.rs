//! Live mode: the camera stream classified continuously by the active model (ImageNet or the
//! person's), the top classes as bars and the Grad-CAM of the top one over the square the model
//! saw, at the rate the backend sustains (one frame in flight: `live.rs`). Stopping releases the
//! camera.

use leptos::html::{Canvas, Video};
use leptos::prelude::*;
use wasm_bindgen::JsValue;

use super::camera::{capture, open_camera, stop};
use super::client::use_client;
use super::files::read_file;
use super::heatmap;
use super::prediction_row::percent_text;

/// Waits `ms` milliseconds on the page's event loop.
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

fn percent(part: u32, whole: u32) -> String {
    format!("{:.3}%", f64::from(part) / f64::from(whole.max(1)) * 100.0)
}

#[component]
pub fn LivePanel() -> impl IntoView {
    let client = use_client();
    let (on, frames, answer, map, fps, error) = client.with_value(|c| {
        (
            c.live.on,
            c.live.frames,
            c.live.answer,
            c.live.heatmap,
            c.live.fps,
            c.live.error,
        )
    });
    let stream = StoredValue::new_local(None::<JsValue>);
    let video = NodeRef::<Video>::new();
    let canvas = NodeRef::<Canvas>::new();
    // Each start is a run; a frame loop ends when its run is no longer the current one.
    let runs = StoredValue::new(0u32);

    Effect::new(move |_| {
        if let (Some(canvas), Some(map)) = (canvas.get(), map.get())
            && let Err(message) = heatmap::draw(&canvas, &map)
        {
            log::warn!("live overlay: {message}");
        }
    });

    let frame_loop = move |run: u32| async move {
        let mut taken = 0u32;
        while runs.get_value() == run && on.get_untracked() {
            let Some(v) = video.get_untracked() else {
                return;
            };
            taken += 1;
            let bytes = match capture(&v, format!("live-{taken}.jpg")).await {
                Ok(file) => read_file(&file).await,
                Err(e) => Err(e),
            };
            // No picture yet (the camera is starting): look again shortly.
            let Ok(bytes) = bytes else {
                sleep(100).await;
                continue;
            };
            match client.with_value(|c| c.live_frame(bytes)) {
                Some(answered) => {
                    let _ = answered.await;
                }
                None => sleep(200).await,
            }
        }
    };
    let release = move || {
        runs.update_value(|r| *r += 1);
        stream.with_value(|s| {
            s.as_ref().map(stop);
        });
        stream.set_value(None);
        client.with_value(|c| c.live.stopped());
    };
    let start = move || {
        runs.update_value(|r| *r += 1);
        let run = runs.get_value();
        client.with_value(|c| c.live.started());
        wasm_bindgen_futures::spawn_local(async move {
            match open_camera().await {
                Ok(s) if runs.get_value() == run => {
                    if let Some(v) = video.get_untracked() {
                        let _ = js_sys::Reflect::set(&v, &"srcObject".into(), &s);
                        let _ = v.play();
                    }
                    stream.set_value(Some(s));
                    frame_loop(run).await;
                }
                // Stopped while the browser was asking: let the camera go at once.
                Ok(s) => stop(&s),
                Err(e) => {
                    release();
                    error.set(Some(e));
                }
            }
        });
    };
    on_cleanup(move || {
        stream.with_value(|s| s.as_ref().map(stop));
    });

    let top = move || answer.with(|a| a.as_ref().and_then(|a| a.predictions.first().cloned()));
    let crop_style = move || {
        answer.with(|a| {
            a.as_ref().map(|c| {
                format!(
                    "left: {}; top: {}; width: {}; height: {};",
                    percent(c.crop.x, c.width),
                    percent(c.crop.y, c.height),
                    percent(c.crop.side, c.width),
                    percent(c.crop.side, c.height)
                )
            })
        })
    };
    let known = move || {
        answer.with(|a| {
            a.as_ref()
                .and_then(|a| a.familiarity.map(|f| f.known().to_string()))
        })
    };
    view! {
        <section class="live" data-testid="live">
            <button type="button" class="ghost" data-testid="live-toggle" aria-pressed=move || on.get().to_string()
                on:click=move |_| if on.get_untracked() { release() } else { start() }>
                {move || if on.get() { "Stop the live camera" } else { "Live camera" }}
            </button>
            <Show when=move || on.get()>
                <div class="live-body">
                    <div class="live-view">
                        <video node_ref=video autoplay muted playsinline data-testid="live-video"></video>
                        <canvas node_ref=canvas class="live-heatmap" style=crop_style aria-hidden="true"
                            class:hidden=move || map.with(Option::is_none)></canvas>
                    </div>
                    <div class="live-result" data-testid="live-result" data-frames=move || frames.get().to_string()
                        data-label=move || top().map(|p| p.label) data-confidence=move || top().map(|p| p.confidence.to_string())
                        data-known=known>
                        {move || (known() == Some("false".into())).then(|| view! {
                            <p class="not-known">"None of your classes"</p>
                        })}
                        <ol class="live-predictions">
                            {move || answer.get().map(|a| a.predictions.into_iter().take(3).map(|p| view! {
                                <li>
                                    <span class="label">{p.label.clone()}</span>
                                    <meter min="0" max="1" value=p.confidence.to_string() aria-label=format!("{} confidence", p.label)></meter>
                                    <span class="pct">{percent_text(p.confidence)}</span>
                                </li>
                            }).collect_view())}
                        </ol>
                        <p class="timing" data-testid="live-fps" data-value=move || fps.get().map(|f| f.to_string())>
                            {move || match fps.get() {
                                Some(f) => format!("{f:.1} frames/s · {} answered", frames.get()),
                                None => format!("{} answered", frames.get()),
                            }}
                        </p>
                    </div>
                </div>
            </Show>
            {move || error.get().map(|e| view! { <p class="error" data-testid="live-error">{e}</p> })}
        </section>
    }
}
