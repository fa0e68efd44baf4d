//! Named f32 tensors and their safetensors encoding and decoding: the export files and the weight
//! files share them. No Burn: the page writes project files too.

use std::collections::HashMap;

use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

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

/// Why a tensor could not be read; the file it came from is named by the caller's error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TensorError {
    #[error("has no tensor named `{0}`")]
    Missing(String),
    #[error("has tensor `{name}` of shape {found:?}, expected {expected:?}")]
    Shape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("stores tensor `{name}` as {found}, expected f16 or f32")]
    DType { name: String, found: String },
    #[error("has a value in tensor `{0}` that is not a finite number")]
    NotFinite(String),
}

/// The values of tensor `name` (f16 widened to f32), checked to have shape `expected` and to be
/// finite, so a wrong, truncated or tampered file is refused instead of producing nonsense.
pub fn read_floats(
    tensors: &SafeTensors<'_>,
    name: &str,
    expected: &[usize],
) -> Result<Vec<f32>, TensorError> {
    let view = tensors
        .tensor(name)
        .map_err(|_| TensorError::Missing(name.to_string()))?;
    if view.shape() != expected {
        return Err(TensorError::Shape {
            name: name.to_string(),
            expected: expected.to_vec(),
            found: view.shape().to_vec(),
        });
    }
    let values: Vec<f32> = match view.dtype() {
        Dtype::F16 => view
            .data()
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        other => {
            return Err(TensorError::DType {
                name: name.to_string(),
                found: format!("{other:?}"),
            });
        }
    };
    if values.iter().any(|v| !v.is_finite()) {
        return Err(TensorError::NotFinite(name.to_string()));
    }
    Ok(values)
}
