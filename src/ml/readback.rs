//! The one place tensors come back to the CPU. On wasm a synchronous read panics (the GPU answers
//! through a promise), so every read is async, on every backend.

use burn::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("reading a result back from the device failed: {0}")]
pub struct ReadbackError(pub String);

/// All values of a float tensor, row-major.
pub async fn read_floats<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, ReadbackError> {
    let data = tensor
        .into_data_async()
        .await
        .map_err(|e| ReadbackError(format!("{e:?}")))?;
    data.convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| ReadbackError(format!("{e:?}")))
}
