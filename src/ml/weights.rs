//! Loads Glimpse's weight file (f16 safetensors written by `scripts/convert_weights.py`) into an
//! [`EfficientNetLite0`]. Every tensor is checked against the shape the architecture expects, so a
//! wrong, truncated or tampered file is refused with a message instead of producing nonsense.

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use safetensors::SafeTensors;

use super::model::{ConvUnit, EfficientNetLite0, EfficientNetLite0Config, IMAGENET_CLASSES};
pub use crate::formats::records::WEIGHTS_FILE;
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

/// Builds the ImageNet model from the bytes of the shipped weight file.
pub fn load_imagenet(bytes: &[u8], device: &Device) -> Result<EfficientNetLite0, WeightsError> {
    load_network(bytes, IMAGENET_CLASSES, device)
}

/// Builds a whole network with a `classes`-wide classifier: the ImageNet file, or a personal
/// model exported for other tools (same tensor names).
pub fn load_network(
    bytes: &[u8],
    classes: usize,
    device: &Device,
) -> Result<EfficientNetLite0, WeightsError> {
    if classes == 0 {
        return Err(WeightsError::NoClasses);
    }
    let file = WeightFile::parse(bytes, device)?;
    let mut model = EfficientNetLite0Config::new()
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
