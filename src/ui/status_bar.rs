//! Model status (`model-status`, with a progress bar while the weights load) and the backend
//! that runs the model (`backend`), with the backend race's figures and verdict.

use leptos::prelude::*;

use super::backend_race::{RaceState, describe};
use super::client::ModelStatus;
use crate::protocol::{BackendInfo, BackendKind};

fn backend_text(backend: &BackendInfo) -> String {
    let kind = match backend.kind {
        BackendKind::WebGpu => "WebGPU",
        BackendKind::Cpu => "CPU",
    };
    let software = if backend.software {
        " (software adapter)"
    } else {
        ""
    };
    format!("{kind} · {}{software}", backend.adapter)
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

#[component]
pub fn StatusBar(
    status: RwSignal<ModelStatus>,
    race: RwSignal<RaceState>,
    workers: RwSignal<usize>,
) -> impl IntoView {
    let state = move || match status.get() {
        ModelStatus::Loading { .. } => "loading",
        ModelStatus::Ready { .. } => "ready",
        ModelStatus::Failed(_) => "error",
    };
    let detail = move || match status.get() {
        ModelStatus::Loading {
            loaded,
            total: Some(total),
        } if loaded < total => {
            format!(
                "Loading the model: {} of {}",
                megabytes(loaded),
                megabytes(total)
            )
        }
        ModelStatus::Loading {
            loaded,
            total: None,
        } if loaded > 0 => {
            format!("Loading the model: {}", megabytes(loaded))
        }
        ModelStatus::Loading { .. } => "Preparing the model…".to_string(),
        ModelStatus::Ready { load_ms, .. } => format!("Model ready in {:.1} s", load_ms / 1000.0),
        ModelStatus::Failed(message) => format!("The model could not load: {message}"),
    };
    let progress = move || match status.get() {
        ModelStatus::Loading {
            loaded,
            total: Some(total),
        } if total > 0 => Some(loaded as f64 / total as f64),
        _ => None,
    };
    let backend = move || match status.get() {
        ModelStatus::Ready { backend, .. } => Some(backend),
        _ => None,
    };
    let verdict = move || match race.get() {
        RaceState::Decided { verdict, .. } => Some(verdict),
        _ => None,
    };
    let race_text = move || race.with(describe);
    view! {
        <div class="status" data-testid="model-status" data-state=state role="status">
            <span class="dot" aria-hidden="true"></span>
            <span class="status-text">{detail}</span>
            <Show when=move || matches!(status.get(), ModelStatus::Loading { .. })>
                <progress class="load" max="1" value=move || progress().map(|p| p.to_string())
                    aria-label="Model download progress"></progress>
            </Show>
        </div>
        <div class="backend" data-testid="backend"
            data-kind=move || backend().map(|b| match b.kind { BackendKind::WebGpu => "webgpu", BackendKind::Cpu => "cpu" })
            data-software=move || backend().map(|b| b.software.to_string())
            data-race=move || race_text().0
            data-cpu-ms=move || verdict().map(|v| format!("{:.1}", v.cpu_ms))
            data-webgpu-ms=move || verdict().and_then(|v| v.webgpu_ms).map(|ms| format!("{ms:.1}"))
            data-workers=move || workers.get()>
            {move || match backend() {
                Some(b) => backend_text(&b),
                None => "Backend: starting…".to_string(),
            }}
            {move || (workers.get() > 1).then(|| view! {
                <span class="workers">{format!(" · {} CPU workers", workers.get())}</span>
            })}
            {move || race_text().1.map(|figures| view! {
                <span class="race" data-testid="backend-race">{format!(" — {figures}")}</span>
            })}
            {move || race_text().2.map(|reason| view! {
                <span class="fallback" data-testid="backend-reason">{format!(" — {reason}")}</span>
            })}
        </div>
    }
}
