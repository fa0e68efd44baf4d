//! Importing a labelled folder or zip into the Teach panel: lists what was picked or dropped,
//! reads each file once (for its content hash), puts each photo in its class and keeps the report.
//! Where each file goes and why some do not is `formats::folder_import`'s job.
//!
//! Only one file's bytes are held at a time: photos from a folder go to the queue as the browser's
//! lazy `File`s, and a zip is read a part at a time (its directory, then one photo), so neither a
//! large folder nor a large zip ever sits in memory whole.

use std::cell::Cell;
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::files::{FileBytes, read_file};
use super::teach::state::Teach;
use crate::formats::folder_import::{
    FolderImport, ImportReport, MAX_PHOTO_FILE_BYTES, Skip, Skipped, file_name, photo_type,
};
use crate::formats::zip_folder::LazyZipFolder;

/// What the person picked or dropped.
pub enum ImportSource {
    /// The files of a folder picked with `<input webkitdirectory>`.
    Picked(Vec<web_sys::File>),
    /// Folders (and loose files) dropped together, each file with its path.
    Dropped {
        name: String,
        files: Vec<(String, web_sys::File)>,
    },
    Zip(web_sys::File),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ImportPhase {
    Idle,
    Reading {
        done: usize,
        total: usize,
    },
    Done {
        report: ImportReport,
        cancelled: bool,
    },
    Failed(String),
}

enum Entry {
    File(web_sys::File),
    InZip(usize),
}

/// One source, listed: its name, every file's path and where its bytes are.
struct Listing {
    name: String,
    entries: Vec<(String, Entry)>,
    zip: Option<LazyZipFolder<FileBytes>>,
}

/// The import under way or last done: its phase for the panel. `Teach` follows the photos it
/// added (its import tally).
pub struct FolderImporter {
    teach: Rc<Teach>,
    pub phase: RwSignal<ImportPhase>,
    cancelled: Cell<bool>,
}

impl FolderImporter {
    pub(super) fn new(teach: Rc<Teach>) -> Self {
        Self {
            teach,
            phase: RwSignal::new(ImportPhase::Idle),
            cancelled: Cell::new(false),
        }
    }

    pub fn reading(&self) -> bool {
        matches!(self.phase.get_untracked(), ImportPhase::Reading { .. })
    }

    /// How many of this import's photos are embedded and how many still wait (tracked).
    pub fn embedding(&self) -> (usize, usize) {
        self.teach.import_tally.with(|t| (t.ready, t.embedding))
    }

    /// Stops reading and hands back this import's photos that are not embedded yet, for the
    /// caller to take out; the embedded ones stay.
    pub(super) fn cancel(&self) -> Vec<u32> {
        self.cancelled.set(true);
        let unfinished = self.teach.import_embedding();
        if let ImportPhase::Done { report, .. } = self.phase.get_untracked() {
            self.phase.set(ImportPhase::Done {
                report,
                cancelled: true,
            });
        }
        unfinished
    }

    pub(super) fn dismiss(&self) {
        self.phase.set(ImportPhase::Idle);
    }

    /// Imports every source in turn; `add` puts a photo in a class and queues it.
    pub(super) async fn run(
        &self,
        sources: Vec<ImportSource>,
        add: impl Fn(u32, web_sys::File, u128),
    ) -> ImportReport {
        self.cancelled.set(false);
        self.teach.start_import();
        self.phase.set(ImportPhase::Reading { done: 0, total: 0 });
        let mut report = ImportReport::default();
        let mut listings = Vec::new();
        let mut refused = Vec::new();
        for source in sources {
            match listing(source).await {
                Ok(listing) => listings.push(listing),
                Err(refusal) => refused.push(refusal),
            }
        }
        if listings.is_empty() {
            let words: Vec<String> = refused
                .iter()
                .map(|(name, reason)| format!("Can't import {name}: {reason}."))
                .collect();
            self.phase.set(ImportPhase::Failed(words.join(" ")));
            return report;
        }
        let total = listings.iter().map(|l| l.entries.len()).sum();
        let mut done = 0;
        for listing in listings {
            report.merge(self.import(listing, &add, &mut done, total).await);
        }
        for (name, reason) in refused {
            report.skipped.push(Skipped {
                path: name,
                reason: Skip::Unreadable(reason),
            });
        }
        self.phase.set(ImportPhase::Done {
            report: report.clone(),
            cancelled: self.cancelled.get(),
        });
        report
    }

