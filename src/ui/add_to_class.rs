//! "This is X": a menu on an answered photo that makes it a training photo of one of the
//! person's classes, or of a new one. The report then offers a quick retrain (the head only).

use leptos::prelude::*;

use super::client::use_client;

#[component]
pub fn AddToClass(card: u32) -> impl IntoView {
    let client = use_client();
    let classes = client.with_value(|c| c.teach.classes);
    let added = RwSignal::new(None::<String>);
    let on_change = move |event: web_sys::Event| {
        let value = event_target_value(&event);
        let to = match value.as_str() {
            "" => return,
            "new" => None,
            key => match key.parse() {
                Ok(key) => Some(key),
                Err(_) => return,
            },
        };
        added.set(client.with_value(|c| c.add_to_class(card, to)));
        // Back to the prompt: the menu says what to do, the line beside it what was done.
        event_target::<web_sys::HtmlSelectElement>(&event).set_value("");
    };
    view! {
        <label class="control add-to-class">
            <span>"This is"</span>
            <select data-testid="add-to-class" on:change=on_change>
                <option value="">"… (add to a class)"</option>
                <For each=move || classes.get() key=|class| class.key let:class>
                    <option value=class.key.to_string()>{move || class.name.get()}</option>
                </For>
                <option value="new">"a new class"</option>
            </select>
        </label>
        {move || added.get().map(|name| view! {
            <span class="added" data-testid="added-to" data-class-name=name.clone()>{format!("Added to \"{name}\"")}</span>
        })}
    }
}
