//! The engine owns the device and the models and answers requests. It knows nothing of the
//! browser: the worker hands it a `Device` and the weight bytes, the native tests do the same
//! with `Device::flex()`, so every path the page takes is tested natively.

mod answer;
mod instance;
pub mod model_file;
mod photo_cache;
pub mod profile;
pub mod teach;

pub use crate::formats::records::BenchmarkRun;
/// The GPU path's fused convolutions on or off (on by default; benchmarks compare both).
pub use crate::ml::gpu_kernels::set_enabled as use_fused_gpu_kernels;
pub use answer::Respond;
pub use instance::*;
