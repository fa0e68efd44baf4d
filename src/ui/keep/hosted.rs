//! A classifier hosted for others: `dist/` and an exported project file on any static host, opened
//! as `index.html?project=<relative URL of the zip>`. The page starts with that project's classes
//! and model selected, read-only; the visitor's own stored work is neither read nor written until
//! they copy the project into it (which asks first if they have work of their own).

use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::{ImportState, Keeper, contents};
use crate::formats::project_file::Project;
use crate::protocol::{ByteBuf, EngineError, Request};
use crate::store::Store;

const PARAMETER: &str = "project";

/// The hosted project on screen: its file name, and what it holds once it is open.
#[derive(Debug, Clone, PartialEq)]
pub struct HostedProject {
    pub name: String,
    pub contents: Option<String>,
}

fn location() -> Option<web_sys::Location> {
    web_sys::window().map(|w| w.location())
}

/// The project the page was given, resolved against the page, or why it cannot be opened (a
/// page never fetches from anywhere but its own site).
fn hosted_url() -> Option<(String, Result<String, String>)> {
    let location = location()?;
    let params = web_sys::UrlSearchParams::new_with_str(&location.search().ok()?).ok()?;
    let wanted = params.get(PARAMETER).filter(|p| !p.is_empty())?;
    let name = wanted.rsplit('/').next().unwrap_or(&wanted).to_string();
    let href = location.href().ok()?;
    let url = match web_sys::Url::new_with_base(&wanted, &href) {
        Ok(url) if Some(url.origin()) == location.origin().ok() => Ok(url.href()),
        Ok(_) => {
            Err("it is on another site, and Glimpse opens projects from its own site only".into())
        }
        Err(_) => Err("it is not a web address".into()),
    };
    Some((name, url))
}

async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let window = web_sys::window().ok_or("there is no window")?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|_| "the site could not be reached".to_string())?
        .unchecked_into();
    if !response.ok() {
        return Err(format!(
            "the site answered {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let body = response
        .array_buffer()
        .map_err(|_| "its bytes could not be read".to_string())?;
    let buffer = JsFuture::from(body)
        .await
        .map_err(|_| "the download was cut short".to_string())?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Goes to the same page without the project: the person's own work.
pub(super) fn open_own_work() {
    let Some(location) = location() else { return };
    let own = location.href().ok().and_then(|href| {
        let url = web_sys::Url::new(&href).ok()?;
        url.search_params().delete(PARAMETER);
        Some(url.href())
    });
    if let Some(own) = own {
        let _ = location.replace(&own);
    }
}

impl Keeper {
    /// Opens the project the page was given, if any; `false` when there is none.
    pub(super) fn open_hosted(self: &Rc<Self>) -> bool {
        let Some((name, url)) = hosted_url() else {
            return false;
        };
        self.hosted.set(Some(HostedProject {
            name,
            contents: None,
        }));
        let keeper = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            // Opened for a later copy, not read: the visitor's work stays as it is.
            if let Ok(store) = Store::open().await {
                *keeper.store.borrow_mut() = Some(Rc::new(store));
            }
            let bytes = match url {
                Ok(url) => fetch_bytes(&url).await,
                Err(reason) => Err(reason),
            };
            match bytes {
                Ok(bytes) => {
                    keeper.hosted_checking.set(true);
                    keeper.link.send(Request::CheckProject { bytes });
                }
                Err(reason) => keeper.hosted_failed(&reason),
            }
        });
        true
    }

    pub(super) fn on_hosted_checked(
        self: &Rc<Self>,
        result: Result<(Project, Vec<ByteBuf>), EngineError>,
    ) {
        match result {
            Ok((project, thumbnails)) => {
                let held = contents(&project);
                let snapshot = self.snapshot_of(project, thumbnails);
                *self.hosted_snapshot.borrow_mut() = Some(snapshot.clone());
                self.apply_snapshot(snapshot);
                self.hosted.update(|hosted| {
                    if let Some(hosted) = hosted {
                        hosted.contents = Some(held);
                    }
                });
                self.ready.set(true);
            }
            Err(error) => self.hosted_failed(&error.to_string()),
        }
    }

    /// The project cannot be shown: says why and shows the visitor's own work instead.
    fn hosted_failed(self: &Rc<Self>, reason: &str) {
        let name = self
            .hosted
            .with_untracked(|h| h.as_ref().map(|h| h.name.clone()))
            .unwrap_or_default();
        self.hosted.set(None);
        self.error.set(Some(format!(
            "The shared project {name} could not be opened: {reason}. Your own work is shown instead."
        )));
        self.restore_own();
    }

    /// Copies the hosted project into the person's own work, asking first when that would
    /// replace work of their own; then opens their page on it.
    pub fn copy_hosted(self: &Rc<Self>) {
        let (Some(snapshot), Some(store)) = (self.hosted_snapshot.borrow().clone(), self.store())
        else {
            self.error
                .set(Some("this browser cannot keep work on this device".into()));
            return;
        };
        let held = self
            .hosted
            .with_untracked(|h| h.as_ref().and_then(|h| h.contents.clone()))
            .unwrap_or_default();
        let keeper = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            let own_work = store.holds_work().await.unwrap_or(true);
            *keeper.pending_import.borrow_mut() = Some(snapshot);
            if !own_work {
                keeper.confirm_import(held);
            } else {
                keeper.import.set(ImportState::Confirm(held));
            }
        });
    }
}
