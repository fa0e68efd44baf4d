//! The person's files as the page gets them: dropped, picked, pasted; and their bytes.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::formats::zip_folder::ByteSource;

pub(super) async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    read_blob(file).await
}

async fn read_blob(blob: &web_sys::Blob) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .map_err(|_| "the browser could not read this file".to_string())?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// A file read a range at a time (a zip of photos, which may be larger than a page's memory).
pub(super) struct FileBytes(pub web_sys::File);

impl ByteSource for FileBytes {
    fn size(&self) -> u64 {
        self.0.size() as u64
    }

    async fn read(&self, range: std::ops::Range<u64>) -> Result<Vec<u8>, String> {
        let part = self
            .0
            .slice_with_f64_and_f64(range.start as f64, range.end as f64)
            .map_err(|_| "the browser could not read this file".to_string())?;
        read_blob(&part).await
    }
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

pub(super) fn blob_url(bytes: &[u8], mime: &str) -> String {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .ok()
        .and_then(|blob| web_sys::Url::create_object_url_with_blob(&blob).ok())
        .unwrap_or_default()
}

/// Offers bytes as a file download.
pub(super) fn download(bytes: &[u8], mime: &str, file_name: &str) -> Result<(), String> {
    let url = blob_url(bytes, mime);
    let anchor: web_sys::HtmlAnchorElement = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok())
        .and_then(|a| a.dyn_into().ok())
        .ok_or("the page cannot offer a download")?;
    anchor.set_href(&url);
    anchor.set_download(file_name);
    anchor.click();
    // Revoking at once can cancel the download in some browsers: give it a minute.
    let revoke = wasm_bindgen::closure::Closure::once_into_js(move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    if let Some(window) = web_sys::window() {
        let _ = window
            .set_timeout_with_callback_and_timeout_and_arguments_0(revoke.unchecked_ref(), 60_000);
    }
    Ok(())
}

/// Now, as ISO 8601 (UTC).
pub(super) fn now_iso() -> String {
    js_sys::Date::new_0().to_iso_string().into()
}

pub(super) fn today() -> String {
    now_iso().chars().take(10).collect()
}
