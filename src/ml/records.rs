//! What the model side reports, as plain data: shared with the page, which builds without Burn.

use serde::{Deserialize, Serialize};

/// The weight file's name in the built site.
pub const WEIGHTS_FILE: &str = "efficientnet-lite0.f16.safetensors";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SaliencyMethod {
    GradCam,
    SmoothGrad,
}

impl SaliencyMethod {
    pub const ALL: [SaliencyMethod; 2] = [SaliencyMethod::GradCam, SaliencyMethod::SmoothGrad];

    /// Stable identifier (`data-method` on the page).
    pub fn id(self) -> &'static str {
        match self {
            SaliencyMethod::GradCam => "grad-cam",
            SaliencyMethod::SmoothGrad => "smoothgrad",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.id() == id)
    }

    pub fn title(self) -> &'static str {
        match self {
            SaliencyMethod::GradCam => "Grad-CAM (regions)",
            SaliencyMethod::SmoothGrad => "SmoothGrad (pixels)",
        }
    }
}

/// Loss and accuracy after one epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
}
