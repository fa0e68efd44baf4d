//! A file of known length of which only some byte ranges are in memory, readable and seekable
//! as a whole: a reader that asks for bytes not loaded gets an error, and the file remembers
//! which range was missed so that its owner can load it and let the reader try again.
//!
//! This lets a synchronous reader (the `zip` crate's) work on a file that only an asynchronous
//! source can read a part at a time (a browser `File`), holding no more of it than it needs.

use std::cell::{Cell, RefCell};
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::Range;
use std::rc::Rc;

/// The error a read gets where nothing is loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bytes {}..{} of the file are not loaded", .0.start, .0.end)]
pub struct NotLoaded(pub Range<u64>);

/// Bytes of the file from `start` on.
#[derive(Debug)]
struct Part {
    start: u64,
    bytes: Vec<u8>,
}

/// Clones share the loaded parts and the missed range; each has its own position.
#[derive(Clone, Debug)]
pub struct SparseFile {
    len: u64,
    position: u64,
    parts: Rc<RefCell<Vec<Part>>>,
    missed: Rc<Cell<Option<(u64, u64)>>>,
}

impl SparseFile {
    pub fn new(len: u64) -> Self {
        Self {
            len,
            position: 0,
            parts: Rc::default(),
            missed: Rc::default(),
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Puts `bytes` in place from `start` on (cut at the file's end).
    pub fn load(&self, start: u64, mut bytes: Vec<u8>) {
        bytes.truncate(self.len.saturating_sub(start) as usize);
        if !bytes.is_empty() {
            self.parts.borrow_mut().push(Part { start, bytes });
        }
    }

    /// Drops every loaded part.
    pub fn forget(&self) {
        self.parts.borrow_mut().clear();
    }

    /// How many bytes are in memory.
    pub fn loaded(&self) -> usize {
        self.parts.borrow().iter().map(|p| p.bytes.len()).sum()
    }

    /// The range a read last missed, cleared as it is taken.
    pub fn take_miss(&self) -> Option<NotLoaded> {
        self.missed.take().map(|(start, end)| NotLoaded(start..end))
    }
}

impl Read for SparseFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.position >= self.len {
            return Ok(0);
        }
        let at = self.position;
        let parts = self.parts.borrow();
        let part = parts
            .iter()
            .find(|p| p.start <= at && at < p.start + p.bytes.len() as u64);
        let Some(Part { start, bytes }) = part else {
            let end = (at + buf.len() as u64).min(self.len);
            self.missed.set(Some((at, end)));
            return Err(io::Error::other(NotLoaded(at..end)));
        };
        let from = (at - start) as usize;
        let n = buf.len().min(bytes.len() - from);
        buf[..n].copy_from_slice(&bytes[from..from + n]);
        drop(parts);
        self.position += n as u64;
        Ok(n)
    }
}

impl Seek for SparseFile {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.position.checked_add_signed(d),
        };
        let target = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.position = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_is_loaded_and_names_what_is_not() {
        let file = SparseFile::new(10);
        file.load(2, vec![2, 3, 4, 5]);
        let mut reader = file.clone();
        reader.seek(SeekFrom::Start(3)).unwrap();
        let mut buf = [0; 8];
        // A read stops where the loaded part does.
        assert_eq!(reader.read(&mut buf).unwrap(), 3);
        assert_eq!(&buf[..3], &[3, 4, 5]);
        let error = reader.read(&mut buf).unwrap_err();
        assert_eq!(error.to_string(), NotLoaded(6..10).to_string());
        assert_eq!(file.take_miss(), Some(NotLoaded(6..10)));
        assert_eq!(file.take_miss(), None);
    }

    #[test]
    fn a_load_past_the_end_is_cut_and_forget_frees_everything() {
        let file = SparseFile::new(4);
        file.load(2, vec![7; 100]);
        assert_eq!(file.loaded(), 2);
        let mut reader = file.clone();
        reader.seek(SeekFrom::End(-2)).unwrap();
        let mut all = Vec::new();
        reader.read_to_end(&mut all).unwrap();
        assert_eq!(all, [7, 7]);
        file.forget();
        assert_eq!(file.loaded(), 0);
        reader.seek(SeekFrom::Start(2)).unwrap();
        assert!(reader.read(&mut [0; 1]).is_err());
    }

    #[test]
    fn seeking_before_the_start_is_an_error() {
        let mut file = SparseFile::new(4);
        assert!(file.seek(SeekFrom::Current(-1)).is_err());
        assert_eq!(file.seek(SeekFrom::End(0)).unwrap(), 4);
        assert_eq!(file.read(&mut [0; 4]).unwrap(), 0);
    }
}
