//! The shipped weights, loaded exactly as the page loads them, give the known ImageNet answers on
//! real photos (tests/fixtures/photos/README.md lists them with their attributions).

use burn::prelude::*;
use glimpse::engine::Engine;
use glimpse::formats::tensor_file::TensorError;
use glimpse::ml::weights::{WeightsError, load_imagenet};

const WEIGHTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/weights/efficientnet-lite0.f16.safetensors"
);
const PHOTOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/photos");

/// (file, expected top-1, its reference probability from the fixtures README)
const EXPECTED: [(&str, &str, f32); 5] = [
    ("cat.jpg", "lynx", 0.43),
    ("bridge.jpg", "steel arch bridge", 0.50),
    ("coyote.jpg", "coyote", 0.71),
    ("flamingo.jpg", "flamingo", 0.98),
    ("torch.jpg", "torch", 0.68),
];

fn weights() -> Vec<u8> {
    std::fs::read(WEIGHTS).unwrap_or_else(|e| {
        panic!(
            "{WEIGHTS} is missing ({e}): run scripts/weights.sh (the README's test command does)"
        )
    })
}

#[test]
fn sample_photos_get_their_known_top1_class() {
    let engine = Engine::new(Device::flex(), &weights()).expect("weights load");
    for (id, (file, label, reference)) in (0u32..).zip(EXPECTED) {
        let bytes = std::fs::read(format!("{PHOTOS}/{file}")).expect("photo");
        let result = futures::executor::block_on(engine.classify(id, &bytes)).expect("classify");
        let top = &result.predictions[0];
        println!(
            "{file}: {} {:.3} (reference {reference:.2}), then {:?}",
            top.label,
            top.confidence,
            result.predictions[1..]
                .iter()
                .map(|p| (&p.label, p.confidence))
                .collect::<Vec<_>>()
        );
        assert_eq!(top.label, label, "{file}");
        assert!(
            (top.confidence - reference).abs() < 0.12,
            "{file}: {} vs {reference}",
            top.confidence
        );
        assert_eq!(result.predictions.len(), 5);
        assert!(
            result
                .predictions
                .windows(2)
                .all(|w| w[0].confidence >= w[1].confidence)
        );
    }
}

#[test]
fn weights_decode_into_the_architecture() {
    let device = Device::flex();
    let model = load_imagenet(&weights(), &device).expect("weights load");
    // The source has 4,652,008 trainable parameters; folding batch-norm turns each norm's scale
    // and shift (2 x 21,008 channels) into one bias per conv: 4,631,000.
    assert_eq!(model.num_params(), 4_631_000);
    // Every tensor in the file is used: 16 blocks x 3 convs, less block 0's expand, plus stem,
    // head conv and classifier, each with weight and bias.
    let bytes = weights();
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    assert_eq!(file.len(), 2 * (16 * 3 - 1 + 3));
}

#[test]
fn damaged_weight_files_are_refused_with_a_reason() {
    let device = Device::flex();
    let bytes = weights();
    assert!(matches!(
        load_imagenet(&bytes[..bytes.len() / 2], &device),
        Err(WeightsError::Format(_))
    ));
    assert!(matches!(
        load_imagenet(b"not a weight file", &device),
        Err(WeightsError::Format(_))
    ));
    // A well-formed file of no backbone's shapes.
    let mut header = String::from(
        r#"{"stem.weight":{"dtype":"F16","shape":[32,3,3,2],"data_offsets":[0,1152]}}"#,
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut stray = (header.len() as u64).to_le_bytes().to_vec();
    stray.extend_from_slice(header.as_bytes());
    stray.extend_from_slice(&[0u8; 1152]);
    let refusal = load_imagenet(&stray, &device).expect_err("refused");
    assert_eq!(
        refusal.to_string(),
        "the weight file is not one of the EfficientNet-Lite backbones \
         (0 blocks, 0 channels into the head)"
    );
    // Lite0's file with one tensor of the wrong shape.
    let file = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
    let wrong_stem = vec![0u8; 32 * 3 * 3 * 2 * 2];
    let tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            if name == "stem.weight" {
                let view = safetensors::tensor::TensorView::new(
                    safetensors::Dtype::F16,
                    vec![32, 3, 3, 2],
                    &wrong_stem,
                )
                .expect("a view");
                (name, view)
            } else {
                (name, view)
            }
        })
        .collect();
    let wrong = safetensors::serialize(tensors, None).expect("serialise");
    match load_imagenet(&wrong, &device) {
        Err(WeightsError::Tensor(TensorError::Shape { name, .. })) => {
            assert_eq!(name, "stem.weight")
        }
        other => panic!("expected a shape error, got {:?}", other.err()),
    }
}
