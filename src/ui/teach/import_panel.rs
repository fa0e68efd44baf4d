//! Importing photos already sorted into folders: pick a folder or a zip (or drop either on the
//! Teach panel), follow the reading and embedding, cancel, and read what went where.

use leptos::prelude::*;

use crate::formats::folder_import::{ImportReport, Skip};
use crate::ui::client::{Client, use_client};
use crate::ui::files::files_of;
use crate::ui::folder_import::{ImportPhase, ImportSource, dropped_folders, dropped_sources};

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A drop on the Teach panel outside a class: folders and zips are imported (a class takes plain
/// photos itself and marks the event handled).
pub fn on_panel_drop(client: Client, event: &web_sys::DragEvent) {
    if event.default_prevented() {
        return;
    }
    event.prevent_default();
    let Some(entries) = event.data_transfer().as_ref().and_then(dropped_folders) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let sources = dropped_sources(entries).await;
        client.with_value(|c| c.import_folder(sources));
    });
}

fn skip_kind(reason: &Skip) -> &'static str {
    match reason {
        Skip::NotAPhoto => "not-a-photo",
        Skip::TooLarge { .. } => "too-large",
        Skip::DuplicateOf(_) | Skip::AlreadyIn(_) => "duplicate",
        Skip::TooManyClasses => "too-many-classes",
        Skip::Unreadable(_) => "unreadable",
    }
}

#[component]
fn ImportSummary(report: ImportReport, cancelled: bool) -> impl IntoView {
    let client = use_client();
    let added = report.added();
    let headline = format!(
        "{}{} into {}.",
        if cancelled {
            "Cancelled. Kept "
        } else {
            "Imported "
        },
        plural(added, "photo", "photos"),
        plural(report.classes.len(), "class", "classes"),
    );
    let ignored = (report.ignored > 0).then(|| {
        format!(
            "Left out {} that operating systems add to folders (__MACOSX, hidden files).",
            plural(report.ignored, "file", "files")
        )
    });
    let skipped = report.skipped.len();
    view! {
        <div class="folder-import-summary" data-testid="folder-import-summary" data-added=added.to_string()
            data-skipped=skipped.to_string() data-cancelled=cancelled.to_string() role="status">
            <p>{headline}
                <button type="button" class="ghost small" aria-label="Dismiss"
                    on:click=move |_| client.with_value(|c| c.dismiss_folder_import())>"×"</button>
            </p>
            <ul class="import-classes">
                {report.classes.into_iter().map(|class| view! {
                    <li data-testid="folder-import-class" data-class-name=class.name.clone() data-added=class.added.to_string()
                        data-new=class.new.to_string()>
                        {format!("{}: {}{}", class.name, plural(class.added, "photo", "photos"),
                            if class.new { " (new class)" } else { " added" })}
                    </li>
                }).collect_view()}
            </ul>
            {ignored.map(|text| view! { <p class="hint">{text}</p> })}
            <Show when=move || skipped != 0>
                <details class="folder-import-skipped" open=skipped <= 10>
                    <summary>{format!("Skipped {}", plural(skipped, "file", "files"))}</summary>
                    <ul>
                        {report.skipped.iter().map(|s| view! {
                            <li data-testid="folder-import-skipped" data-file-name=s.path.clone() data-reason=skip_kind(&s.reason)>
                                {format!("{}: {}", s.path, s.reason)}
                            </li>
                        }).collect_view()}
                    </ul>
                </details>
            </Show>
        </div>
    }
}

#[component]
pub fn FolderImportPanel() -> impl IntoView {
    let client = use_client();
    let phase = client.with_value(|c| c.folder_import.phase);
    let embedding = move || client.with_value(|c| c.folder_import.embedding());
    let reading = move || matches!(phase.get(), ImportPhase::Reading { .. });
    let state = move || match phase.get() {
        ImportPhase::Idle => "idle",
        ImportPhase::Reading { .. } => "reading",
        ImportPhase::Done {
            cancelled: true, ..
        } => "cancelled",
        ImportPhase::Done { .. } if embedding().1 > 0 => "embedding",
        ImportPhase::Done { .. } => "done",
        ImportPhase::Failed(_) => "error",
    };
    let read = move || match phase.get() {
        ImportPhase::Reading { done, total } => (done, total),
        _ => (0, 0),
    };
    let progress_text = move || {
        let (ready, left) = embedding();
        match phase.get() {
            ImportPhase::Reading { done, total } => format!("Reading {done} of {total} files…"),
            _ if left > 0 => format!("Embedding {ready} of {} photos…", ready + left),
            _ => String::new(),
        }
    };
    let pick = move |source: ImportSource| client.with_value(|c| c.import_folder(vec![source]));
    view! {
        <div class="folder-import" data-testid="folder-import">
            <span class="hint">"Photos already sorted into one folder per class?"</span>
            <label class="ghost" for="folder-input">"Import a folder"</label>
            <input id="folder-input" class="visually-hidden" type="file" multiple prop:webkitdirectory=true data-testid="folder-input"
                disabled=reading
                on:change=move |e| {
                    let input: web_sys::HtmlInputElement = event_target(&e);
                    pick(ImportSource::Picked(files_of(input.files())));
                    input.set_value("");
                } />
            <label class="ghost" for="folder-zip-input">"Import a zip"</label>
            <input id="folder-zip-input" class="visually-hidden" type="file" accept=".zip,application/zip" data-testid="folder-zip-input"
                disabled=reading
                on:change=move |e| {
                    let input: web_sys::HtmlInputElement = event_target(&e);
                    if let Some(file) = files_of(input.files()).into_iter().next() { pick(ImportSource::Zip(file)) }
                    input.set_value("");
                } />
            <span class="drop-note">"or drop a folder or a zip on this panel"</span>
            <Show when=move || matches!(state(), "reading" | "embedding")>
                <div class="folder-import-progress" data-testid="folder-import-progress" data-state=state role="status"
                    data-read=move || read().0.to_string() data-total=move || read().1.to_string()
                    data-embedded=move || embedding().0.to_string()>
                    <span>{progress_text}</span>
                    <progress max="1" value=move || {
                        let (ready, left) = embedding();
                        match phase.get() {
                            ImportPhase::Reading { done, total } if total > 0 => done as f64 / total as f64,
                            _ if ready + left > 0 => ready as f64 / (ready + left) as f64,
                            _ => 0.0,
                        }.to_string()
                    }></progress>
                    <button type="button" class="ghost small" data-testid="folder-import-cancel"
                        on:click=move |_| client.with_value(|c| c.cancel_folder_import())>"Cancel"</button>
                </div>
            </Show>
            {move || match phase.get() {
                ImportPhase::Done { report, cancelled } => Some(view! { <ImportSummary report cancelled /> }.into_any()),
                ImportPhase::Failed(message) => Some(view! {
                    <p class="error" data-testid="folder-import-error" role="alert">{message}</p>
                }.into_any()),
                _ => None,
            }}
        </div>
    }
}
