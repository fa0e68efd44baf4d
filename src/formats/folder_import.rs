//! A labelled folder: photos sorted into one subfolder per class, picked or dropped as a folder or
//! packed as a zip. This decides which class each file goes to, which files are litter (macOS
//! resource forks, dotfiles), which are not photos, too large or duplicates; a zip's files are
//! read by `zip_folder`; the page only walks the files and reads their bytes.
//!
//! The layout: one folder shared by every path (the folder picked, or the one a zip was made
//! from) is the root. Each subfolder of the root is a class named after it, photos deeper down
//! included; photos directly in the root go to a class named after the root.

use std::collections::HashMap;

use super::project_file::{MAX_CLASS_NAME, MAX_CLASSES};

/// Larger files are not photos a person means to teach with (and would cost the worker more
/// memory than one photo may have).
pub const MAX_PHOTO_FILE_BYTES: u64 = 32 << 20;

/// Why one file of a folder did not go in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    #[error("not a photo in a format Glimpse reads (JPEG, PNG, WebP, GIF, BMP)")]
    NotAPhoto,
    #[error("{} MB, more than the {} MB a photo may have", mb(*bytes), mb(MAX_PHOTO_FILE_BYTES))]
    TooLarge { bytes: u64 },
    #[error("the same photo as {0}")]
    DuplicateOf(String),
    #[error("already in the class \"{0}\"")]
    AlreadyIn(String),
    #[error("more than {MAX_CLASSES} classes")]
    TooManyClasses,
    #[error("it cannot be read: {0}")]
    Unreadable(String),
}

fn mb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1 << 20) as f64)
}

/// A file the import left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: String,
    pub reason: Skip,
}

/// How many photos went into one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassTally {
    pub name: String,
    pub added: usize,
    /// Made by this import (not one the person had).
    pub new: bool,
}

/// What an import did, for the summary a person reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Classes in the order the import first put a photo in them.
    pub classes: Vec<ClassTally>,
    pub skipped: Vec<Skipped>,
    /// Litter left out without a word (`__MACOSX`, dotfiles, `Thumbs.db`).
    pub ignored: usize,
}

impl ImportReport {
    pub fn added(&self) -> usize {
        self.classes.iter().map(|c| c.added).sum()
    }

    /// Adds what another source of the same import did (several zips or folders dropped at once).
    pub fn merge(&mut self, other: ImportReport) {
        for tally in other.classes {
            match self.classes.iter_mut().find(|c| c.name == tally.name) {
                Some(mine) => mine.added += tally.added,
                None => self.classes.push(tally),
            }
        }
        self.skipped.extend(other.skipped);
        self.ignored += other.ignored;
    }
}

/// A photo that goes in: its class (an existing class's own spelling when the names match) and
/// its content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    pub class: String,
    pub hash: u128,
}

/// The content hash duplicates are found by (XXH3, 128 bits: collisions are out of reach at any
/// folder size a browser holds).
pub fn content_hash(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

/// Files every operating system scatters into folders: never a person's photo.
pub fn is_litter(path: &str) -> bool {
    components(path).any(|part| {
        part.starts_with('.')
            || part == "__MACOSX"
            || part.eq_ignore_ascii_case("thumbs.db")
            || part.eq_ignore_ascii_case("desktop.ini")
    })
}

fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split(['/', '\\'])
        .filter(|part| !part.is_empty() && *part != ".")
}

/// The media type of a photo in a format the engine decodes, told by its content (not its name);
/// `None` for anything else.
pub fn photo_type(bytes: &[u8]) -> Option<&'static str> {
    use image::ImageFormat::{Bmp, Gif, Jpeg, Png, WebP};
    match image::guess_format(bytes) {
        Ok(format @ (Jpeg | Png | Gif | WebP | Bmp)) => Some(format.to_mime_type()),
        _ => None,
    }
}

/// One import of a labelled folder: where each file goes, what was seen, what was done.
pub struct FolderImport {
    root: String,
    /// The shared root folder is the first component of every path.
    strip_root: bool,
    /// Existing classes by their lower-cased name, with their own spelling.
    existing: HashMap<String, String>,
    /// Photos the person already has, by content hash, with their class.
    known: HashMap<u128, String>,
    /// Photos of this import, by content hash, with their path.
    seen: HashMap<u128, String>,
    report: ImportReport,
}

