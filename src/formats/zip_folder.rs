//! A zip laid out as a labelled folder (`class/photo.jpg`), read one file at a time without
//! trusting its sizes. `ZipFolder` reads a zip in memory; `LazyZipFolder` reads one that stays
//! where it is (a browser `File` of a few gigabytes) a part at a time: its directory once, then
//! each photo's own bytes, so that no more than one photo is in memory at once.

use std::io::{Cursor, Read, Seek};
use std::ops::Range;

use zip::ZipArchive;

use super::folder_import::{MAX_PHOTO_FILE_BYTES, Skip};
use super::project_file::MANIFEST;
use super::sparse_file::SparseFile;

/// A zip listing more entries than this is refused before anything is read.
pub const MAX_ZIP_ENTRIES: usize = 50_000;
/// The end of a zip read first: its directory's end record and, in most zips, the directory.
const TAIL_BYTES: u64 = 256 << 10;
/// Each further load is at least this large: a large directory, or a photo whose local header
/// says more than its directory entry, is read in a few loads rather than many small ones.
const DIRECTORY_LOAD_BYTES: u64 = 1 << 20;
const PHOTO_LOAD_BYTES: u64 = 64 << 10;
/// A photo's local header, name and extra field: guessed with the photo's compressed bytes.
const LOCAL_HEADER_GUESS: u64 = 30 + 1024;
/// A directory larger than this is not one of photos (50,000 entries with long names stay far
/// below it).
const MAX_DIRECTORY_BYTES: u64 = 64 << 20;

/// What makes a whole zip unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipFolderError {
    #[error("the file is empty")]
    Empty,
    #[error("it is not a zip archive, or it is cut short ({0})")]
    NotAZip(String),
    #[error("it lists {0} files, more than the {MAX_ZIP_ENTRIES} Glimpse reads from one zip")]
    TooManyFiles(usize),
    #[error("it is a Glimpse project file: open it with Import… under \"Your work\"")]
    ProjectFile,
    #[error("it holds no files")]
    NoFiles,
    #[error("the browser could not read it ({0})")]
    Unreadable(String),
}

/// A zip laid out as a labelled folder, read one file at a time.
pub struct ZipFolder<R = Cursor<Vec<u8>>> {
    archive: ZipArchive<R>,
}

impl ZipFolder {
    pub fn open(bytes: Vec<u8>) -> Result<Self, ZipFolderError> {
        if bytes.is_empty() {
            return Err(ZipFolderError::Empty);
        }
        Self::from_reader(Cursor::new(bytes))
    }
}

impl<R: Read + Seek> ZipFolder<R> {
    fn from_reader(reader: R) -> Result<Self, ZipFolderError> {
        let archive =
            ZipArchive::new(reader).map_err(|e| ZipFolderError::NotAZip(e.to_string()))?;
        if archive.len() > MAX_ZIP_ENTRIES {
            return Err(ZipFolderError::TooManyFiles(archive.len()));
        }
        if archive.index_for_name(MANIFEST).is_some() {
            return Err(ZipFolderError::ProjectFile);
        }
        let folder = Self { archive };
        if folder.files().is_empty() {
            return Err(ZipFolderError::NoFiles);
        }
        Ok(folder)
    }

    /// Each file's index and path (folders left out), in the zip's order.
    pub fn files(&self) -> Vec<(usize, String)> {
        (0..self.archive.len())
            .filter_map(|index| {
                let name = self.archive.name_for_index(index)?.ok()?;
                (!name.ends_with('/')).then(|| (index, name.into_owned()))
            })
            .collect()
    }

    /// One file's bytes, trusting neither its declared size nor its compressed stream.
    pub fn read(&mut self, index: usize) -> Result<Vec<u8>, Skip> {
        let unreadable = |e: &dyn std::fmt::Display| Skip::Unreadable(e.to_string());
        let file = self.archive.by_index(index).map_err(|e| unreadable(&e))?;
        if file.size() > MAX_PHOTO_FILE_BYTES {
            return Err(Skip::TooLarge { bytes: file.size() });
        }
        let mut bytes = Vec::with_capacity(file.size() as usize);
        file.take(MAX_PHOTO_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| unreadable(&e))?;
        if bytes.len() as u64 > MAX_PHOTO_FILE_BYTES {
            return Err(Skip::TooLarge {
                bytes: bytes.len() as u64,
            });
        }
        Ok(bytes)
    }

