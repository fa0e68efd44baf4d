//! Where the person's labels help most: the held-out photos the model got wrong (mislabelled,
//! or where it is weak), then the answered photos it was least sure of ("none of your classes"
//! first, then the lowest confidence), each with the menu that labels it; and, once photos were
//! added from their answers, a quick retrain.

use leptos::prelude::*;

use crate::protocol::HeldOut;
use crate::ui::add_to_class::AddToClass;
use crate::ui::cards::CardState;
use crate::ui::client::use_client;

/// How many answered photos are offered.
const OFFERED: usize = 6;

#[component]
pub fn WorthLabelling(held_out: Vec<HeldOut>, classes: Vec<String>) -> impl IntoView {
    let client = use_client();
    let (cards, corrections, teach_classes) =
        client.with_value(|c| (c.cards.cards, c.teach.corrections, c.teach.classes));
    let name = move |i: usize| classes.get(i).cloned().unwrap_or_default();
    let mistakes: Vec<_> = held_out
        .into_iter()
        .filter(|h| h.actual != h.predicted)
        .filter_map(|h| {
            client
                .with_value(|c| c.teach.photo(h.example))
                .map(|p| (h, p))
        })
        .collect();
    // Answered by the personal model, least sure first.
    let unsure = move || {
        let mut answered: Vec<_> = cards
            .get()
            .into_iter()
            .filter_map(|card| match card.state.get() {
                CardState::Done(r) if r.personal => {
                    let top = r.predictions.first()?.clone();
                    let known = r.familiarity.is_none_or(|f| f.known());
                    Some((known, top.confidence, top.label, card))
                }
                _ => None,
            })
            .collect();
        answered.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        answered.truncate(OFFERED);
        answered
    };
    view! {
        <section class="worth-labelling" data-testid="worth-labelling">
            <h4>"Photos worth labelling"</h4>
            {move || (corrections.get() > 0).then(|| {
                let n = corrections.get();
                view! {
                    <p class="advice" data-testid="retrain-suggestion">
                        {format!("{n} photo{} added from answers since this model was trained. ", if n == 1 { "" } else { "s" })}
                        <button type="button" data-testid="retrain" on:click=move |_| client.with_value(|c| c.retrain())>"Retrain (head only, seconds)"</button>
                    </p>
                }
            })}
            <ul class="worth">
                {mistakes.into_iter().map(|(h, photo)| {
                    let id = photo.id;
                    view! {
                        <li data-testid="worth-labelling-item" data-kind="held-out" data-file-name=photo.name.clone()>
                            <img src=photo.thumbnail.clone() alt=photo.name.clone() />
                            <span>{format!("Held out: labelled \"{}\", the model said \"{}\". Mislabelled?", name(h.actual), name(h.predicted))}</span>
                            <label class="control">
                                <span>"Move to"</span>
                                <select data-testid="move-to-class" on:change=move |e| {
                                    if let Ok(key) = event_target_value(&e).parse() {
                                        client.with_value(|c| c.move_example(id, key));
                                    }
                                }>
                                    <option value="">"…"</option>
                                    {move || teach_classes.get().into_iter().map(|c| view! {
                                        <option value=c.key.to_string()>{move || c.name.get()}</option>
                                    }).collect_view()}
                                </select>
                            </label>
                        </li>
                    }
                }).collect_view()}
                {move || unsure().into_iter().map(|(known, confidence, label, card)| view! {
                    <li data-testid="worth-labelling-item" data-kind="answer" data-file-name=card.name.clone()>
                        <img src=card.thumbnail.clone() alt=card.name.clone() />
                        <span>{if known {
                            format!("{}: \"{label}\", {:.0}% sure", card.name, confidence * 100.0)
                        } else {
                            format!("{}: none of your classes (closest \"{label}\")", card.name)
                        }}</span>
                        <AddToClass card=card.id />
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}
