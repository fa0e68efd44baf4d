//! Loads Glimpse's weight file (f16 safetensors written by `scripts/convert_weights.py`) into an
//! [`EfficientNetLite`]. Every tensor is checked against the shape the architecture expects, so a
//! wrong, truncated or tampered file is refused with a message instead of producing nonsense.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use safetensors::SafeTensors;

use super::model::{
    Backbone, ConvUnit, EfficientNetLite, EfficientNetLiteConfig, IMAGENET_CLASSES,
};
use crate::formats::shape::{block_count, head_channels_in};
use crate::formats::tensor_file::{TensorError, read_floats};

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("the weight file is not a valid safetensors file: {0}")]
    Format(String),
    #[error("the weight file {0}")]
    Tensor(#[from] TensorError),
    #[error("the model tunes {tuned} blocks; the network has {blocks}")]
    TunedBlocks { tuned: usize, blocks: usize },
    #[error("the model has no classes")]
    NoClasses,
    #[error(
        "the weight file is not one of the EfficientNet-Lite backbones \
         ({blocks} blocks, {head_in} channels into the head)"
    )]
    UnknownBackbone { blocks: usize, head_in: usize },
}

/// Reads tensors out of a safetensors buffer, widening f16 to f32.
pub(crate) struct WeightFile<'a> {
    tensors: SafeTensors<'a>,
    device: &'a Device,
}

impl<'a> WeightFile<'a> {
    pub(crate) fn parse(bytes: &'a [u8], device: &'a Device) -> Result<Self, WeightsError> {
        let tensors =
            SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
        Ok(Self { tensors, device })
    }

    pub(crate) fn floats(
        &self,
        name: &str,
        expected: &[usize],
    ) -> Result<TensorData, WeightsError> {
        let values = read_floats(&self.tensors, name, expected)?;
        Ok(TensorData::new(values, expected.to_vec()))
    }

    fn tensor<const D: usize>(
        &self,
        name: &str,
        expected: [usize; D],
    ) -> Result<Tensor<D>, WeightsError> {
        Ok(Tensor::from_data(
            self.floats(name, &expected)?,
            self.device,
        ))
    }

    /// The rows of an optional `[rows, columns]` tensor (None when the file has no such tensor).
    pub(crate) fn optional_rows(
        &self,
        name: &str,
        columns: usize,
    ) -> Result<Option<Vec<Vec<f32>>>, WeightsError> {
        let Ok(view) = self.tensors.tensor(name) else {
            return Ok(None);
        };
        let rows = match view.shape() {
            [rows, _] => *rows,
            _ => 1,
        };
        let values = read_floats(&self.tensors, name, &[rows, columns])?;
        Ok(Some(values.chunks(columns).map(<[f32]>::to_vec).collect()))
    }

    pub(crate) fn conv(&self, prefix: &str, unit: &mut ConvUnit) -> Result<(), WeightsError> {
        let weight_shape: [usize; 4] = unit.conv.weight.lazy_shape().dims();
        unit.conv.weight =
            Param::from_tensor(self.tensor(&format!("{prefix}.weight"), weight_shape)?);
        let bias = self.tensor(&format!("{prefix}.bias"), [weight_shape[0]])?;
        unit.conv.bias = Some(Param::from_tensor(bias));
        Ok(())
    }

    pub(crate) fn linear(&self, prefix: &str, linear: &mut Linear) -> Result<(), WeightsError> {
        let shape: [usize; 2] = linear.weight.lazy_shape().dims();
        linear.weight = Param::from_tensor(self.tensor(&format!("{prefix}.weight"), shape)?);
        linear.bias = Some(Param::from_tensor(
            self.tensor(&format!("{prefix}.bias"), [shape[1]])?,
        ));
        Ok(())
    }
}

/// Which backbone a weight file holds, from its shapes: the number of blocks and the channels
/// into the head conv tell Lite0, Lite1 and Lite2 apart (and any file with Glimpse's tensor
/// names, an exported whole network included, carries them).
pub fn backbone_of(bytes: &[u8]) -> Result<Backbone, WeightsError> {
    let tensors =
        SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
    let blocks = (0..)
        .take_while(|i| {
            tensors
                .tensor(&format!("blocks.{i}.depthwise.weight"))
                .is_ok()
        })
        .count();
    let head_in = tensors
        .tensor("head_conv.weight")
        .map(|t| t.shape().get(1).copied().unwrap_or(0))
        .unwrap_or(0);
    Backbone::ALL
        .into_iter()
        .find(|&b| block_count(b) == blocks && head_channels_in(b) == head_in)
        .ok_or(WeightsError::UnknownBackbone { blocks, head_in })
}

/// Builds the ImageNet model from the bytes of a converted weight file.
pub fn load_imagenet(bytes: &[u8], device: &Device) -> Result<EfficientNetLite, WeightsError> {
    load_network(bytes, IMAGENET_CLASSES, device)
}

/// Builds a whole network with a `classes`-wide classifier: the ImageNet file, or a personal
/// model exported for other tools (same tensor names).
pub fn load_network(
    bytes: &[u8],
    classes: usize,
    device: &Device,
) -> Result<EfficientNetLite, WeightsError> {
    if classes == 0 {
        return Err(WeightsError::NoClasses);
    }
    let file = WeightFile::parse(bytes, device)?;
    let mut model = EfficientNetLiteConfig::new(backbone_of(bytes)?)
        .with_num_classes(classes)
        .init(device);
    file.conv("stem", &mut model.stem)?;
    for (i, block) in model.blocks.iter_mut().enumerate() {
        if let Some(expand) = block.expand.as_mut() {
            file.conv(&format!("blocks.{i}.expand"), expand)?;
        }
        file.conv(&format!("blocks.{i}.depthwise"), &mut block.depthwise)?;
        file.conv(&format!("blocks.{i}.project"), &mut block.project)?;
    }
    file.conv("head_conv", &mut model.head_conv)?;
    file.linear("classifier", &mut model.classifier)?;
    Ok(model)
}
