//! Says that the Teach panel shows a project hosted on this site (`?project=`), read-only, and
//! offers to copy it into the visitor's own work.

use leptos::prelude::*;

use crate::ui::client::use_client;

#[component]
pub fn HostedBanner() -> impl IntoView {
    let client = use_client();
    let hosted = client.with_value(|c| c.keeper.hosted);
    move || {
        hosted.get().map(|project| {
            let loaded = project.contents.is_some();
            let text = match &project.contents {
                Some(held) => format!(
                    "You are looking at {}, shared on this site: {held}. It is read-only; your own work on this device is untouched.",
                    project.name
                ),
                None => format!("Opening {}, shared on this site…", project.name),
            };
            view! {
                <div class="hosted" data-testid="hosted-project" data-name=project.name.clone()
                    data-state=if loaded { "open" } else { "opening" } role="status">
                    <span>{text}</span>
                    <button type="button" class="ghost small" data-testid="copy-project" disabled=!loaded
                        on:click=move |_| client.with_value(|c| c.keeper.copy_hosted())>"Copy into my work"</button>
                </div>
            }
        })
    }
}
