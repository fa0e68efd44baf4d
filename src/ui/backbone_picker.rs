//! The backbone choice (`backbone-select`): each network with its download size, its published
//! ImageNet top-1 and the time per photo measured on this machine's backend; while a change
//! runs, its progress (`backbone-progress`, `backbone-status`) and a cancel button
//! (`backbone-cancel`); why a change failed (`backbone-error`).

use leptos::prelude::*;

use super::backbone_switch::{SwitchState, backend_id};
use super::client::{ModelStatus, use_client};
use crate::formats::backbone::Backbone;
use crate::protocol::BackendKind;

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

fn backend_name(kind: BackendKind) -> &'static str {
    match kind {
        BackendKind::Cpu => "CPU",
        BackendKind::WebGpu => "WebGPU",
    }
}

#[component]
pub fn BackbonePicker() -> impl IntoView {
    let client = use_client();
    let switch = client.with_value(|c| c.backbone.clone());
    let status = client.with_value(|c| c.status);
    let (current, state, latency) = (switch.current, switch.state, switch.latency);
    let kind = move || match status.get() {
        ModelStatus::Ready { backend, .. } => Some(backend.kind),
        _ => None,
    };
    let measured = move |backbone: Backbone| {
        let kind = kind()?;
        latency.with(|log| log.median(backbone, backend_id(kind)).map(|m| (kind, m)))
    };
    let label = move |backbone: Backbone| {
        let here = match measured(backbone) {
            Some((kind, (ms, photos))) => format!(
                "{ms:.0} ms per photo here ({}, {photos} photo{})",
                backend_name(kind),
                if photos == 1 { "" } else { "s" }
            ),
            None => "not timed here yet".to_string(),
        };
        format!(
            "{} · {} · ImageNet top-1 {:.1}% · {here}",
            backbone.name(),
            megabytes(backbone.weights_bytes()),
            backbone.imagenet_top1()
        )
    };
    let shown = move || {
        state
            .with(SwitchState::target)
            .unwrap_or_else(|| current.get())
            .id()
    };
    let state_name = move || match state.get() {
        SwitchState::Idle => "idle",
        SwitchState::Loading { .. } => "loading",
        SwitchState::Embedding { .. } => "embedding",
        SwitchState::Finishing { .. } => "finishing",
        SwitchState::Failed(_) => "failed",
    };
    let progress = move || match state.get() {
        SwitchState::Loading {
            to,
            loaded,
            total: Some(total),
        } if total > 0 => Some((
            loaded as f64 / total as f64,
            format!(
                "Downloading {to}: {} of {}",
                megabytes(loaded),
                megabytes(total)
            ),
        )),
        SwitchState::Loading { to, .. } => Some((0.0, format!("Loading {to}…"))),
        SwitchState::Embedding { to, done, total } => Some((
            if total == 0 {
                1.0
            } else {
                done as f64 / total as f64
            },
            format!("Embedding your photos with {to}: {done} of {total}"),
        )),
        SwitchState::Finishing { to } => Some((1.0, format!("Keeping the photos under {to}…"))),
        SwitchState::Idle | SwitchState::Failed(_) => None,
    };
    let error = move || match state.get() {
        SwitchState::Failed(message) => Some(message),
        _ => None,
    };
    let choose = move |event: leptos::ev::Event| {
        if let Some(backbone) = Backbone::parse(&event_target_value(&event)) {
            client.with_value(|c| c.choose_backbone(backbone));
        }
    };
    let cancel = move |_| client.with_value(|c| c.cancel_backbone_switch());
    view! {
        <div class="backbone" data-testid="backbone" data-current=move || current.get().id()
            data-state=state_name>
            <label for="backbone-select">"Network"</label>
            <select id="backbone-select" data-testid="backbone-select" prop:value=shown on:change=choose>
                {Backbone::ALL.into_iter().map(|backbone| view! {
                    <option value=backbone.id() selected=move || shown() == backbone.id()
                        data-bytes=backbone.weights_bytes().to_string()
                        data-top1=backbone.imagenet_top1().to_string()
                        data-latency-ms=move || measured(backbone).map(|(_, (ms, _))| format!("{ms:.1}"))>
                        {move || label(backbone)}
                    </option>
                }).collect_view()}
            </select>
            {move || progress().map(|(fraction, text)| view! {
                <progress class="load" data-testid="backbone-progress" max="1" value=fraction.to_string()
                    aria-label="Backbone change progress"></progress>
                <span class="backbone-status" data-testid="backbone-status" role="status">{text}</span>
                <button type="button" class="ghost small" data-testid="backbone-cancel" on:click=cancel>"Cancel"</button>
            })}
            {move || error().map(|message| view! {
                <span class="backbone-error" data-testid="backbone-error" role="alert">{message}</span>
            })}
        </div>
    }
}
