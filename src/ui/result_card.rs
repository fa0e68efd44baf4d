//! One card per photo: its thumbnail and the model's top classes as bars, or why it has none.

use leptos::prelude::*;

use super::client::{CardState, PhotoCard};
use crate::protocol::Prediction;

#[component]
fn PredictionRow(rank: usize, prediction: Prediction) -> impl IntoView {
    let percent = prediction.confidence * 100.0;
    let shown = if percent >= 10.0 {
        format!("{percent:.0}%")
    } else {
        format!("{percent:.1}%")
    };
    let title = if prediction.synonyms.is_empty() {
        prediction.label.clone()
    } else {
        format!("{} ({})", prediction.label, prediction.synonyms.join(", "))
    };
    view! {
        <li class="prediction" class:top=rank == 0 data-testid="prediction"
            data-label=prediction.label.clone() data-confidence=prediction.confidence.to_string()
            title=title>
            <span class="label">{prediction.label.clone()}</span>
            <span class="percent">{shown}</span>
            <span class="bar" aria-hidden="true"><span class="fill" style:width=format!("{percent:.1}%")></span></span>
        </li>
    }
}

#[component]
pub fn ResultCard(card: PhotoCard) -> impl IntoView {
    let state = card.state;
    let broken_thumbnail = RwSignal::new(false);
    let status = move || match state.get() {
        CardState::Queued => "queued",
        CardState::Working => "working",
        CardState::Done(_) => "done",
        CardState::Failed(_) => "error",
    };
    let (thumbnail, alt) = (card.thumbnail.clone(), card.name.clone());
    let elapsed_ms = move || match state.get() {
        CardState::Done(result) => Some(format!("{:.1}", result.elapsed_ms)),
        _ => None,
    };
    view! {
        <article class="result" data-testid="result" data-file-name=card.name.clone() data-state=status
            data-elapsed-ms=elapsed_ms>
            <div class="thumb">
                <Show when=move || !broken_thumbnail.get()
                    fallback=|| view! { <div class="no-thumb" aria-hidden="true">"?"</div> }>
                    <img src=thumbnail.clone() alt=alt.clone() loading="lazy"
                        on:error=move |_| broken_thumbnail.set(true) />
                </Show>
            </div>
            <div class="body">
                <h3 class="file-name" title=card.name.clone()>{card.name.clone()}</h3>
                {move || match state.get() {
                    CardState::Queued => view! { <p class="pending">"Waiting…"</p> }.into_any(),
                    CardState::Working => view! { <p class="pending working">"Looking…"</p> }.into_any(),
                    CardState::Failed(message) => view! {
                        <p class="error" data-testid="error" role="alert">{format!("Can't use this file: {message}")}</p>
                    }.into_any(),
                    CardState::Done(result) => view! {
                        <ol class="predictions">
                            {result.predictions.into_iter().enumerate()
                                .map(|(rank, prediction)| view! { <PredictionRow rank=rank prediction=prediction /> })
                                .collect_view()}
                        </ol>
                        <p class="timing">{format!("{:.0} ms", result.elapsed_ms)}</p>
                    }.into_any(),
                }}
            </div>
        </article>
    }
}
