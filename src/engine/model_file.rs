//! A personal model as safetensors, under the same tensor names as the ImageNet weight file
//! (`classifier.*` for the personal head, `blocks.N.*` and `head_conv.*` for fine-tuned layers),
//! so that a whole exported network loads with [`load_network`](crate::ml::weights::load_network)
//! and a personal part overlays the shipped weights name for name.

use burn::nn::Linear;
use burn::prelude::*;

use super::teach::{Known, PersonalModel};
use crate::formats::open_set::Prototypes;
use crate::formats::shape::block_count;
pub use crate::formats::tensor_file::{NamedTensor, to_safetensors};
use crate::ml::fine_tune::TunableTop;
use crate::ml::model::{ConvUnit, EfficientNetLite, FEATURE_CHANNELS, MbConv};
use crate::ml::personal_head::PersonalHeadConfig;
use crate::ml::readback::{ReadbackError, read_floats};
use crate::ml::weights::{WeightFile, WeightsError};

async fn named<const D: usize>(
    name: String,
    tensor: Tensor<D>,
) -> Result<NamedTensor, ReadbackError> {
    let shape = tensor.dims().to_vec();
    Ok(NamedTensor {
        name,
        shape,
        values: read_floats(tensor).await?,
    })
}

async fn push_conv(
    out: &mut Vec<NamedTensor>,
    prefix: &str,
    unit: &ConvUnit,
) -> Result<(), ReadbackError> {
    out.push(named(format!("{prefix}.weight"), unit.conv.weight.val()).await?);
    if let Some(bias) = &unit.conv.bias {
        out.push(named(format!("{prefix}.bias"), bias.val()).await?);
    }
    Ok(())
}

async fn push_linear(
    out: &mut Vec<NamedTensor>,
    prefix: &str,
    linear: &Linear,
) -> Result<(), ReadbackError> {
    out.push(named(format!("{prefix}.weight"), linear.weight.val()).await?);
    if let Some(bias) = &linear.bias {
        out.push(named(format!("{prefix}.bias"), bias.val()).await?);
    }
    Ok(())
}

async fn push_block(
    out: &mut Vec<NamedTensor>,
    index: usize,
    block: &MbConv,
) -> Result<(), ReadbackError> {
    if let Some(expand) = &block.expand {
        push_conv(out, &format!("blocks.{index}.expand"), expand).await?;
    }
    push_conv(out, &format!("blocks.{index}.depthwise"), &block.depthwise).await?;
    push_conv(out, &format!("blocks.{index}.project"), &block.project).await
}

/// Index in the whole network of the first fine-tuned block.
fn first_tuned(personal: &PersonalModel, top: &TunableTop) -> usize {
    block_count(personal.backbone) - top.blocks.len()
}

/// What a personal model adds to the shipped network: its head, and its fine-tuned layers.
pub async fn personal_tensors(personal: &PersonalModel) -> Result<Vec<NamedTensor>, ReadbackError> {
    let mut out = Vec::new();
    match &personal.top {
        None => push_linear(&mut out, "classifier", &personal.head.linear).await?,
        Some(top) => {
            for (i, block) in top.blocks.iter().enumerate() {
                push_block(&mut out, first_tuned(personal, top) + i, block).await?;
            }
            push_conv(&mut out, "head_conv", &top.head_conv).await?;
            push_linear(&mut out, "classifier", &top.head.linear).await?;
        }
    }
    Ok(out)
}

/// Names of the open-set rule's tensors in a kept personal model.
const PROTOTYPES: &str = "open_set.prototypes";
const THRESHOLD: &str = "open_set.threshold";

/// A personal model as the page keeps it: what it adds to the shipped network, and its open-set
/// rule (which the exports for other tools leave out: they classify, as the ImageNet model does).
pub async fn kept_tensors(personal: &PersonalModel) -> Result<Vec<NamedTensor>, ReadbackError> {
    let mut out = personal_tensors(personal).await?;
    if let Some(known) = &personal.known {
        out.push(NamedTensor {
            name: PROTOTYPES.to_string(),
            shape: vec![known.prototypes.rows.len(), FEATURE_CHANNELS],
            values: known.prototypes.rows.iter().flatten().copied().collect(),
        });
        out.push(NamedTensor {
            name: THRESHOLD.to_string(),
            shape: vec![1],
            values: vec![known.threshold],
        });
    }
    Ok(out)
}

/// The whole network of a personal model, for tools that know nothing of Glimpse.
pub async fn network_tensors(
    base: &EfficientNetLite,
    personal: &PersonalModel,
) -> Result<Vec<NamedTensor>, ReadbackError> {
    let mut out = Vec::new();
    push_conv(&mut out, "stem", &base.stem).await?;
    let first = personal
        .top
        .as_ref()
        .map_or(base.blocks.len(), |top| first_tuned(personal, top));
    for (i, block) in base.blocks[..first].iter().enumerate() {
        push_block(&mut out, i, block).await?;
    }
    out.extend(personal_tensors(personal).await?);
    if personal.top.is_none() {
        // The head conv is the shipped one; keep the classifier last, as in the weight file.
        let classifier = out.pop();
        push_conv(&mut out, "head_conv", &base.head_conv).await?;
        out.extend(classifier);
    }
    Ok(out)
}

/// Rebuilds a personal model from its safetensors (as written from [`personal_tensors`]) on top
/// of the shipped network, checking every tensor's name, shape and values.
pub fn load_personal(
    bytes: &[u8],
    classes: &[String],
    tuned_blocks: usize,
    base: &EfficientNetLite,
    device: &Device,
) -> Result<PersonalModel, WeightsError> {
    let blocks = base.blocks.len();
    if tuned_blocks > blocks {
        return Err(WeightsError::TunedBlocks {
            tuned: tuned_blocks,
            blocks,
        });
    }
    if classes.is_empty() {
        return Err(WeightsError::NoClasses);
    }
    let file = WeightFile::parse(bytes, device)?;
    let mut head = PersonalHeadConfig::new(classes.len()).init(device);
    file.linear("classifier", &mut head.linear)?;
    let top = if tuned_blocks == 0 {
        None
    } else {
        let mut top = TunableTop::from_model(base, tuned_blocks, head.clone());
        let first = blocks - tuned_blocks;
        for (i, block) in top.blocks.iter_mut().enumerate() {
            if let Some(expand) = block.expand.as_mut() {
                file.conv(&format!("blocks.{}.expand", first + i), expand)?;
            }
            file.conv(
                &format!("blocks.{}.depthwise", first + i),
                &mut block.depthwise,
            )?;
            file.conv(&format!("blocks.{}.project", first + i), &mut block.project)?;
        }
        file.conv("head_conv", &mut top.head_conv)?;
        Some(top)
    };
    debug_assert_eq!(head.linear.weight.dims(), [FEATURE_CHANNELS, classes.len()]);
    let known = match file.optional_rows(PROTOTYPES, FEATURE_CHANNELS)? {
        None => None,
        Some(rows) => Some(Known {
            prototypes: Prototypes::kept(rows),
            threshold: file
                .floats(THRESHOLD, &[1])?
                .iter::<f32>()
                .next()
                .unwrap_or(-1.0),
        }),
    };
    Ok(PersonalModel {
        backbone: base.backbone(),
        classes: classes.to_vec(),
        head,
        top,
        known,
    })
}
