//! Where photos come in: drop them, pick them (`file-input`, keyboard reachable) or paste them.

use leptos::prelude::*;

use super::files::files_of;

#[component]
pub fn DropZone(on_files: impl Fn(Vec<web_sys::File>) + Clone + 'static) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let on_drop = {
        let on_files = on_files.clone();
        move |event: web_sys::DragEvent| {
            event.prevent_default();
            dragging.set(false);
            on_files(files_of(event.data_transfer().and_then(|d| d.files())));
        }
    };
    let on_pick = move |event: web_sys::Event| {
        let input: web_sys::HtmlInputElement = event_target(&event);
        on_files(files_of(input.files()));
        // Let the same file be picked again.
        input.set_value("");
    };
    view! {
        <div class="drop-zone" class:dragging=move || dragging.get() data-testid="drop-zone"
            on:dragover=move |event: web_sys::DragEvent| { event.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop>
            <input id="file-input" class="visually-hidden" type="file" multiple accept="image/*"
                data-testid="file-input" on:change=on_pick />
            <div class="drop-icon" aria-hidden="true"></div>
            <p class="drop-title">"Drop photos here"</p>
            <p class="drop-hint">
                "or " <label for="file-input" class="pick">"choose photos"</label>
                ", or paste an image. JPEG, PNG, WebP, GIF and BMP; as many as you like."
            </p>
        </div>
    }
}
