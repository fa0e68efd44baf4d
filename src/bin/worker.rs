//! Entry point of the engine's Web Worker: registers the engine.
#[cfg(target_arch = "wasm32")]
fn main() {
    glimpse::worker::register();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("this binary runs in the browser: build the site with `trunk build --release`");
}
