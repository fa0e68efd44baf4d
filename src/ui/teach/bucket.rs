//! One class of the person's own: its name, its photos (drop, pick; remove or move each) and how
//! many it has.

use leptos::prelude::*;

use super::state::{ExampleState, TeachClass};
use super::webcam::WebcamCapture;
use crate::ui::files::files_of;
use crate::ui::folder_import::dropped_folders;

/// Thumbnails a class shows before "Show more": a class of thousands of photos would otherwise
/// put thousands of images (each with its buttons) in the page.
const SHOWN_AT_FIRST: usize = 60;
/// Thumbnails each "Show more" adds.
const SHOWN_MORE: usize = 240;

#[component]
pub fn ClassBucket(
    class: TeachClass,
    #[prop(into)] others: Signal<Vec<(u32, String)>>,
    on_files: impl Fn(u32, Vec<web_sys::File>) + Copy + Send + Sync + 'static,
    on_remove_photo: impl Fn(u32) + Copy + Send + Sync + 'static,
    on_move_photo: impl Fn(u32, u32) + Copy + Send + Sync + 'static,
    on_remove_class: impl Fn(u32) + Copy + Send + Sync + 'static,
    #[prop(into)] removable: Signal<bool>,
) -> impl IntoView {
    let TeachClass {
        key,
        name,
        photos,
        tally,
    } = class;
    let dragging = RwSignal::new(false);
    // Photos the model could not use are listed with their reason, not counted.
    let count = Memo::new(move |_| tally.with(|t| t.usable()));
    let embedding = Memo::new(move |_| tally.with(|t| t.embedding));
    // The lists below follow the photos themselves only when a photo is added, taken out or
    // fails, not on each photo embedded: that would go through every photo of the class each time.
    let failures = Memo::new(move |_| tally.with(|t| t.failed));
    let shown = RwSignal::new(SHOWN_AT_FIRST);
    let usable = move || {
        failures.track();
        let shown = shown.get();
        photos.with(|p| {
            p.iter()
                .filter(|p| !matches!(p.state.get_untracked(), ExampleState::Failed(_)))
                .take(shown)
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let hidden = move || count.get().saturating_sub(shown.get());
    let failed = move || {
        if failures.get() == 0 {
            return Vec::new();
        }
        photos.with(|p| {
            p.iter()
                .filter_map(|p| match p.state.get_untracked() {
                    ExampleState::Failed(e) => Some((p.id, p.name.clone(), e)),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
    };
    let input_id = format!("class-file-input-{key}");
    view! {
        <div class="class" class:dragging=move || dragging.get() data-testid="class" data-class-name=move || name.get()
            on:dragover=move |e: web_sys::DragEvent| { e.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |e: web_sys::DragEvent| {
                dragging.set(false);
                // Folders and zips are imported by the panel (each subfolder a class).
                if e.data_transfer().as_ref().and_then(dropped_folders).is_some() {
                    return;
                }
                e.prevent_default();
                on_files(key, files_of(e.data_transfer().and_then(|d| d.files())));
            }>
            <div class="class-head">
                <input class="class-name" data-testid="class-name-input" aria-label="Class name"
                    prop:value=move || name.get() on:input=move |e| name.set(event_target_value(&e)) />
                // Photos still being embedded are counted but said to be so: the model cannot
                // learn from them yet.
                <span class="class-count" data-testid="class-count" data-value=move || count.get().to_string()
                    data-ready=move || (count.get() - embedding.get()).to_string()>
                    {move || format!("{} photo{}", count.get(), if count.get() == 1 { "" } else { "s" })}
                    {move || (embedding.get() > 0).then(|| format!(" ({} embedding)", embedding.get()))}
                </span>
                <Show when=move || removable.get()>
                    <button type="button" class="ghost small" title="Remove this class"
                        on:click=move |_| on_remove_class(key)>"Remove"</button>
                </Show>
            </div>
            <ul class="class-photos">
                <For each=usable key=|p| p.id let:photo>
                    {
                        let id = photo.id;
                        let state = photo.state;
                        view! {
                            <li class="class-photo" data-state=move || match state.get() {
                                    ExampleState::Embedding => "embedding",
                                    ExampleState::Ready => "ready",
                                    ExampleState::Failed(_) => "error",
                                }
                                title=move || match state.get() {
                                    ExampleState::Failed(e) => format!("{}: can't use this file: {e}", photo.name),
                                    _ => photo.name.clone(),
                                }>
                                <img src=photo.thumbnail.clone() alt="" loading="lazy" decoding="async" />
                                <button type="button" class="remove" aria-label="Remove this photo"
                                    on:click=move |_| on_remove_photo(id)>"×"</button>
                                <select class="move" aria-label="Move to another class" on:change=move |e| {
                                    if let Ok(to) = event_target_value(&e).parse::<u32>() { on_move_photo(id, to) }
                                }>
                                    <option value="" selected>"⇄"</option>
                                    {move || others.get().into_iter().map(|(k, n)| view! { <option value=k.to_string()>{n}</option> }).collect_view()}
                                </select>
                            </li>
                        }
                    }
                </For>
            </ul>
            <Show when=move || { hidden() > 0 }>
                <button type="button" class="ghost small show-more" data-testid="class-show-more" data-hidden=move || hidden().to_string()
                    on:click=move |_| shown.update(|n| *n += SHOWN_MORE)>
                    {move || format!("Show more ({} not shown)", hidden())}
                </button>
            </Show>
            <ul class="photo-errors">
                <For each=failed key=|(id, _, _)| *id let:item>
                    {
                        let (id, name, error) = item;
                        view! {
                            <li data-testid="class-photo-error" data-file-name=name.clone() role="alert">
                                <span>{format!("Can't use {name}: {error}")}</span>
                                <button type="button" class="ghost small" aria-label="Dismiss"
                                    on:click=move |_| on_remove_photo(id)>"×"</button>
                            </li>
                        }
                    }
                </For>
            </ul>
            <label class="add-photos" for=input_id.clone()>"+ Add photos"</label>
            <input id=input_id class="visually-hidden" type="file" multiple accept="image/*" data-testid="class-file-input"
                on:change=move |e| {
                    let input: web_sys::HtmlInputElement = event_target(&e);
                    on_files(key, files_of(input.files()));
                    input.set_value("");
                } />
            <span class="drop-note">"or drop photos here"</span>
            <WebcamCapture class_key=key on_files=on_files />
        </div>
    }
}
