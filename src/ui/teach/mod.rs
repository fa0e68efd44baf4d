//! The Teach panel: the person's classes, training settings, the live run and its report, and
//! the switch between the ImageNet model and the personal one.

mod bucket;
mod chart;
mod hosted_banner;
mod import_panel;
mod keep_panel;
mod report;
pub mod state;
mod webcam;
mod worth_labelling;

use leptos::prelude::*;

use super::backbone_comparison::BackboneComparison;
use super::client::use_client;
use crate::protocol::{BackendKind, TrainMode, TrainSettings};
use bucket::ClassBucket;
use chart::EpochChart;
use hosted_banner::HostedBanner;
use import_panel::{FolderImportPanel, on_panel_drop};
use keep_panel::KeepPanel;
use report::TrainingReport;
use state::TrainingState;

#[component]
pub fn ModelSelect() -> impl IntoView {
    let client = use_client();
    let (ready, personal, error) = client.with_value(|c| {
        (
            c.teach.personal_ready,
            c.teach.use_personal,
            c.teach.model_error,
        )
    });
    view! {
        <label class="model-select">
            <span>"Model"</span>
            <select data-testid="model-select" prop:value=move || if personal.get() { "personal" } else { "imagenet" }
                on:change=move |e| client.with_value(|c| c.use_personal_model(event_target_value(&e) == "personal"))>
                <option value="imagenet">"ImageNet (1000 classes)"</option>
                <option value="personal" disabled=move || !ready.get()>"My classes"</option>
            </select>
            {move || error.get().map(|e| view! { <span class="error">{e}</span> })}
        </label>
    }
}

#[component]
fn Settings(settings: RwSignal<TrainSettings>) -> impl IntoView {
    let number = move |e: &web_sys::Event| event_target_value(e).parse::<f64>().ok();
    view! {
        <details class="settings">
            <summary>"Advanced settings"</summary>
            <div class="settings-grid">
                <label>"Train"
                    <select data-testid="train-mode"
                        prop:value=move || if settings.get().mode == TrainMode::HeadAndBlocks { "blocks" } else { "head" }
                        on:change=move |e| settings.update(|s| s.mode = if event_target_value(&e) == "blocks" { TrainMode::HeadAndBlocks } else { TrainMode::HeadOnly })>
                        <option value="head">"the head only (fast)"</option>
                        <option value="blocks">"the head and the last blocks"</option>
                    </select>
                </label>
                <label>"Epochs"
                    <input type="number" min="1" max="500" data-testid="train-epochs" prop:value=move || settings.get().epochs.to_string()
                        on:change=move |e| if let Some(v) = number(&e) { settings.update(|s| s.epochs = v.clamp(1.0, 500.0) as usize) } />
                </label>
                <label>"Learning rate"
                    <input type="number" min="0.00001" max="1" step="0.0001" prop:value=move || settings.get().learning_rate.to_string()
                        on:change=move |e| if let Some(v) = number(&e) { settings.update(|s| s.learning_rate = v.clamp(1e-6, 1.0)) } />
                </label>
                <label>"Batch size"
                    <input type="number" min="1" max="256" prop:value=move || settings.get().batch_size.to_string()
                        on:change=move |e| if let Some(v) = number(&e) { settings.update(|s| s.batch_size = v.clamp(1.0, 256.0) as usize) } />
                </label>
                <label>"Validation share"
                    <input type="number" min="0.05" max="0.5" step="0.05" prop:value=move || settings.get().validation_share.to_string()
                        on:change=move |e| if let Some(v) = number(&e) { settings.update(|s| s.validation_share = v.clamp(0.05, 0.5)) } />
                </label>
                <label class="inline">
                    <input type="checkbox" prop:checked=move || settings.get().augmentation
                        on:change=move |e| settings.update(|s| s.augmentation = event_target_checked(&e)) />
                    "Augmentation (crops, flips, colour)"
                </label>
                <label class="inline">
                    <input type="checkbox" data-testid="train-auto" prop:checked=move || settings.get().auto
                        on:change=move |e| settings.update(|s| s.auto = event_target_checked(&e)) />
                    "Auto: search the head's settings first (24 trials, 3-fold)"
                </label>
                <label>"Seed"
                    <input type="number" min="0" prop:value=move || settings.get().seed.to_string()
                        on:change=move |e| if let Some(v) = number(&e) { settings.update(|s| s.seed = v.max(0.0) as u64) } />
                </label>
            </div>
        </details>
    }
}

