//! Yielding to the page's event loop in a long piece of work.

use wasm_bindgen_futures::JsFuture;

/// Lets the page's event loop run (input, painting) before going on.
pub(super) async fn next_task() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback(&resolve);
        }
    });
    let _ = JsFuture::from(promise).await;
}
