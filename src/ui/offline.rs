//! Offline and updates: registers the service worker that precaches the site (`sw.js`, generated
//! at build time by `scripts/service-worker.mjs`), and tells the person when a new deploy is
//! waiting, applying it only when they ask (a reload mid-training would lose the run).

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ServiceWorker, ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState,
};

const SCRIPT: &str = "./sw.js";

#[derive(Clone, Copy)]
pub struct Offline {
    /// The site is cached: it will load and work with the network off.
    pub ready: RwSignal<bool>,
    /// A new version is installed and waits for the person's go-ahead.
    pub update_waiting: RwSignal<bool>,
    registration: StoredValue<Option<ServiceWorkerRegistration>, LocalStorage>,
}

fn container() -> Option<ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    // Absent on plain http other than localhost, and in some private modes.
    let has = js_sys::Reflect::has(&navigator, &"serviceWorker".into()).unwrap_or(false);
    has.then(|| navigator.service_worker())
}

impl Offline {
    pub fn new() -> Self {
        Self {
            ready: RwSignal::new(false),
            update_waiting: RwSignal::new(false),
            registration: StoredValue::new_local(None),
        }
    }

    /// Registers the service worker. Called once the model is ready, so that caching the site
    /// does not compete with the first load for the network.
    pub fn register(self) {
        let Some(container) = container() else { return };
        wasm_bindgen_futures::spawn_local(async move {
            let Ok(registration) = JsFuture::from(container.register(SCRIPT)).await else {
                log::warn!("the service worker did not register: the page will not work offline");
                return;
            };
            let registration: ServiceWorkerRegistration = registration.unchecked_into();
            self.registration.set_value(Some(registration.clone()));
            self.watch_updates(&container, &registration);
            if JsFuture::from(
                container
                    .ready()
                    .unwrap_or_else(|_| js_sys::Promise::reject(&"no service worker".into())),
            )
            .await
            .is_ok()
            {
                self.ready.set(true);
            }
        });
    }

    fn watch_updates(
        self,
        container: &ServiceWorkerContainer,
        registration: &ServiceWorkerRegistration,
    ) {
        // A worker that waits while another controls the page is a new deploy.
        let has_controller = {
            let container = container.clone();
            move || container.controller().is_some()
        };
        if registration.waiting().is_some() && has_controller() {
            self.update_waiting.set(true);
        }
        let installing_of = registration.clone();
        let on_update_found = Closure::<dyn FnMut()>::new(move || {
            let Some(worker) = installing_of.installing() else {
                return;
            };
            let watched: Rc<RefCell<Option<ServiceWorker>>> =
                Rc::new(RefCell::new(Some(worker.clone())));
            let has_controller = has_controller.clone();
            let on_state = Closure::<dyn FnMut()>::new(move || {
                let installed = watched
                    .borrow()
                    .as_ref()
                    .is_some_and(|w| w.state() == ServiceWorkerState::Installed);
                if installed && has_controller() {
                    self.update_waiting.set(true);
                }
            });
            worker.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
            on_state.forget();
        });
        registration.set_onupdatefound(Some(on_update_found.as_ref().unchecked_ref()));
        on_update_found.forget();
    }

    /// Activates the waiting version and reloads into it.
    pub fn apply_update(self) {
        let Some(container) = container() else { return };
        let waiting = self
            .registration
            .get_value()
            .and_then(|registration| registration.waiting());
        let Some(waiting) = waiting else {
            let _ = web_sys::window().map(|w| w.location().reload());
            return;
        };
        let reload = Closure::<dyn FnMut()>::new(|| {
            let _ = web_sys::window().map(|w| w.location().reload());
        });
        container.set_oncontrollerchange(Some(reload.as_ref().unchecked_ref()));
        reload.forget();
        let message = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&message, &"type".into(), &"SKIP_WAITING".into());
        let _ = waiting.post_message(&message);
    }
}

#[component]
pub fn UpdateBanner(offline: Offline) -> impl IntoView {
    view! {
        <Show when=move || offline.update_waiting.get()>
            <div class="update-banner" data-testid="update-ready" role="status">
                <span>"A new version of Glimpse is ready."</span>
                <button type="button" class="primary" data-testid="update-reload" on:click=move |_| offline.apply_update()>
                    "Reload to update"
                </button>
            </div>
        </Show>
    }
}
