//! One card per photo: the photo with its saliency overlay, the model's top classes as bars, the
//! overlay's controls, or why the photo has no answer.

use leptos::prelude::*;

use super::add_to_class::AddToClass;
use super::cards::{CardState, OverlayChoice, PhotoCard};
use super::photo_view::PhotoView;
use super::prediction_row::PredictionRow;
use crate::protocol::{Classification, SaliencyMethod};

#[component]
pub fn ResultCard(
    card: PhotoCard,
    explain: impl Fn(u32, OverlayChoice) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let PhotoCard {
        id,
        name,
        thumbnail,
        state,
        overlay,
    } = card;
    let opacity = RwSignal::new(0.6);
    let show_overlay = RwSignal::new(true);
    let status = move || match state.get() {
        CardState::Queued => "queued",
        CardState::Working => "working",
        CardState::Done(_) => "done",
        CardState::Failed(_) => "error",
    };
    let done = Signal::derive(move || match state.get() {
        CardState::Done(result) => Some(result),
        _ => None,
    });
    let elapsed_ms = move || done.get().map(|r| format!("{:.1}", r.elapsed_ms));
    // Under a personal model: whether the photo looks like any of the person's classes at all.
    let known = move || {
        done.get()
            .and_then(|r| r.familiarity.map(|f| f.known().to_string()))
    };
    let method = move || {
        overlay
            .with(|o| o.choice.map(|c| c.method))
            .unwrap_or(SaliencyMethod::GradCam)
    };
    let on_method = move |event: web_sys::Event| {
        let Some(method) = SaliencyMethod::from_id(&event_target_value(&event)) else {
            return;
        };
        let class_index = overlay.with_untracked(|o| o.choice.map(|c| c.class_index));
        let top = done
            .get_untracked()
            .and_then(|r| r.predictions.first().map(|p| p.class_index));
        if let Some(class_index) = class_index.or(top) {
            explain(
                id,
                OverlayChoice {
                    class_index,
                    method,
                },
            );
        }
    };
    let explained_label = move || {
        let result = done.get()?;
        let choice = overlay.with(|o| o.choice)?;
        let label = result
            .predictions
            .iter()
            .find(|p| p.class_index == choice.class_index)?
            .label
            .clone();
        Some(label)
    };

    view! {
        <article class="result" data-testid="result" data-file-name=name.clone() data-state=status
            data-elapsed-ms=elapsed_ms data-known=known>
            <PhotoView thumbnail=thumbnail name=name.clone() geometry=done overlay=overlay
                opacity=opacity show_overlay=show_overlay />
            <div class="body">
                <h3 class="file-name" title=name.clone()>{name.clone()}</h3>
                {move || match state.get() {
                    CardState::Queued => view! { <p class="pending">"Waiting…"</p> }.into_any(),
                    CardState::Working => view! { <p class="pending working">"Looking…"</p> }.into_any(),
                    CardState::Failed(message) => view! {
                        <p class="error" data-testid="error" role="alert">{format!("Can't use this file: {message}")}</p>
                    }.into_any(),
                    CardState::Done(result) => predictions(id, result, overlay, explain).into_any(),
                }}
                <Show when=move || done.with(Option::is_some)>
                    <div class="overlay-controls">
                        <p class="explains">
                            {move || explained_label().map(|label| view! {
                                "Overlay: what made it say " <strong>{label}</strong>
                            })}
                            {move || overlay.with(|o| o.error.clone()).map(|e| view! {
                                <span class="error" data-testid="saliency-error">{format!(" The overlay failed: {e}")}</span>
                            })}
                        </p>
                        <label class="control">
                            <span>"Method"</span>
                            <select data-testid="saliency-method" on:change=on_method
                                prop:value=move || method().id()>
                                {SaliencyMethod::ALL.iter().map(|m| view! {
                                    <option value=m.id()>{m.title()}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label class="control">
                            <input type="checkbox" data-testid="saliency-toggle"
                                prop:checked=move || show_overlay.get()
                                on:change=move |e| show_overlay.set(event_target_checked(&e)) />
                            <span>"Overlay"</span>
                        </label>
                        <label class="control opacity">
                            <span>"Opacity"</span>
                            <input type="range" min="0" max="1" step="0.05" data-testid="saliency-opacity"
                                prop:value=move || opacity.get().to_string()
                                on:input=move |e| opacity.set(event_target_value(&e).parse().unwrap_or(0.6)) />
                        </label>
                    </div>
                    <AddToClass card=id />
                    <p class="timing">
                        {move || done.get().map(|r| format!("{:.0} ms", r.elapsed_ms))}
                        {move || overlay.with(|o| o.current().map(|m| format!(" · overlay {:.0} ms", m.elapsed_ms)))}
                    </p>
                </Show>
            </div>
        </article>
    }
}

fn predictions(
    id: u32,
    result: Classification,
    overlay: RwSignal<super::cards::Overlay>,
    explain: impl Fn(u32, OverlayChoice) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let stranger = result
        .familiarity
        .filter(|f| !f.known())
        .zip(result.predictions.first())
        .map(|(f, closest)| {
            (
                format!(
                    "None of your classes (closest: {}, {:.0}%)",
                    closest.label,
                    closest.confidence * 100.0
                ),
                format!(
                    "It looks {:.2} alike to the nearest of your photos; photos of your classes reach {:.2}.",
                    f.similarity, f.threshold
                ),
            )
        });
    view! {
        {stranger.map(|(verdict, why)| view! {
            <p class="not-known" data-testid="not-known" title=why>{verdict}</p>
        })}
        <ol class="predictions">
            {result.predictions.into_iter().enumerate().map(|(rank, prediction)| {
                let class_index = prediction.class_index;
                let selected = Signal::derive(move || overlay.with(|o| o.choice.map(|c| c.class_index) == Some(class_index)));
                let on_select = move || {
                    let method = overlay.with_untracked(|o| o.choice.map(|c| c.method)).unwrap_or(SaliencyMethod::GradCam);
                    explain(id, OverlayChoice { class_index, method });
                };
                view! { <PredictionRow rank=rank prediction=prediction selected=selected on_select=on_select /> }
            }).collect_view()}
        </ol>
    }
}
