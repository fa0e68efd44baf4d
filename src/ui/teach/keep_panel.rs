//! "Your work": what is stored on this device, export (a project file, or the network for other
//! tools), import, and clearing everything.

use leptos::prelude::*;

use crate::ui::client::use_client;
use crate::ui::keep::ImportState;

fn megabytes(bytes: f64) -> String {
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else {
        format!("{:.1} MB", bytes / 1e6)
    }
}

#[component]
pub fn KeepPanel() -> impl IntoView {
    let client = use_client();
    let (keeper_error, usage, persisted, import, export_error, personal_ready, hosted) = client
        .with_value(|c| {
            (
                c.keeper.error,
                c.keeper.usage.estimate,
                c.keeper.persisted,
                c.keeper.import,
                c.keeper.export_error,
                c.teach.personal_ready,
                c.keeper.hosted,
            )
        });
    // The visitor's own work is not touched while a hosted project is shown.
    let own_work = move || hosted.with(Option::is_none);
    let include_photos = RwSignal::new(true);
    let confirm_clear = RwSignal::new(false);
    let usage_text = move || match usage.get() {
        Some(usage) => format!(
            "{} of {} available{}",
            match usage.work {
                Some(work) => format!(
                    "Your work takes {} on this device, the offline copy of Glimpse {}",
                    megabytes(work),
                    megabytes((usage.total - work).max(0.0))
                ),
                None => format!("Glimpse stores {} on this device", megabytes(usage.total)),
            },
            megabytes(usage.quota),
            match persisted.get() {
                Some(true) => ", kept until you clear it",
                Some(false) => "; the browser may clear it if the disk runs low",
                None => "",
            }
        ),
        None => "Stored on this device: measuring…".into(),
    };
    view! {
        <section class="keep" aria-labelledby="keep-title">
            <h3 id="keep-title">"Your work"</h3>
            <p class="storage" data-testid="storage-used" data-bytes=move || usage.get().map(|u| u.work.unwrap_or(u.total).to_string()).unwrap_or_default()>
                {usage_text}
            </p>
            {move || keeper_error.get().map(|e| view! { <p class="error" data-testid="keep-error" role="alert">{e}</p> })}
            <div class="keep-actions">
                <button type="button" data-testid="export" on:click=move |_| client.with_value(|c| c.keeper.export_project(include_photos.get_untracked()))>
                    "Export project"
                </button>
                <label class="inline">
                    <input type="checkbox" data-testid="export-photos" prop:checked=move || include_photos.get()
                        on:change=move |e| include_photos.set(event_target_checked(&e)) />
                    "with the training photos"
                </label>
                <button type="button" data-testid="export-network" disabled=move || !personal_ready.get()
                    title="The whole network as safetensors with a JSON config, for Burn or other tools"
                    on:click=move |_| client.with_value(|c| c.keeper.export_network())>
                    "Export model for other tools"
                </button>
                <button type="button" data-testid="export-onnx" disabled=move || !personal_ready.get()
                    title="The whole network as one ONNX file (probabilities out), for ONNX Runtime and other runtimes"
                    on:click=move |_| client.with_value(|c| c.keeper.export_onnx())>
                    "Export ONNX"
                </button>
                <Show when=own_work>
                    <label class="button" for="import-input">"Import…"</label>
                    <input id="import-input" class="visually-hidden" type="file" accept=".zip,application/zip" data-testid="import-input"
                        on:change=move |e| {
                            let input: web_sys::HtmlInputElement = event_target(&e);
                            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                                client.with_value(|c| c.keeper.import_file(file));
                            }
                            input.set_value("");
                        } />
                    <button type="button" class="ghost danger" data-testid="clear-all" on:click=move |_| confirm_clear.set(true)>
                        "Clear everything"
                    </button>
                </Show>
            </div>
            {move || export_error.get().map(|e| view! { <p class="error" data-testid="export-error" role="alert">{format!("Export failed: {e}")}</p> })}
            <Show when=move || confirm_clear.get()>
                <div class="confirm" role="alertdialog" aria-label="Clear everything">
                    <span>"Delete all classes, photos and the trained model from this device? This cannot be undone (export first to keep a copy)."</span>
                    <button type="button" class="danger" data-testid="clear-all-confirm"
                        on:click=move |_| { confirm_clear.set(false); client.with_value(|c| c.keeper.clear_everything()); }>"Delete everything"</button>
                    <button type="button" class="ghost" data-testid="clear-all-cancel" on:click=move |_| confirm_clear.set(false)>"Keep"</button>
                </div>
            </Show>
            {move || match import.get() {
                ImportState::Idle => None,
                ImportState::Checking => Some(view! { <p data-testid="import-status" data-state="checking">"Checking the file…"</p> }.into_any()),
                ImportState::Confirm(what) => Some(view! {
                    <div class="confirm" role="alertdialog" aria-label="Replace your work">
                        <span>{format!("The file holds {what}. Importing replaces your current classes, photos and model.")}</span>
                        <button type="button" class="danger" data-testid="import-confirm"
                            on:click=move |_| client.with_value(|c| c.keeper.confirm_import(what.clone()))>"Replace"</button>
                        <button type="button" class="ghost" data-testid="import-cancel" on:click=move |_| client.with_value(|c| c.keeper.cancel_import())>"Cancel"</button>
                    </div>
                }.into_any()),
                ImportState::Done(text) => Some(view! { <p data-testid="import-status" data-state="done">{text}</p> }.into_any()),
                ImportState::Failed(e) => Some(view! {
                    <p class="error" data-testid="import-error" role="alert">{format!("This file cannot be imported: {e}. Nothing was changed.")}</p>
                }.into_any()),
            }}
        </section>
    }
}
