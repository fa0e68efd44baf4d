//! Importing a labelled folder or zip: which class each file goes to, what is left out and why,
//! and hostile zips (`formats::folder_import`, `formats::zip_folder`), with the fixture photos.

use std::cell::RefCell;
use std::io::{Cursor, Write};
use std::ops::Range;

use futures::executor::block_on;
use glimpse::formats::folder_import::{
    ClassTally, FolderImport, MAX_PHOTO_FILE_BYTES, Skip, content_hash, file_name, is_litter,
};
use glimpse::formats::project_file::MAX_CLASSES;
use glimpse::formats::zip_folder::{ByteSource, LazyZipFolder, ZipFolder, ZipFolderError};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in files {
        if name.ends_with('/') {
            zip.add_directory(*name, SimpleFileOptions::default())
                .unwrap();
        } else {
            zip.start_file(*name, SimpleFileOptions::default()).unwrap();
            zip.write_all(bytes).unwrap();
        }
    }
    zip.finish().unwrap().into_inner()
}

/// A zip's bytes handed out a range at a time, as a browser `File` does, keeping every range
/// asked for.
struct OnDisk {
    bytes: Vec<u8>,
    reads: RefCell<Vec<Range<u64>>>,
}

impl OnDisk {
    fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            reads: RefCell::default(),
        }
    }

    /// Bytes read so far, and forgets the ranges.
    fn take_read(&self) -> u64 {
        self.reads.take().iter().map(|r| r.end - r.start).sum()
    }
}

impl ByteSource for &OnDisk {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    async fn read(&self, range: Range<u64>) -> Result<Vec<u8>, String> {
        self.reads.borrow_mut().push(range.clone());
        Ok(self.bytes[range.start as usize..range.end as usize].to_vec())
    }
}

/// Runs a whole import of a zip the way the page does (read from disk a part at a time): every
/// file placed, read and admitted.
fn import_zip(
    name: &str,
    bytes: Vec<u8>,
    existing: &[&str],
) -> (FolderImport, Vec<(String, String)>) {
    let disk = OnDisk::new(bytes);
    let mut folder = block_on(LazyZipFolder::open(&disk)).unwrap();
    let files = folder.files();
    let mut import = FolderImport::new(
        name,
        files.iter().map(|(_, path)| path.as_str()),
        existing.iter().map(|s| s.to_string()),
        [],
    );
    let mut placed = Vec::new();
    for (index, path) in &files {
        let Some(class) = import.class_of(path) else {
            continue;
        };
        match block_on(folder.read(*index)) {
            Ok(bytes) => {
                if let Ok(admitted) = import.admit(path, &class, &bytes) {
                    placed.push((admitted.class, file_name(path).to_string()));
                }
            }
            Err(reason) => import.skip(path, reason),
        }
    }
    (import, placed)
}

fn tally(name: &str, added: usize, new: bool) -> ClassTally {
    ClassTally {
        name: name.into(),
        added,
        new,
    }
}

#[test]
fn subfolders_of_a_shared_root_are_classes_and_its_own_photos_a_class_named_after_it() {
    let (cat, torch, bridge) = (
        fixture("photos/cat.jpg"),
        fixture("photos/torch.jpg"),
        fixture("photos/bridge.jpg"),
    );
    let brick = fixture("textures/brick.png");
    let zip = zip_of(&[
        ("pets/", b""),
        ("pets/cats/", b""),
        ("pets/cats/cat.jpg", &cat),
        ("pets/cats/indoor/brick.png", &brick),
        ("pets/lights/torch.jpg", &torch),
        ("pets/bridge.jpg", &bridge),
    ]);
    let (import, placed) = import_zip("my photos.zip", zip, &[]);
    assert_eq!(
        placed,
        [
            ("cats", "cat.jpg"),
            ("cats", "brick.png"),
            ("lights", "torch.jpg"),
            ("pets", "bridge.jpg")
        ]
        .map(|(c, f)| (c.to_string(), f.to_string()))
    );
    assert_eq!(
        import.report().classes,
        [
            tally("cats", 2, true),
            tally("lights", 1, true),
            tally("pets", 1, true)
        ]
    );
    assert!(import.report().skipped.is_empty());
}

