//! The photo at its own aspect, the square the model saw marked on it (the cropped-away margins
//! dimmed), and the saliency overlay drawn over exactly that square.

use leptos::html::Canvas;
use leptos::prelude::*;

use super::cards::Overlay;
use super::heatmap;
use crate::protocol::Classification;

/// Tallest a photo is drawn in a card, in CSS pixels.
const MAX_PHOTO_HEIGHT: f64 = 260.0;

fn percent(part: u32, whole: u32) -> String {
    format!("{:.3}%", f64::from(part) / f64::from(whole.max(1)) * 100.0)
}

#[component]
pub fn PhotoView(
    thumbnail: String,
    name: String,
    /// The classification, once there is one: it gives the aspect and the crop.
    #[prop(into)]
    geometry: Signal<Option<Classification>>,
    overlay: RwSignal<Overlay>,
    #[prop(into)] opacity: Signal<f64>,
    #[prop(into)] show_overlay: Signal<bool>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let broken = RwSignal::new(false);

    // Repaint whenever the map to show changes.
    Effect::new(move |_| {
        let map = overlay.with(|o| o.current().cloned());
        if let (Some(canvas), Some(map)) = (canvas.get(), map)
            && let Err(message) = heatmap::draw(&canvas, &map)
        {
            log::warn!("saliency overlay: {message}");
        }
    });

    let frame_style = move || {
        geometry.with(|g| match g {
            Some(c) => {
                let (w, h) = (f64::from(c.width.max(1)), f64::from(c.height.max(1)));
                format!(
                    "aspect-ratio: {w} / {h}; width: min(100%, {:.1}px);",
                    MAX_PHOTO_HEIGHT * w / h
                )
            }
            None => "aspect-ratio: 4 / 3; width: 100%;".to_string(),
        })
    };
    let crop_style = move || {
        geometry.with(|g| {
            g.as_ref().map(|c| {
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
    let method = move || overlay.with(|o| o.current().map(|m| m.method.id()));
    let class_index = move || overlay.with(|o| o.current().map(|m| m.class_index.to_string()));
    let has_map = move || overlay.with(|o| o.current().is_some());
    let map_ms = move || overlay.with(|o| o.current().map(|m| format!("{:.1}", m.elapsed_ms)));

    view! {
        <div class="photo" class:pending=move || geometry.with(Option::is_none) style=frame_style>
            <Show when=move || !broken.get()
                fallback=|| view! { <div class="no-thumb" aria-hidden="true">"?"</div> }>
                <img src=thumbnail.clone() alt=name.clone() loading="lazy" decoding="async"
                    on:error=move |_| broken.set(true) />
            </Show>
            <Show when=move || geometry.with(Option::is_some)>
                <div class="crop-frame" style=crop_style title="The square the model saw; the dimmed margins were cropped away">
                    <canvas node_ref=canvas class="saliency" data-testid="saliency"
                        data-method=method data-class-index=class_index data-elapsed-ms=map_ms
                        class:hidden=move || !(show_overlay.get() && has_map())
                        style:opacity=move || opacity.get().to_string()
                        aria-label="Saliency overlay: warmer colours drove the answer more"></canvas>
                    <Show when=move || overlay.with(Overlay::computing)>
                        <span class="overlay-busy" aria-label="Computing the overlay"></span>
                    </Show>
                </div>
            </Show>
        </div>
    }
}
