//! The person's files as the page gets them: dropped, picked, pasted; and their bytes.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub(super) async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| "the browser could not read this file".to_string())?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Files out of a `FileList` (input or drop).
pub fn files_of(list: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    let Some(list) = list else { return Vec::new() };
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// Image files among the items of a paste (screenshots, copied images).
pub fn pasted_files(event: &web_sys::ClipboardEvent) -> Vec<web_sys::File> {
    let Some(data) = event.clipboard_data() else {
        return Vec::new();
    };
    let items = data.items();
    (0..items.length())
        .filter_map(|i| items.get(i))
        .filter(|item| item.kind() == "file")
        .filter_map(|item| item.get_as_file().ok().flatten())
        .filter_map(|file| file.dyn_into::<web_sys::File>().ok())
        .collect()
}