#[test]
fn a_zip_of_class_folders_without_a_root_and_photos_at_its_top_named_after_the_zip() {
    let (cat, torch) = (fixture("photos/cat.jpg"), fixture("photos/torch.jpg"));
    let zip = zip_of(&[("cats/cat.jpg", &cat), ("torch.jpg", &torch)]);
    let (import, _) = import_zip("holiday.zip", zip, &[]);
    assert_eq!(
        import.report().classes,
        [tally("cats", 1, true), tally("holiday", 1, true)]
    );
}

#[test]
fn a_folder_of_photos_alone_is_one_class_named_after_the_folder() {
    // As `webkitdirectory` gives them: every path starts with the folder picked.
    let paths = ["flamingos/a.jpg", "flamingos/b.jpg"];
    let mut import = FolderImport::new("flamingos", paths, [], []);
    assert_eq!(import.class_of(paths[0]).as_deref(), Some("flamingos"));
    assert_eq!(
        import.class_of("flamingos\\b.jpg").as_deref(),
        Some("flamingos")
    );
}

#[test]
fn macos_litter_and_dotfiles_are_ignored_without_a_word() {
    let cat = fixture("photos/cat.jpg");
    let zip = zip_of(&[
        ("set/cats/cat.jpg", &cat),
        (
            "__MACOSX/set/cats/._cat.jpg",
            b"\x00\x05\x16\x07 resource fork",
        ),
        ("set/.DS_Store", b"\x00\x00\x00\x01Bud1"),
        ("set/cats/.hidden.jpg", &cat),
        ("set/Thumbs.db", b"thumbs"),
    ]);
    let (import, placed) = import_zip("set.zip", zip, &[]);
    assert_eq!(placed.len(), 1);
    assert_eq!(import.report().ignored, 4);
    assert!(import.report().skipped.is_empty());
    // The litter does not stop `set` from being the shared root either.
    assert_eq!(import.report().classes, [tally("cats", 1, true)]);
    assert!(is_litter("a/__MACOSX/b.jpg") && is_litter(".git/x") && !is_litter("a.b/c.jpg"));
}

#[test]
fn unicode_names_keep_their_letters_and_match_existing_classes_whatever_their_case() {
    let (cat, torch, bridge) = (
        fixture("photos/cat.jpg"),
        fixture("photos/torch.jpg"),
        fixture("photos/bridge.jpg"),
    );
    let zip = zip_of(&[
        ("Fotos/Katzen 🐈/Kätzchen.jpg", &cat),
        ("Fotos/Brücken/brücke.jpg", &bridge),
        ("Fotos/FACKELN/torch.jpg", &torch),
    ]);
    let (import, placed) = import_zip("fotos.zip", zip, &["Fackeln", "Äpfel"]);
    assert_eq!(
        placed[0],
        ("Katzen 🐈".to_string(), "Kätzchen.jpg".to_string())
    );
    assert_eq!(
        import.report().classes,
        [
            tally("Katzen 🐈", 1, true),
            tally("Brücken", 1, true),
            tally("Fackeln", 1, false)
        ]
    );
}

#[test]
fn duplicates_by_content_are_skipped_naming_the_first_and_photos_already_kept_naming_their_class() {
    let (cat, torch) = (fixture("photos/cat.jpg"), fixture("photos/torch.jpg"));
    let paths = [
        "p/cats/cat.jpg",
        "p/dogs/same-cat-renamed.jpg",
        "p/cats/torch.jpg",
    ];
    let mut import = FolderImport::new(
        "p",
        paths,
        ["lights".to_string()],
        [(content_hash(&torch), "lights".into())],
    );
    assert!(import.admit(paths[0], "cats", &cat).is_ok());
    assert_eq!(
        import.admit(paths[1], "dogs", &cat),
        Err(Skip::DuplicateOf("p/cats/cat.jpg".into()))
    );
    assert_eq!(
        import.admit(paths[2], "cats", &torch),
        Err(Skip::AlreadyIn("lights".into()))
    );
    assert_eq!(import.report().classes, [tally("cats", 1, true)]);
    let reasons: Vec<String> = import
        .report()
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.path, s.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            "p/dogs/same-cat-renamed.jpg: the same photo as p/cats/cat.jpg",
            "p/cats/torch.jpg: already in the class \"lights\"",
        ]
    );
    // One changed byte is another photo.
    let mut edited = cat.clone();
    *edited.last_mut().unwrap() ^= 1;
    assert_ne!(content_hash(&edited), content_hash(&cat));
}