    /// Where one file's bytes are likely to lie: its local header, name and compressed data,
    /// as its directory entry says (a guess: a read that needs more asks for it).
    fn likely_span(&self, index: usize) -> Option<Range<u64>> {
        let entry = self.archive.by_index_data(index).ok()?;
        let start = entry.header_start();
        let data = entry.compressed_size().min(MAX_PHOTO_FILE_BYTES + 1);
        Some(start..start.saturating_add(LOCAL_HEADER_GUESS + data))
    }
}

/// Where a lazy zip's bytes come from, a range at a time.
// The page is single-threaded: its futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait ByteSource {
    /// How many bytes the source holds.
    fn size(&self) -> u64;
    async fn read(&self, range: Range<u64>) -> Result<Vec<u8>, String>;
}

/// A zip read from a `ByteSource` a part at a time.
pub struct LazyZipFolder<S> {
    source: S,
    file: SparseFile,
    folder: ZipFolder<SparseFile>,
}

impl<S: ByteSource> LazyZipFolder<S> {
    /// Reads the zip's directory (its end first, then what the directory needs).
    pub async fn open(source: S) -> Result<Self, ZipFolderError> {
        let len = source.size();
        if len == 0 {
            return Err(ZipFolderError::Empty);
        }
        let file = SparseFile::new(len);
        let unreadable = ZipFolderError::Unreadable;
        let tail = len.saturating_sub(TAIL_BYTES)..len;
        load(&source, &file, tail).await.map_err(unreadable)?;
        loop {
            let opened = ZipFolder::from_reader(file.clone());
            let Some(missed) = file.take_miss() else {
                file.forget();
                return opened.map(|folder| Self {
                    source,
                    file,
                    folder,
                });
            };
            if file.loaded() as u64 >= MAX_DIRECTORY_BYTES {
                file.forget();
                return Err(ZipFolderError::NotAZip(format!(
                    "its directory is larger than {} MB",
                    MAX_DIRECTORY_BYTES >> 20
                )));
            }
            let more = widened(missed.0, DIRECTORY_LOAD_BYTES, len);
            load(&source, &file, more).await.map_err(unreadable)?;
        }
    }

    /// Each file's index and path (folders left out), in the zip's order.
    pub fn files(&self) -> Vec<(usize, String)> {
        self.folder.files()
    }

    /// One file's bytes, read from the source as they are needed and dropped after.
    pub async fn read(&mut self, index: usize) -> Result<Vec<u8>, Skip> {
        let read = self.read_loaded(index).await;
        self.file.forget();
        read
    }

    async fn read_loaded(&mut self, index: usize) -> Result<Vec<u8>, Skip> {
        let len = self.file.len();
        let unreadable = Skip::Unreadable;
        if let Some(span) = self.folder.likely_span(index) {
            let span = span.start.min(len)..span.end.min(len);
            load(&self.source, &self.file, span)
                .await
                .map_err(unreadable)?;
        }
        loop {
            let read = self.folder.read(index);
            let Some(missed) = self.file.take_miss() else {
                return read;
            };
            // Compressed bytes beyond twice a photo's limit are not a photo's.
            let loaded = self.file.loaded() as u64;
            if loaded > 2 * MAX_PHOTO_FILE_BYTES + DIRECTORY_LOAD_BYTES {
                return Err(Skip::TooLarge { bytes: loaded });
            }
            let more = widened(missed.0, PHOTO_LOAD_BYTES, len);
            load(&self.source, &self.file, more)
                .await
                .map_err(unreadable)?;
        }
    }

    /// How many of the zip's bytes are in memory (none between reads).
    pub fn loaded(&self) -> usize {
        self.file.loaded()
    }
}

/// Loads a range of the source into the file; a source that gives fewer bytes than asked for
/// (a file changed or cut while it was read) is an error, or a read would miss them forever.
async fn load(
    source: &impl ByteSource,
    file: &SparseFile,
    range: Range<u64>,
) -> Result<(), String> {
    let bytes = source.read(range.clone()).await?;
    if (bytes.len() as u64) < range.end - range.start {
        return Err(format!(
            "it gave {} bytes where {} were asked for",
            bytes.len(),
            range.end - range.start
        ));
    }
    file.load(range.start, bytes);
    Ok(())
}

/// A missed range made at least `at_least` long, within the file.
fn widened(missed: Range<u64>, at_least: u64, len: u64) -> Range<u64> {
    let end = missed
        .end
        .max(missed.start.saturating_add(at_least))
        .min(len);
    missed.start..end
}
