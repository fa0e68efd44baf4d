//! Named f32 tensors and their safetensors encoding, for the export files. No Burn: the page
//! writes project files too.

use std::collections::HashMap;

use safetensors::Dtype;
use safetensors::tensor::TensorView;

/// One tensor read back from the device.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Serialises tensors; a tensor whose values are all exact in f16 (the shipped weights, which
/// came from f16) is stored as f16, anything trained as f32, so nothing is rounded.
pub fn to_safetensors(tensors: &[NamedTensor], metadata: HashMap<String, String>) -> Vec<u8> {
    let encoded: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|t| {
            let halves: Vec<half::f16> = t.values.iter().map(|&v| half::f16::from_f32(v)).collect();
            if halves.iter().zip(&t.values).all(|(h, &v)| h.to_f32() == v) {
                let bytes = halves.iter().flat_map(|h| h.to_le_bytes()).collect();
                (t.name.clone(), Dtype::F16, t.shape.clone(), bytes)
            } else {
                let bytes = t.values.iter().flat_map(|v| v.to_le_bytes()).collect();
                (t.name.clone(), Dtype::F32, t.shape.clone(), bytes)
            }
        })
        .collect();
    let views = encoded.iter().map(|(name, dtype, shape, bytes)| {
        let view = TensorView::new(*dtype, shape.clone(), bytes)
            .expect("a shape and its values come from the same tensor");
        (name.clone(), view)
    });
    let metadata = (!metadata.is_empty()).then_some(metadata);
    safetensors::serialize(views, metadata).expect("in-memory serialisation cannot fail")
}
