//! A personal model for tools that know nothing of Glimpse: the whole network in one safetensors
//! file (the shipped tensors, the fine-tuned ones and the personal classifier, under the weight
//! file's names) next to a JSON config that names the classes and the preprocessing. Both travel
//! in one zip; the config is also in the safetensors header's metadata (`glimpse.config`).

use std::collections::HashMap;
use std::io::Cursor;

use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::backbone::Backbone;
use super::project_file::{
    Architecture, Preprocessing, ProjectFileError, add_entry, check_format, entry, open_zip,
};
use super::tensor_file::{NamedTensor, to_safetensors};

pub const FORMAT: &str = "glimpse-network";
pub const FORMAT_VERSION: u32 = 1;
pub const CONFIG: &str = "config.json";
pub const WEIGHTS: &str = "model.safetensors";
const MAX_CONFIG_BYTES: u64 = 1 << 20;
const MAX_WEIGHTS_BYTES: u64 = 256 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkConfig {
    pub format: String,
    pub format_version: u32,
    pub created: String,
    pub architecture: Architecture,
    pub preprocessing: Preprocessing,
    /// Names of the outputs, in order.
    pub classes: Vec<String>,
    pub outputs: String,
    pub layout: String,
}

impl NetworkConfig {
    pub fn new(backbone: Backbone, classes: Vec<String>, created: &str) -> Self {
        Self {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            created: created.into(),
            architecture: Architecture::of(backbone),
            preprocessing: Preprocessing::of(backbone),
            classes,
            outputs: "logits, one per class; softmax turns them into probabilities".into(),
            layout: "conv weight [out, in / groups, kh, kw] with folded batch-norm and a bias; \
                     classifier.weight [1280, classes] (input-major), classifier.bias [classes]"
                .into(),
        }
    }
}

/// The zip: `config.json` and `model.safetensors`.
pub fn write(config: &NetworkConfig, tensors: &[NamedTensor]) -> Vec<u8> {
    let json = serde_json::to_string_pretty(config).expect("the config serialises");
    let weights = to_safetensors(
        tensors,
        HashMap::from([("glimpse.config".to_string(), json.clone())]),
    );
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    add_entry(&mut zip, CONFIG, options, json.as_bytes());
    add_entry(&mut zip, WEIGHTS, options, &weights);
    zip.finish()
        .expect("finishing a zip in memory cannot fail")
        .into_inner()
}

/// Reads the zip back: its config (checked) and the safetensors bytes.
pub fn read(bytes: &[u8]) -> Result<(NetworkConfig, Vec<u8>), ProjectFileError> {
    let mut archive = open_zip(bytes)?;
    let json = entry(&mut archive, CONFIG, MAX_CONFIG_BYTES)?;
    let config: NetworkConfig = serde_json::from_slice(&json)
        .map_err(|e| ProjectFileError::Invalid(format!("{CONFIG} is not as expected: {e}")))?;
    check_format(
        CONFIG,
        (&config.format, config.format_version),
        (FORMAT, FORMAT_VERSION),
    )?;
    if config.classes.is_empty() {
        return Err(ProjectFileError::Invalid("the model has no classes".into()));
    }
    let weights = entry(&mut archive, WEIGHTS, MAX_WEIGHTS_BYTES)?;
    Ok((config, weights))
}
