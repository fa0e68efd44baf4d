//! Burn-free file formats and the plain records the page and the engine both hold: the project
//! file, the model for other tools, safetensors reading and writing, what training and decoding
//! report, the results table (CSV), the network's fixed sizes. The page links only this and `protocol`; the engine's side
//! (`engine`, `ml`) builds on it.

pub mod backbone;
pub mod calibration;
pub mod folder_import;
pub mod interval;
pub mod latency;
pub mod metrics;
/// Built with the engine only: the page never writes one, and the protobuf code is not small.
#[cfg(feature = "engine")]
pub mod onnx_model;
pub mod open_set;
pub mod photo;
pub mod project_file;
pub mod records;
pub mod results_csv;
pub mod shape;
pub mod sparse_file;
pub mod standalone;
pub mod tensor_file;
pub mod zip_folder;
