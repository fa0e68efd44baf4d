//! The page: Leptos components that talk to the engine only through `client` (the protocol).

mod add_to_class;
mod backbone_compare;
mod backbone_comparison;
mod backbone_picker;
mod backbone_switch;
mod backend_race;
mod bench_hook;
mod camera;
mod cards;
mod client;
mod drop_zone;
mod files;
mod folder_import;
mod heatmap;
mod keep;
mod link;
mod live;
mod live_panel;
mod next_task;
mod offline;
mod photo_ids;
mod photo_view;
mod pool;
mod prediction_row;
mod recovery;
mod remote;
mod result_card;
mod status_bar;
mod teach;

use leptos::prelude::*;

use crate::protocol::BackendChoice;
use backbone_picker::BackbonePicker;
use client::{EngineClient, ModelStatus};
use drop_zone::DropZone;
use files::pasted_files;
use live_panel::LivePanel;
use offline::{Offline, UpdateBanner};
use result_card::ResultCard;
use status_bar::StatusBar;
use teach::TeachPanel;

/// Called by the app binary.
pub fn mount() {
    console_error_panic_hook::set_once();
    let _ = console_log::init_with_level(log::Level::Info);
    // The benchmark's first-prediction split starts the engine's part here.
    client::mark("glimpse-app-start");
    leptos::mount::mount_to_body(App);
    client::mark("glimpse-app-mounted");
}

fn backend_from_url() -> BackendChoice {
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
        .and_then(|params| params.get("backend"));
    BackendChoice::from_query(query.as_deref())
}

#[component]
fn App() -> impl IntoView {
    let client = StoredValue::new_local(EngineClient::start(backend_from_url()));
    // The components below reach the page's state through the context (`use_client`).
    provide_context(client);
    let status = client.with_value(|c| c.status);
    let notice = client.with_value(|c| c.notice);
    let cards = client.with_value(|c| c.cards.cards);
    let race = client.with_value(|c| c.race_state);
    let workers = client.with_value(|c| c.pool.working);
    let backbone = client.with_value(|c| c.backbone.current);

    // Pasting an image anywhere on the page adds it, like dropping it.
    let paste = window_event_listener(leptos::ev::paste, move |event| {
        let files = pasted_files(&event);
        if !files.is_empty() {
            event.prevent_default();
            client.with_value(|c| c.add_files(files));
        }
    });
    on_cleanup(move || paste.remove());

    let add_files = move |files| client.with_value(|c| c.add_files(files));
    let clear = move |_| client.with_value(|c| c.clear());
    let export_results = move |_| client.with_value(|c| c.export_results());
    let explain = move |id, choice| client.with_value(|c| c.explain(id, choice));

    // Cache the site for offline use once the model has loaded (or failed to).
    let offline = Offline::new();
    Effect::new(move |registered: Option<bool>| {
        if registered == Some(true) {
            return true;
        }
        let settled = !matches!(status.get(), ModelStatus::Loading { .. });
        if settled {
            offline.register();
        }
        settled
    });

    view! {
        <UpdateBanner offline=offline />
        <header class="top">
            <div class="brand">
                <span class="logo" aria-hidden="true"></span>
                <h1>"Glimpse"</h1>
                <p class="tagline">"Private image classification. Your photos never leave this device."</p>
            </div>
            <StatusBar status=status race=race workers=workers />
            <BackbonePicker />
        </header>
        <main>
            {move || notice.get().map(|text| view! {
                <div class="engine-notice" data-testid="engine-notice" role="status">
                    <span>{text}</span>
                    <button type="button" class="ghost small" aria-label="Dismiss" on:click=move |_| notice.set(None)>"×"</button>
                </div>
            })}
            <DropZone on_files=add_files />
            <LivePanel />
            <Show when=move || !cards.with(Vec::is_empty)>
                <div class="results-bar">
                    <h2>{move || format!("{} photo{}", cards.with(Vec::len), if cards.with(Vec::len) == 1 { "" } else { "s" })}</h2>
                    <div class="results-actions">
                        <button type="button" class="ghost" data-testid="export-results" on:click=export_results>"Export results (CSV)"</button>
                        <button type="button" class="ghost" data-testid="clear-results" on:click=clear>"Clear"</button>
                    </div>
                </div>
            </Show>
            <section class="results" aria-live="polite">
                <For each=move || cards.get() key=|card| card.id let:card>
                    <ResultCard card=card explain=explain />
                </For>
            </section>
            <TeachPanel />
        </main>
        <footer>
            {move || format!("{} (ImageNet-1k) running in your browser with Burn. ", backbone.get())}
            "Nothing is uploaded. "
            <span data-testid="offline-ready" data-ready=move || offline.ready.get().to_string()>
                {move || if offline.ready.get() { "Ready to work offline." } else { "" }}
            </span>
        </footer>
    }
}
