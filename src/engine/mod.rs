//! The engine owns the device and the models and answers requests. It knows nothing of the
//! browser: the worker hands it a `Device` and the weight bytes, the native tests do the same
//! with `Device::flex()`, so every path the page takes is tested natively.

//!
//! Without the `engine` feature (the page's build) only the plain-data parts remain: the export
//! files and the records the protocol carries.

pub mod bundle;
pub mod records;
pub mod standalone;
pub mod tensor_file;

#[cfg(feature = "engine")]
mod instance;
#[cfg(feature = "engine")]
pub mod model_file;
#[cfg(feature = "engine")]
mod photo_cache;
#[cfg(feature = "engine")]
pub mod profile;
#[cfg(feature = "engine")]
pub mod teach;

/// The GPU path's fused convolutions on or off (on by default; benchmarks compare both).
#[cfg(feature = "engine")]
pub use crate::ml::gpu_kernels::set_enabled as use_fused_gpu_kernels;
#[cfg(feature = "engine")]
pub use instance::*;
pub use records::BenchmarkRun;