impl FolderImport {
    /// `source` names what was picked or dropped (a folder, or a zip's file name); `paths` are
    /// every file's path inside it; `existing` the person's classes; `known` the content hashes
    /// of their photos with each one's class.
    pub fn new<'a>(
        source: &str,
        paths: impl IntoIterator<Item = &'a str>,
        existing: impl IntoIterator<Item = String>,
        known: impl IntoIterator<Item = (u128, String)>,
    ) -> Self {
        let parts: Vec<Vec<&str>> = paths
            .into_iter()
            .filter(|path| !is_litter(path))
            .map(|path| components(path).collect())
            .collect();
        let shared = parts
            .first()
            .and_then(|first| first.first().copied())
            .filter(|root| parts.iter().all(|p| p.len() >= 2 && p[0] == *root));
        let source = source.strip_suffix(".zip").unwrap_or(source);
        Self {
            root: class_name(shared.unwrap_or(source)).unwrap_or_else(|| "Imported".into()),
            strip_root: shared.is_some(),
            existing: existing
                .into_iter()
                .map(|name| (name.trim().to_lowercase(), name))
                .collect(),
            known: known.into_iter().collect(),
            seen: HashMap::new(),
            report: ImportReport::default(),
        }
    }

    /// The class a file belongs to by its path, or `None` for litter (counted as ignored).
    pub fn class_of(&mut self, path: &str) -> Option<String> {
        if is_litter(path) {
            self.report.ignored += 1;
            return None;
        }
        let parts: Vec<&str> = components(path)
            .skip(usize::from(self.strip_root))
            .collect();
        Some(match parts.as_slice() {
            [folder, _, ..] => class_name(folder).unwrap_or_else(|| self.root.clone()),
            _ => self.root.clone(),
        })
    }

    /// Checks one file of `class` by its bytes: a photo within the limits, not seen before in
    /// this import nor among the person's photos. Either way the report records it.
    pub fn admit(&mut self, path: &str, class: &str, bytes: &[u8]) -> Result<Admitted, Skip> {
        let outcome = self.check(class, bytes);
        match &outcome {
            Ok(admitted) => {
                self.seen.insert(admitted.hash, path.to_string());
                self.count(&admitted.class);
            }
            Err(reason) => self.skip(path, reason.clone()),
        }
        outcome
    }

    fn check(&self, class: &str, bytes: &[u8]) -> Result<Admitted, Skip> {
        let size = bytes.len() as u64;
        if size > MAX_PHOTO_FILE_BYTES {
            return Err(Skip::TooLarge { bytes: size });
        }
        if photo_type(bytes).is_none() {
            return Err(Skip::NotAPhoto);
        }
        let hash = content_hash(bytes);
        if let Some(first) = self.seen.get(&hash) {
            return Err(Skip::DuplicateOf(first.clone()));
        }
        if let Some(class) = self.known.get(&hash) {
            return Err(Skip::AlreadyIn(class.clone()));
        }
        let (class, new) = match self.existing.get(&class.trim().to_lowercase()) {
            Some(name) => (name.clone(), false),
            None => (class.to_string(), true),
        };
        let made = self.report.classes.iter().filter(|c| c.new).count();
        let counted = self.report.classes.iter().any(|c| c.name == class);
        if new && !counted && self.existing.len() + made >= MAX_CLASSES {
            return Err(Skip::TooManyClasses);
        }
        Ok(Admitted { class, hash })
    }

    fn count(&mut self, class: &str) {
        match self.report.classes.iter_mut().find(|c| c.name == class) {
            Some(tally) => tally.added += 1,
            None => {
                let new = !self.existing.contains_key(&class.trim().to_lowercase());
                self.report.classes.push(ClassTally {
                    name: class.to_string(),
                    added: 1,
                    new,
                });
            }
        }
    }

    /// Takes back a photo `admit` let in that could not be used after all (it did not decode).
    pub fn refuse(&mut self, path: &str, class: &str, reason: Skip) {
        if let Some(index) = self.report.classes.iter().position(|c| c.name == class) {
            self.report.classes[index].added -= 1;
            if self.report.classes[index].added == 0 {
                self.report.classes.remove(index);
            }
        }
        self.skip(path, reason);
    }

    /// Records a file left out before its bytes could be checked (unreadable, too large).
    pub fn skip(&mut self, path: &str, reason: Skip) {
        self.report.skipped.push(Skipped {
            path: path.to_string(),
            reason,
        });
    }

    pub fn report(&self) -> &ImportReport {
        &self.report
    }

    pub fn into_report(self) -> ImportReport {
        self.report
    }
}

/// A folder name as a class name: trimmed, at most `MAX_CLASS_NAME` characters; `None` if blank.
fn class_name(folder: &str) -> Option<String> {
    let name: String = folder.trim().chars().take(MAX_CLASS_NAME).collect();
    let name = name.trim().to_string();
    (!name.is_empty()).then_some(name)
}

/// The last component of a path: the file name a photo keeps in its class.
pub fn file_name(path: &str) -> &str {
    components(path).last().unwrap_or(path)
}
