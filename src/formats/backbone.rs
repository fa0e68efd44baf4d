//! The pretrained networks a person can start from: EfficientNet-Lite0, Lite1 and Lite2, one
//! family scaled by the reference implementation's rules (`shape`). Each is an ImageNet
//! checkpoint converted once to f16 (`scripts/weights.sh`); a personal model belongs to the
//! backbone its embeddings came from.

use serde::{Deserialize, Serialize};

/// One of the EfficientNet-Lite checkpoints Glimpse can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backbone {
    /// The one the site ships and starts with; records written before there was a choice are
    /// Lite0's.
    #[default]
    Lite0,
    Lite1,
    Lite2,
}

/// The compound-scaling coefficients of one checkpoint (efficientnet_lite_builder.py of the
/// TensorFlow TPU repository: width, depth, resolution).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scaling {
    pub width: f64,
    pub depth: f64,
    pub input_size: usize,
}

impl Backbone {
    pub const ALL: [Backbone; 3] = [Backbone::Lite0, Backbone::Lite1, Backbone::Lite2];

    /// The short name used in the page (`backbone-select`), in records and in file names.
    pub fn id(self) -> &'static str {
        match self {
            Backbone::Lite0 => "lite0",
            Backbone::Lite1 => "lite1",
            Backbone::Lite2 => "lite2",
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|b| b.id() == id)
    }

    /// The network's name as its authors write it.
    pub fn name(self) -> &'static str {
        match self {
            Backbone::Lite0 => "EfficientNet-Lite0",
            Backbone::Lite1 => "EfficientNet-Lite1",
            Backbone::Lite2 => "EfficientNet-Lite2",
        }
    }

    pub fn scaling(self) -> Scaling {
        let (width, depth, input_size) = match self {
            Backbone::Lite0 => (1.0, 1.0, 224),
            Backbone::Lite1 => (1.0, 1.1, 240),
            Backbone::Lite2 => (1.1, 1.2, 260),
        };
        Scaling {
            width,
            depth,
            input_size,
        }
    }

    /// Side of the square input the checkpoint was trained on.
    pub fn input_size(self) -> usize {
        self.scaling().input_size
    }

    /// The converted weight file, as the site serves it next to index.html.
    pub fn weights_file(self) -> &'static str {
        match self {
            Backbone::Lite0 => "efficientnet-lite0.f16.safetensors",
            Backbone::Lite1 => "efficientnet-lite1.f16.safetensors",
            Backbone::Lite2 => "efficientnet-lite2.f16.safetensors",
        }
    }

    /// The weight file's name in its safetensors metadata (`model`, written by the converter).
    pub fn model_name(self) -> &'static str {
        match self {
            Backbone::Lite0 => "efficientnet-lite0",
            Backbone::Lite1 => "efficientnet-lite1",
            Backbone::Lite2 => "efficientnet-lite2",
        }
    }

    /// ImageNet top-1 accuracy of the original checkpoint, in percent, as its authors publish it
    /// (the EfficientNet-Lite README of the TensorFlow TPU repository): not measured here.
    pub fn imagenet_top1(self) -> f32 {
        match self {
            Backbone::Lite0 => 75.1,
            Backbone::Lite1 => 76.7,
            Backbone::Lite2 => 77.6,
        }
    }

    /// Bytes of the converted f16 weight file: what choosing it downloads once.
    pub fn weights_bytes(self) -> u64 {
        // Counted from the converted files (tests/backbones.rs checks them).
        match self {
            Backbone::Lite0 => 9_271_328,
            Backbone::Lite1 => 10_791_792,
            Backbone::Lite2 => 12_138_160,
        }
    }

    /// Only Lite0 ships with the site; the others are fetched when chosen.
    pub fn ships_with_site(self) -> bool {
        self == Backbone::Lite0
    }
}

impl std::fmt::Display for Backbone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_records_without_one_are_lite0() {
        for backbone in Backbone::ALL {
            assert_eq!(Backbone::parse(backbone.id()), Some(backbone));
            let json = serde_json::to_string(&backbone).expect("serialise");
            assert_eq!(json, format!("\"{}\"", backbone.id()));
        }
        assert_eq!(Backbone::parse("lite3"), None);
        assert_eq!(Backbone::default(), Backbone::Lite0);
    }
}