#[component]
pub fn TeachPanel() -> impl IntoView {
    let client = use_client();
    let (classes, training, history, settings, ready, hosted) = client.with_value(|c| {
        (
            c.teach.classes,
            c.teach.training,
            c.teach.history,
            c.teach.settings,
            c.keeper.ready,
            c.keeper.hosted,
        )
    });
    // A hosted project is read-only until copied into the person's own work.
    let restored = Signal::derive(move || ready.get() && hosted.with(Option::is_none));
    let on_files = move |key, files| client.with_value(|c| c.add_examples(key, files));
    let on_remove_photo = move |id| client.with_value(|c| c.remove_example(id));
    let on_move_photo = move |id, to| client.with_value(|c| c.move_example(id, to));
    let on_remove_class = move |key| client.with_value(|c| c.remove_class(key));
    let removable = Signal::derive(move || classes.with(Vec::len) > 2);
    let waiting = client.with_value(|c| c.teach.waiting_to_train);
    let readiness = move || client.with_value(|c| c.teach.readiness());
    let running = move || matches!(training.get(), TrainingState::Running(_));
    let can_train =
        move || restored.get() && !running() && !waiting.get() && readiness().can_train();
    // Train pressed early: start as soon as the last photo is embedded (or has failed).
    Effect::new(move || {
        if waiting.get() && readiness().embedding_total() == 0 {
            client.with_value(|c| c.train_ready_now());
        }
    });
    // The epoch whose model was kept, marked on the chart once the run is done.
    let best_epoch = Signal::derive(move || {
        training.with(|t| match t {
            TrainingState::Done(s) if s.best_epoch > 0 => Some(s.best_epoch),
            _ => None,
        })
    });
    let state = move || match training.get() {
        _ if waiting.get() => "waiting",
        TrainingState::Idle => "idle",
        TrainingState::Running(_) => "running",
        TrainingState::Done(_) => "done",
        TrainingState::Failed(_) => "error",
    };
    let epoch = move || match training.get() {
        TrainingState::Running(p) => p.epoch.to_string(),
        TrainingState::Done(s) => s.history.len().to_string(),
        _ => "0".into(),
    };
    let trained_on = client.with_value(|c| c.teach.trained_on);
    let on_device = move || match trained_on.get() {
        Some(BackendKind::WebGpu) => " (on WebGPU)",
        Some(BackendKind::Cpu) => " (on the CPU)",
        None => "",
    };
    let progress_text = move || match training.get() {
        _ if waiting.get() => {
            let n = readiness().embedding_total();
            format!(
                "Waiting for {n} photo{} to be embedded; training starts when they are ready.",
                if n == 1 { "" } else { "s" }
            )
        }
        TrainingState::Idle => "Add photos to at least two classes, then train.".to_string(),
        TrainingState::Running(p) => format!(
            "{}: {} {} of {}{}",
            p.stage,
            if p.report.is_some() { "epoch" } else { "step" },
            p.epoch,
            p.epochs,
            on_device()
        ),
        TrainingState::Done(s) => format!(
            "Trained: {} epochs (best {}).",
            s.history.len(),
            s.best_epoch
        ),
        TrainingState::Failed(e) => format!("Training failed: {e}"),
    };
    let fraction = move || match training.get() {
        TrainingState::Running(p) if p.epochs > 0 => p.epoch as f64 / p.epochs as f64,
        TrainingState::Done(_) => 1.0,
        _ => 0.0,
    };
    view! {
        <section class="teach" aria-labelledby="teach-title"
            on:dragover=move |e: web_sys::DragEvent| e.prevent_default()
            on:drop=move |e: web_sys::DragEvent| on_panel_drop(client, &e)>
            <div class="teach-head">
                <h2 id="teach-title">"Teach it your own classes"</h2>
                <ModelSelect />
            </div>
            <p class="hint">"Give each class a name and a few photos (10 or more is best). Training runs on this device; the photos stay here."</p>
            <HostedBanner />
            <div inert=move || !restored.get()><FolderImportPanel /></div>
            // Edits wait until saved work is back, so nothing typed is overwritten by it.
            <div class="classes" inert=move || !restored.get() data-restored=move || restored.get().to_string()>
                // Keyed by the signals too: a restore or import brings new classes under old keys.
                <For each=move || classes.get() key=|c| (c.key, c.name) let:class>
                    {
                        let key = class.key;
                        let others = Signal::derive(move || classes.get().iter().filter(|c| c.key != key).map(|c| (c.key, c.name.get())).collect::<Vec<_>>());
                        view! { <ClassBucket class=class others=others on_files=on_files on_remove_photo=on_remove_photo
                            on_move_photo=on_move_photo on_remove_class=on_remove_class removable=removable /> }
                    }
                </For>
                <button type="button" class="add-class" data-testid="class-add" on:click=move |_| client.with_value(|c| { c.teach.add_class(); })>"+ Add a class"</button>
            </div>
            <Settings settings=settings />
            <div class="train-row">
                <button type="button" class="primary" data-testid="train" disabled=move || !can_train()
                    on:click=move |_| client.with_value(|c| c.train())>"Train"</button>
                <Show when=move || waiting.get() && readiness().can_start()>
                    <button type="button" class="ghost" data-testid="train-ready-now" on:click=move |_| client.with_value(|c| c.train_ready_now())>
                        {move || format!("Train on the {} ready photos now", readiness().ready_total())}
                    </button>
                </Show>
                <Show when=move || running() || waiting.get()>
                    <button type="button" class="ghost" data-testid="train-cancel" on:click=move |_| client.with_value(|c| c.cancel_training())>"Cancel"</button>
                </Show>
                <div class="train-progress" data-testid="train-progress" data-state=state data-epoch=epoch role="status"
                    data-device=move || trained_on.get().map(|kind| match kind { BackendKind::WebGpu => "webgpu", BackendKind::Cpu => "cpu" })>
                    <span>{progress_text}</span>
                    <progress max="1" value=move || fraction().to_string()></progress>
                </div>
            </div>
            <Show when=move || !history.with(Vec::is_empty)>
                <EpochChart history=history best_epoch=best_epoch />
            </Show>
            {move || match training.get() {
                TrainingState::Done(summary) => Some(view! { <TrainingReport summary=*summary /> }),
                _ => None,
            }}
            <BackboneComparison can_compare=Signal::derive(move || restored.get() && readiness().can_train()) />
            <KeepPanel />
        </section>
    }
}