#[test]
fn files_that_are_not_photos_or_too_large_are_listed_with_their_reason() {
    let mut big = fixture("photos/cat.jpg");
    big.resize(MAX_PHOTO_FILE_BYTES as usize + 1, 0);
    let zip = zip_of(&[
        ("set/cats/notes.txt", b"my cat photos"),
        (
            "set/cats/scan.jpg",
            b"%PDF-1.7 a document named like a photo",
        ),
        ("set/cats/huge.jpg", &big),
        ("set/cats/flamingo.jpg", &fixture("photos/flamingo.jpg")),
    ]);
    let (import, placed) = import_zip("set.zip", zip, &[]);
    assert_eq!(placed.len(), 1);
    let skipped: Vec<(&str, &Skip)> = import
        .report()
        .skipped
        .iter()
        .map(|s| (s.path.as_str(), &s.reason))
        .collect();
    assert_eq!(
        skipped,
        [
            ("set/cats/notes.txt", &Skip::NotAPhoto),
            ("set/cats/scan.jpg", &Skip::NotAPhoto),
            (
                "set/cats/huge.jpg",
                &Skip::TooLarge {
                    bytes: MAX_PHOTO_FILE_BYTES + 1
                }
            ),
        ]
    );
    assert_eq!(
        Skip::TooLarge { bytes: 40 << 20 }.to_string(),
        "40.0 MB, more than the 32.0 MB a photo may have"
    );
}

#[test]
fn no_more_classes_than_a_project_holds() {
    let cat = fixture("photos/cat.jpg");
    let existing: Vec<String> = (0..MAX_CLASSES - 1).map(|i| format!("class {i}")).collect();
    let mut import = FolderImport::new("x", ["x/a/1.jpg", "x/b/2.jpg"], existing, []);
    assert!(import.admit("x/a/1.jpg", "a", &cat).is_ok());
    let mut other = cat.clone();
    other.push(0);
    assert_eq!(
        import.admit("x/a/2.jpg", "a", &other).map(|a| a.class),
        Ok("a".to_string())
    );
    other.push(0);
    assert_eq!(
        import.admit("x/b/2.jpg", "b", &other),
        Err(Skip::TooManyClasses)
    );
    other.push(0);
    assert_eq!(
        import
            .admit("x/b/3.jpg", "class 7", &other)
            .map(|a| a.class),
        Ok("class 7".to_string())
    );
}

#[test]
fn bad_zips_are_refused_whole_with_their_reason_in_memory_and_from_disk() {
    let good = zip_of(&[("cats/cat.jpg", &fixture("photos/cat.jpg"))]);
    let refusal = |bytes: Vec<u8>| {
        let in_memory = ZipFolder::open(bytes.clone()).err().map(|e| e.to_string());
        let disk = OnDisk::new(bytes);
        let from_disk = block_on(LazyZipFolder::open(&disk))
            .err()
            .map(|e| e.to_string());
        assert_eq!(in_memory, from_disk);
        in_memory
    };
    assert_eq!(refusal(Vec::new()), Some(ZipFolderError::Empty.to_string()));
    assert!(
        refusal(good[..good.len() / 2].to_vec())
            .unwrap()
            .starts_with("it is not a zip archive, or it is cut short")
    );
    assert!(
        refusal(fixture("photos/cat.jpg"))
            .unwrap()
            .starts_with("it is not a zip archive")
    );
    assert_eq!(
        refusal(zip_of(&[("empty/", b"")])),
        Some("it holds no files".to_string())
    );
    let project = zip_of(&[("manifest.json", b"{}"), ("model.safetensors", b"")]);
    assert_eq!(
        refusal(project),
        Some(ZipFolderError::ProjectFile.to_string())
    );
}

