//! One ranked class: name, confidence bar and percent. Clicking it (or Enter/Space) explains
//! that class in the card's overlay. A list item holding a button, so that the ranking reads as a
//! list and each class as something to press (a list item with a button's role is neither).

use leptos::prelude::*;

use crate::protocol::Prediction;

pub fn percent_text(confidence: f32) -> String {
    let percent = confidence * 100.0;
    if percent >= 10.0 {
        format!("{percent:.0}%")
    } else if percent >= 0.1 {
        format!("{percent:.1}%")
    } else {
        "<0.1%".to_string()
    }
}

#[component]
pub fn PredictionRow(
    rank: usize,
    prediction: Prediction,
    #[prop(into)] selected: Signal<bool>,
    on_select: impl Fn() + Clone + 'static,
) -> impl IntoView {
    let percent = prediction.confidence * 100.0;
    let title = if prediction.synonyms.is_empty() {
        format!("{}: show what made the model say this", prediction.label)
    } else {
        format!(
            "{} ({}): show what made the model say this",
            prediction.label,
            prediction.synonyms.join(", ")
        )
    };
    view! {
        <li class="prediction" class:top=rank == 0 class:selected=move || selected.get()
            data-testid="prediction" data-label=prediction.label.clone()
            data-confidence=prediction.confidence.to_string()
            data-selected=move || selected.get().to_string()>
            <button type="button" class="choose" aria-pressed=move || selected.get().to_string() title=title
                on:click=move |_| on_select()>
                <span class="label">{prediction.label.clone()}</span>
                <span class="percent">{percent_text(prediction.confidence)}</span>
                <span class="bar" aria-hidden="true"><span class="fill" style:width=format!("{percent:.1}%")></span></span>
            </button>
        </li>
    }
}
