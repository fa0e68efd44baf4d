//! The backbone comparison in the Teach panel: `compare-backbones`, its progress
//! (`compare-status`, `compare-cancel`) and the table `backbone-comparison`, one
//! `backbone-comparison-row` per backbone (`data-backbone`, `data-accuracy`, `data-low`,
//! `data-high`, `data-photos`, `data-ms`, `data-current`; `data-error` when it failed), each with
//! `backbone-use` to switch to it.

use leptos::prelude::*;

use super::backbone_compare::{CompareRow, CompareStage, CompareState};
use super::client::use_client;
use crate::formats::backbone::Backbone;

fn percent(value: f64) -> String {
    format!("{:.0}%", value * 100.0)
}

#[component]
pub fn BackboneComparison(can_compare: Signal<bool>) -> impl IntoView {
    let client = use_client();
    let (state, rows) = client.with_value(|c| (c.compare.state, c.compare.rows));
    let current = client.with_value(|c| c.backbone.current);
    let running = move || matches!(state.get(), CompareState::Running { .. });
    let status = move || match state.get() {
        CompareState::Running { backbone, stage } => Some(match stage {
            CompareStage::Loading => format!("{backbone}: loading…"),
            CompareStage::Embedding { done, total } => {
                format!("{backbone}: photos {done} of {total}")
            }
            CompareStage::Training { epoch, epochs } => {
                format!("{backbone}: training, epoch {epoch} of {epochs}")
            }
            CompareStage::Timing => format!("{backbone}: timing"),
        }),
        _ => None,
    };
    let compare = move |_| client.with_value(|c| c.compare_backbones());
    let cancel = move |_| client.with_value(|c| c.cancel_compare());
    let row = move |row: CompareRow| {
        let backbone = row.backbone;
        let is_current = move || current.get() == backbone;
        let use_it = move |_| client.with_value(|c| c.choose_backbone(backbone));
        match row.outcome {
            Ok(measured) => {
                let evaluation = &measured.summary.evaluation;
                let interval = evaluation.accuracy_interval();
                let photos = evaluation.confusion.total();
                let accuracy = evaluation.accuracy;
                view! {
                    <tr data-testid="backbone-comparison-row" data-backbone=backbone.id()
                        data-current=move || is_current().to_string()
                        data-accuracy=accuracy.to_string() data-low=interval.low.to_string()
                        data-high=interval.high.to_string() data-photos=photos.to_string()
                        data-ms=measured.ms_per_photo.map(|ms| format!("{ms:.1}"))>
                        <th scope="row">{backbone.name()}</th>
                        <td>{format!("{} ({}-{}, {photos} photos)", percent(accuracy), percent(interval.low), percent(interval.high))}</td>
                        <td>{measured.ms_per_photo.map_or("–".to_string(), |ms| format!("{ms:.0} ms"))}</td>
                        <td>{format!("{:.1} MB", backbone.weights_bytes() as f64 / 1e6)}</td>
                        <td>
                            {move || if is_current() {
                                view! { <span>"running"</span> }.into_any()
                            } else {
                                view! { <button type="button" class="ghost small" data-testid="backbone-use" on:click=use_it>"Use"</button> }.into_any()
                            }}
                        </td>
                    </tr>
                }
                .into_any()
            }
            Err(message) => {
                let text = message.clone();
                view! {
                    <tr data-testid="backbone-comparison-row" data-backbone=backbone.id() data-error=message>
                        <th scope="row">{backbone.name()}</th>
                        <td colspan="4">{text}</td>
                    </tr>
                }
                .into_any()
            }
        }
    };
    view! {
        <div class="backbone-compare">
            <button type="button" class="ghost" data-testid="compare-backbones"
                disabled=move || running() || !can_compare.get()
                title="Trains the head on each backbone with these photos and settings, to compare held-out accuracy and speed"
                on:click=compare>"Compare backbones"</button>
            {move || status().map(|text| view! {
                <span class="compare-status" data-testid="compare-status" role="status">{text}</span>
                <button type="button" class="ghost small" data-testid="compare-cancel" on:click=cancel>"Cancel"</button>
            })}
            <Show when=move || !rows.with(Vec::is_empty)>
                <table class="backbone-comparison" data-testid="backbone-comparison">
                    <caption>"The head trained on each backbone (these photos, these settings, head only)"</caption>
                    <thead>
                        <tr><th scope="col">"Backbone"</th><th scope="col">"Held-out accuracy (95% interval)"</th>
                            <th scope="col">"Per photo here"</th><th scope="col">"Download"</th><th scope="col"></th></tr>
                    </thead>
                    <tbody>
                        {move || {
                            let mut shown = rows.get();
                            shown.sort_by_key(|r| Backbone::ALL.iter().position(|b| *b == r.backbone));
                            shown.into_iter().map(row).collect_view()
                        }}
                    </tbody>
                </table>
            </Show>
        </div>
    }
}
