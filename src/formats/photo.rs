//! What reading a photo can go wrong with, and where the model's square lies in it: the page shows
//! both without decoding anything itself.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum DecodeError {
    #[error("the file is empty")]
    Empty,
    #[error("not an image in a format Glimpse reads (JPEG, PNG, WebP, GIF, BMP)")]
    UnknownFormat,
    #[error(
        "the image is {width}x{height} pixels, more than the {budget} megapixels Glimpse decodes"
    )]
    TooLarge {
        width: u32,
        height: u32,
        budget: u64,
    },
    /// Within the pixel budget but too deep (16-bit channels, alpha) to decode in the memory
    /// budget; `needed_mb` is known when the header says it, not when a decoder hits the limit.
    #[error("{}", memory_message(*needed_mb, *budget_mb))]
    TooMuchMemory {
        needed_mb: Option<u64>,
        budget_mb: u64,
    },
    #[error("the image has no pixels")]
    NoPixels,
    #[error("the image uses a feature Glimpse cannot decode: {0}")]
    Unsupported(String),
    #[error("the image could not be decoded: {0}")]
    Corrupt(String),
}

fn memory_message(needed_mb: Option<u64>, budget_mb: u64) -> String {
    match needed_mb {
        Some(needed) => format!(
            "decoding the image would need {needed} MB of memory, more than the {budget_mb} MB \
             Glimpse allows for one photo"
        ),
        None => format!(
            "decoding the image would need more than the {budget_mb} MB of memory Glimpse allows \
             for one photo"
        ),
    }
}

/// The square of the decoded (upright) photo that the model sees, in its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CropBox {
    pub x: u32,
    pub y: u32,
    pub side: u32,
}
