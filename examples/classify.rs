//! Classifies a folder of photos with a model exported from Glimpse ("Export model for other
//! tools"), natively, with plain Burn on the CPU:
//!
//! ```text
//! cargo run --release --example classify -- glimpse-model-2026-11-25.zip path/to/photos
//! ```
//!
//! The zip holds `model.safetensors` (the whole network) and `config.json` (class names and
//! preprocessing); see docs/export-format.md.

#[cfg(not(target_arch = "wasm32"))]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    use burn::prelude::*;
    use burn::tensor::activation::softmax;
    use glimpse::formats::standalone;
    use glimpse::ml::model::images;
    use glimpse::ml::predict::top_k;
    use glimpse::ml::preprocess::preprocess;
    use glimpse::ml::weights::load_network;

    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, folder] = args.as_slice() else {
        eprintln!("usage: classify <exported-model.zip> <folder of photos>");
        std::process::exit(2);
    };
    let (config, weights) = standalone::read(&std::fs::read(model)?)?;
    let device = Device::flex();
    let network = load_network(&weights, config.classes.len(), &device)?;
    let mut paths: Vec<_> = std::fs::read_dir(folder)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    for path in paths {
        let name = path.display();
        let photo = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| preprocess(&bytes, network.backbone()).map_err(|e| e.to_string()))
        {
            Ok(photo) => photo,
            Err(e) => {
                println!("{name}\terror: {e}");
                continue;
            }
        };
        let input = images(photo.pixels, 1, &device);
        let probabilities: Vec<f32> = softmax(network.forward(input), 1)
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| format!("{e:?}"))?;
        let ranked: Vec<String> = top_k(&probabilities, 3)
            .iter()
            .map(|s| format!("{} {:.3}", config.classes[s.class], s.confidence))
            .collect();
        println!("{name}\t{}", ranked.join("\t"));
    }
    Ok(())
}

#[cfg(target_arch = "wasm32")]
fn main() {}
