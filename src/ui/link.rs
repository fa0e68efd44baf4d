//! The page's link to the engine that answers the person: starting a worker, sending it requests,
//! counting the answers it still owes (`Request::answers`, `Response::settles`), letting it go.
//! Every worker's answers carry its serial number, so a worker that was let go is never heard.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_worker::{Spawnable, WorkerBridge};

use super::remote::RemoteEngine;
use crate::formats::backbone::Backbone;
use crate::model_state::ModelState;
use crate::protocol::{BackendKind, Request, Response, SavedModel};

const WORKER_SCRIPT: &str = "./worker_loader.js";

/// A worker and the serial number its answers carry.
pub(super) type Link = (u32, WorkerBridge<RemoteEngine>);

/// Where every worker's answers go, with the worker's serial number.
pub(super) type OnResponse = Rc<dyn Fn(u32, Response)>;

pub(super) struct EngineLink {
    /// The engine's worker, which answers the person's photos.
    bridge: RefCell<Option<Link>>,
    /// The serial number of the last worker started.
    serials: Cell<u32>,
    /// Answers the engine still owes: none at a quiet moment.
    owed: Cell<u32>,
    /// What the engine runs on; a restart after a lost GPU may fall back from it.
    kind: Cell<BackendKind>,
    /// The network every worker started from here loads.
    backbone: Cell<Backbone>,
    model: RefCell<ModelState>,
    on_response: OnResponse,
}

impl EngineLink {
    pub(super) fn new(kind: BackendKind, backbone: Backbone, on_response: OnResponse) -> Self {
        Self {
            bridge: RefCell::new(None),
            serials: Cell::new(0),
            owed: Cell::new(0),
            kind: Cell::new(kind),
            backbone: Cell::new(backbone),
            model: RefCell::default(),
            on_response,
        }
    }

    /// Starts a worker and asks it to load the link's backbone on `kind`.
    pub(super) fn spawn(&self, kind: BackendKind) -> Link {
        self.spawn_with(kind, self.backbone.get())
    }

    /// Starts a worker and asks it to load `backbone` on `kind`.
    pub(super) fn spawn_with(&self, kind: BackendKind, backbone: Backbone) -> Link {
        let serial = self.serials.get() + 1;
        self.serials.set(serial);
        let on_response = Rc::clone(&self.on_response);
        // `with_loader`: start Trunk's loader script itself rather than a blob: shim, so the worker
        // has a real URL (relative imports resolve, and a CSP needs no blob: workers).
        let bridge = RemoteEngine::spawner()
            .with_loader(true)
            .as_module(false)
            .callback(move |response| on_response(serial, response))
            .spawn(WORKER_SCRIPT);
        bridge.send(Request::Init {
            backend: kind,
            weights_url: weights_url(backbone),
            count_gpu_work: super::bench_hook::wanted(),
            fused_gpu_kernels: super::bench_hook::fused_gpu_kernels(),
        });
        (serial, bridge)
    }

    /// Starts the engine's worker on the link's backend. A worker already there is let go (its
    /// bridge dropped): it has closed itself, or closes on that.
    pub(super) fn start(&self) {
        let link = self.spawn(self.kind.get());
        self.owed.set(0);
        self.bridge.replace(Some(link));
    }

    /// Makes `link` (a worker that is ready) the engine, and hands back the one it replaces.
    pub(super) fn take_over(&self, link: Link, kind: BackendKind) -> Option<Link> {
        self.kind.set(kind);
        self.owed.set(0);
        self.bridge.replace(Some(link))
    }

    /// Lets the worker go: its answers are ignored from now on.
    pub(super) fn let_go(&self) {
        self.bridge.replace(None);
    }

    pub(super) fn send(&self, request: Request) {
        self.model.borrow_mut().follow(&request);
        if let Some((_, bridge)) = self.bridge.borrow().as_ref() {
            self.owed.set(self.owed.get() + request.answers());
            bridge.send(request);
        }
    }

    /// The engine trained `model` and answers with it now.
    pub(super) fn trained(&self, model: SavedModel) {
        self.model.borrow_mut().trained(model);
    }

    pub(super) fn model(&self) -> std::cell::Ref<'_, ModelState> {
        self.model.borrow()
    }

    /// Whether `serial` is the engine's worker; if so, `response` settles what it owed.
    pub(super) fn answers(&self, serial: u32, response: &Response) -> bool {
        let ours = self.bridge.borrow().as_ref().map(|(s, _)| *s) == Some(serial);
        if ours {
            self.owed
                .set(self.owed.get().saturating_sub(response.settles()));
        }
        ours
    }

    /// Nothing asked of the engine is still unanswered.
    pub(super) fn quiet(&self) -> bool {
        self.owed.get() == 0
    }

    pub(super) fn kind(&self) -> BackendKind {
        self.kind.get()
    }

    pub(super) fn set_kind(&self, kind: BackendKind) {
        self.kind.set(kind);
    }

    pub(super) fn backbone(&self) -> Backbone {
        self.backbone.get()
    }

    /// Workers started from now on load `backbone`.
    pub(super) fn set_backbone(&self, backbone: Backbone) {
        self.backbone.set(backbone);
    }
}

/// The weights sit next to the page; an absolute URL because the worker resolves relative URLs
/// against its own script.
fn weights_url(backbone: Backbone) -> String {
    let file = backbone.weights_file();
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten());
    match base.and_then(|base| web_sys::Url::new_with_base(file, &base).ok()) {
        Some(url) => url.href(),
        None => file.to_string(),
    }
}
