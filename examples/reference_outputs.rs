//! Writes, for each sample photo, the model input Glimpse builds (after preprocessing) and the
//! logits it computes natively, as raw little-endian f32 files, so another runtime (the ONNX export
//! check in `scripts/export_onnx.py`) can be fed the very same input and compared output for
//! output:
//!
//! ```text
//! cargo run --release --example reference_outputs -- target/onnx-reference [lite0|lite1|lite2]
//! ```
//!
//! `scripts/reference_probabilities.py` reads the same inputs for the backbone tests.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use burn::prelude::*;
    use glimpse::ml::model::{Backbone, images};
    use glimpse::ml::preprocess::preprocess;
    use glimpse::ml::weights::load_imagenet;

    let root = env!("CARGO_MANIFEST_DIR");
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| format!("{root}/target/onnx-reference"));
    let backbone = match std::env::args().nth(2) {
        None => Backbone::Lite0,
        Some(id) => Backbone::parse(&id).ok_or(format!("no backbone named {id}"))?,
    };
    std::fs::create_dir_all(&out)?;
    let device = Device::flex();
    let weights = std::fs::read(format!("{root}/weights/{}", backbone.weights_file()))?;
    let model = load_imagenet(&weights, &device)?;
    let photos = format!("{root}/tests/fixtures/photos");
    let mut names: Vec<String> = std::fs::read_dir(&photos)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".jpg"))
        .collect();
    names.sort();
    let raw = |values: &[f32]| -> Vec<u8> { values.iter().flat_map(|v| v.to_le_bytes()).collect() };
    for name in names {
        let input = preprocess(&std::fs::read(format!("{photos}/{name}"))?, backbone)?;
        let x = images(input.pixels.clone(), 1, &device);
        let logits: Vec<f32> = model
            .forward(x)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| format!("{e:?}"))?;
        let stem = name.trim_end_matches(".jpg");
        std::fs::write(format!("{out}/{stem}.input.f32"), raw(&input.pixels))?;
        std::fs::write(format!("{out}/{stem}.logits.f32"), raw(&logits))?;
        println!("{stem}: input and logits written to {out}");
    }
    Ok(())
}

#[cfg(target_arch = "wasm32")]
fn main() {}