#[test]
fn a_zip_entry_that_claims_a_small_size_but_inflates_beyond_the_limit_is_too_large() {
    // A deflated run of zeros: a few kilobytes that inflate past the photo limit.
    let zeros = vec![0u8; MAX_PHOTO_FILE_BYTES as usize + 10];
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("bomb/zeros.jpg", deflated).unwrap();
    zip.write_all(&zeros).unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    assert!(bytes.len() < 1 << 20);
    // Rewrite the declared sizes (local header and central directory) to claim 1 KB.
    let declared = (MAX_PHOTO_FILE_BYTES as u32 + 10).to_le_bytes();
    let claimed = 1024u32.to_le_bytes();
    for i in 0..bytes.len() - 4 {
        if bytes[i..i + 4] == declared {
            bytes[i..i + 4].copy_from_slice(&claimed);
        }
    }
    let mut folder = ZipFolder::open(bytes.clone()).unwrap();
    let (index, _) = folder.files()[0].clone();
    assert!(matches!(
        folder.read(index),
        Err(Skip::TooLarge { .. }) | Err(Skip::Unreadable(_))
    ));
    let disk = OnDisk::new(bytes);
    let mut folder = block_on(LazyZipFolder::open(&disk)).unwrap();
    assert!(matches!(
        block_on(folder.read(index)),
        Err(Skip::TooLarge { .. }) | Err(Skip::Unreadable(_))
    ));
}

#[test]
fn a_zip_read_from_disk_holds_its_directory_and_one_photo_at_a_time() {
    let photos: Vec<(String, Vec<u8>)> = ["bridge", "cat", "coyote", "flamingo", "torch"]
        .iter()
        .flat_map(|name| {
            let bytes = fixture(&format!("photos/{name}.jpg"));
            (0..8).map(move |i| (format!("{name}s/{name}-{i}.jpg"), bytes.clone()))
        })
        .collect();
    let files: Vec<(&str, &[u8])> = photos
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let bytes = zip_of(&files);
    let disk = OnDisk::new(bytes.clone());
    let mut lazy = block_on(LazyZipFolder::open(&disk)).unwrap();
    // The directory is in the zip's last 256 KiB: one read, and nothing is kept after it.
    assert_eq!(disk.take_read(), (256 << 10).min(bytes.len() as u64));
    assert_eq!(lazy.loaded(), 0);
    let mut in_memory = ZipFolder::open(bytes).unwrap();
    assert_eq!(lazy.files(), in_memory.files());
    let largest = photos.iter().map(|(_, b)| b.len()).max().unwrap() as u64;
    for (index, path) in lazy.files() {
        let read = block_on(lazy.read(index)).unwrap();
        assert_eq!(read, in_memory.read(index).unwrap(), "{path}");
        // One read of the photo, its header and little more.
        let reads = disk.reads.borrow().len();
        let bytes = disk.take_read();
        assert!(
            reads == 1 && bytes <= read.len() as u64 + 4096,
            "{path}: {reads} reads, {bytes} bytes"
        );
        assert!(bytes < largest + 4096);
        assert_eq!(lazy.loaded(), 0);
    }
}

#[test]
fn a_directory_beyond_the_zips_last_part_is_read_in_more_parts() {
    let name = |i: usize| format!("class-{}/{i:04}-{}.jpg", i % 10, "x".repeat(150));
    let names: Vec<String> = (0..3000).map(name).collect();
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"tiny"[..])).collect();
    let bytes = zip_of(&files);
    let disk = OnDisk::new(bytes.clone());
    let mut lazy = block_on(LazyZipFolder::open(&disk)).unwrap();
    assert_eq!(lazy.files().len(), 3000);
    // The directory (3,000 entries of about 200 bytes) is larger than the first read.
    assert!(disk.reads.borrow().len() >= 2);
    assert!(disk.take_read() < bytes.len() as u64 + (1 << 20));
    assert_eq!(block_on(lazy.read(lazy.files()[2999].0)).unwrap(), b"tiny");
}

#[test]
fn a_zip_that_gives_fewer_bytes_than_asked_for_is_refused_not_read_forever() {
    struct Short(Vec<u8>);
    impl ByteSource for Short {
        fn size(&self) -> u64 {
            self.0.len() as u64 * 2
        }
        async fn read(&self, range: Range<u64>) -> Result<Vec<u8>, String> {
            let end = (range.end as usize).min(self.0.len());
            Ok(self
                .0
                .get(range.start as usize..end)
                .unwrap_or(&[])
                .to_vec())
        }
    }
    let good = zip_of(&[("cats/cat.jpg", &fixture("photos/cat.jpg"))]);
    let refused = block_on(LazyZipFolder::open(Short(good))).err().unwrap();
    assert!(
        refused
            .to_string()
            .starts_with("the browser could not read it (it gave"),
        "{refused}"
    );
}
