//! Entry point of the page: mounts the Leptos UI.
#[cfg(target_arch = "wasm32")]
fn main() {
    glimpse::ui::mount();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("this binary runs in the browser: build the site with `trunk build --release`");
}
