//! The worker's last word. When the engine cannot go on (a panic, a trap such as running out of
//! memory, a lost GPU device) it tells the page so, once, and closes itself; the page then starts
//! a fresh worker and hands it the person's work again. Without this a crashed worker would only
//! fall silent, and every photo sent to it would wait forever.

use std::cell::{Cell, RefCell};

use gloo_worker::{HandlerId, WorkerScope};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use super::EngineWorker;
use crate::protocol::Response;

thread_local! {
    static LINE: RefCell<Option<Line>> = const { RefCell::new(None) };
    static SPOKEN: Cell<bool> = const { Cell::new(false) };
}

struct Line {
    scope: WorkerScope<EngineWorker>,
    /// The page's bridge: known from its first message (always `Init`).
    page: Option<HandlerId>,
}

/// Installs the panic hook and the error listener that report the engine lost.
pub fn install(scope: &WorkerScope<EngineWorker>) {
    LINE.with_borrow_mut(|line| {
        *line = Some(Line {
            scope: scope.clone(),
            page: None,
        })
    });
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let message = info
            .payload_as_str()
            .map(str::to_string)
            .unwrap_or_else(|| info.to_string());
        report(format!("it crashed ({message})"), false);
    }));
    // A trap without a panic (out of memory, stack overflow) surfaces only as an uncaught error.
    let on_error = Closure::<dyn Fn(web_sys::ErrorEvent)>::new(|event: web_sys::ErrorEvent| {
        report(format!("a fatal error ({})", event.message()), false);
    });
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let _ = global.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
    on_error.forget();
}

/// Remembers where answers go.
pub fn remember(page: HandlerId) {
    LINE.with_borrow_mut(|line| {
        if let Some(line) = line {
            line.page.get_or_insert(page);
        }
    });
}

/// Whether the engine has been reported lost: nothing it computes afterwards may be trusted.
pub fn spoken() -> bool {
    SPOKEN.get()
}

/// Tells the page the engine is lost, once, and closes the worker.
pub fn report(reason: String, device_lost: bool) {
    if SPOKEN.replace(true) {
        return;
    }
    log::error!("the engine is lost: {reason}");
    // `try_borrow`: this may run inside a panic that happened while the line was borrowed.
    LINE.with(|line| {
        if let Ok(line) = line.try_borrow()
            && let Some(Line {
                scope,
                page: Some(page),
            }) = line.as_ref()
        {
            scope.respond(
                *page,
                Response::EngineLost {
                    reason,
                    device_lost,
                },
            );
        }
    });
    let global: web_sys::DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    global.close();
}