    async fn import(
        &self,
        listing: Listing,
        add: &impl Fn(u32, web_sys::File, u128),
        done: &mut usize,
        total: usize,
    ) -> ImportReport {
        let Listing {
            name,
            entries,
            mut zip,
        } = listing;
        let mut import = FolderImport::new(
            &name,
            entries.iter().map(|(path, _)| path.as_str()),
            self.teach.class_names(),
            self.teach.content_hashes(),
        );
        for (path, entry) in entries {
            if self.cancelled.get() {
                break;
            }
            *done += 1;
            self.phase.set(ImportPhase::Reading { done: *done, total });
            let Some(class) = import.class_of(&path) else {
                continue;
            };
            let bytes = match &entry {
                Entry::File(file) => read_photo(file).await,
                Entry::InZip(index) => match zip.as_mut() {
                    Some(zip) => zip.read(*index).await,
                    None => Err(Skip::NotAPhoto),
                },
            };
            let admitted = match bytes {
                Ok(bytes) => match import.admit(&path, &class, &bytes) {
                    Ok(admitted) => (admitted, bytes),
                    Err(_) => continue,
                },
                Err(reason) => {
                    import.skip(&path, reason);
                    continue;
                }
            };
            let (admitted, bytes) = admitted;
            // Cancelled while this file was being read.
            if self.cancelled.get() {
                break;
            }
            let key = self
                .teach
                .class_named(&admitted.class)
                .unwrap_or_else(|| self.teach.add_named_class(admitted.class.clone()));
            let file = match entry {
                Entry::File(file) => file,
                Entry::InZip(_) => photo_file(&bytes, file_name(&path)),
            };
            add(key, file, admitted.hash);
        }
        import.into_report()
    }
}

/// A file's bytes, unless it is too large to be a photo worth reading.
async fn read_photo(file: &web_sys::File) -> Result<Vec<u8>, Skip> {
    let size = file.size() as u64;
    if size > MAX_PHOTO_FILE_BYTES {
        return Err(Skip::TooLarge { bytes: size });
    }
    read_file(file).await.map_err(Skip::Unreadable)
}

/// A photo out of a zip as a browser `File`, as if it had been picked.
fn photo_file(bytes: &[u8], name: &str) -> web_sys::File {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::FilePropertyBag::new();
    options.set_type(photo_type(bytes).unwrap_or("application/octet-stream"));
    web_sys::File::new_with_u8_array_sequence_and_options(&parts, name, &options)
        .expect("a File from bytes")
}

/// Lists a source; a zip that cannot be used is refused whole, with its name and the reason.
async fn listing(source: ImportSource) -> Result<Listing, (String, String)> {
    Ok(match source {
        ImportSource::Picked(files) => {
            let mut entries: Vec<(String, Entry)> = files
                .into_iter()
                .map(|file| (relative_path(&file), Entry::File(file)))
                .collect();
            // In the order a person reads the folder, whatever order the browser listed it in.
            entries.sort_by(|(a, _), (b, _)| a.cmp(b));
            let name = entries
                .first()
                .and_then(|(path, _)| path.split('/').next())
                .unwrap_or("Imported")
                .to_string();
            Listing {
                name,
                entries,
                zip: None,
            }
        }
        ImportSource::Dropped { name, files } => Listing {
            name,
            entries: files
                .into_iter()
                .map(|(path, file)| (path, Entry::File(file)))
                .collect(),
            zip: None,
        },
        ImportSource::Zip(file) => {
            let name = file.name();
            let refused = |e: &dyn std::fmt::Display| (name.clone(), e.to_string());
            let zip = LazyZipFolder::open(FileBytes(file))
                .await
                .map_err(|e| refused(&e))?;
            Listing {
                entries: zip
                    .files()
                    .into_iter()
                    .map(|(index, path)| (path, Entry::InZip(index)))
                    .collect(),
                name,
                zip: Some(zip),
            }
        }
    })
}

/// A picked folder's file path, from the folder picked down (`webkitRelativePath`).
fn relative_path(file: &web_sys::File) -> String {
    js_sys::Reflect::get(file, &JsValue::from_str("webkitRelativePath"))
        .ok()
        .and_then(|path| path.as_string())
        .filter(|path| !path.is_empty())
        .unwrap_or_else(|| file.name())
}

/// What a drop holds besides plain photos: folders and zips (with any loose files beside them).
pub struct Dropped {
    folders: Vec<web_sys::FileSystemDirectoryEntry>,
    zips: Vec<web_sys::File>,
    loose: Vec<(String, web_sys::File)>,
}

/// The folders and zips in a drop, or `None` when it holds neither (plain photos, for a class).
/// Must be called while the drop event is dispatched: its items are gone afterwards.
pub fn dropped_folders(data: &web_sys::DataTransfer) -> Option<Dropped> {
    let items = data.items();
    let mut dropped = Dropped {
        folders: Vec::new(),
        zips: Vec::new(),
        loose: Vec::new(),
    };
    for item in (0..items.length()).filter_map(|i| items.get(i)) {
        if item.kind() != "file" {
            continue;
        }
        let entry = item.webkit_get_as_entry().ok().flatten();
        match entry {
            Some(entry) if entry.is_directory() => dropped.folders.push(entry.unchecked_into()),
            _ => {
                let Some(file) = item.get_as_file().ok().flatten() else {
                    continue;
                };
                if file.name().to_lowercase().ends_with(".zip") {
                    dropped.zips.push(file);
                } else {
                    dropped.loose.push((file.name(), file));
                }
            }
        }
    }
    (!dropped.folders.is_empty() || !dropped.zips.is_empty()).then_some(dropped)
}

/// The sources in a drop: the folders' files (walked down) and loose files as one source, each
/// zip as its own.
pub async fn dropped_sources(dropped: Dropped) -> Vec<ImportSource> {
    let Dropped {
        mut folders,
        zips,
        mut loose,
    } = dropped;
    let name = match (folders.as_slice(), loose.is_empty()) {
        ([only], true) => only.name(),
        _ => "Dropped photos".to_string(),
    };
    let mut files = Vec::new();
    files.append(&mut loose);
    while let Some(folder) = folders.pop() {
        for entry in folder_entries(&folder).await {
            if entry.is_directory() {
                folders.push(entry.unchecked_into());
            } else if let Ok(file) = entry_file(&entry).await {
                files.push((entry.full_path(), file));
            }
        }
    }
    let mut sources = Vec::new();
    if !files.is_empty() {
        // In the order a person reads the folder, whatever order the browser listed it in.
        files.sort_by(|(a, _), (b, _)| a.cmp(b));
        sources.push(ImportSource::Dropped { name, files });
    }
    sources.extend(zips.into_iter().map(ImportSource::Zip));
    sources
}

/// Every entry of a dropped folder (the browser hands them out in batches).
async fn folder_entries(
    folder: &web_sys::FileSystemDirectoryEntry,
) -> Vec<web_sys::FileSystemEntry> {
    let reader = folder.create_reader();
    let mut all = Vec::new();
    loop {
        let batch = js_sys::Promise::new(&mut |resolve, reject| {
            if let Err(error) = reader.read_entries_with_callback_and_callback(&resolve, &reject) {
                let _ = reject.call1(&JsValue::NULL, &error);
            }
        });
        let Ok(batch) = JsFuture::from(batch).await else {
            break;
        };
        let batch = js_sys::Array::from(&batch);
        if batch.length() == 0 {
            break;
        }
        all.extend(
            batch
                .iter()
                .map(|e| e.unchecked_into::<web_sys::FileSystemEntry>()),
        );
    }
    all
}

async fn entry_file(entry: &web_sys::FileSystemEntry) -> Result<web_sys::File, JsValue> {
    let entry: &web_sys::FileSystemFileEntry = entry.unchecked_ref();
    let file = js_sys::Promise::new(&mut |resolve, reject| {
        entry.file_with_callback_and_callback(&resolve, &reject);
    });
    Ok(JsFuture::from(file).await?.unchecked_into())
}
