//! The three backbones, loaded exactly as the page loads them, against reference probabilities
//! from the original torch checkpoints; Lite0 as it was before the definition became parametric.

use burn::prelude::*;
use futures::executor::block_on;
use glimpse::engine::Engine;
use glimpse::formats::project_file::SavedModel;
use glimpse::formats::records::TrainingSummary;
use glimpse::ml::model::{Backbone, images};
use glimpse::ml::preprocess::preprocess;
use glimpse::ml::weights::{backbone_of, load_imagenet};
use glimpse::protocol::EngineError;

const PHOTOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/photos");

fn weights(backbone: Backbone) -> Vec<u8> {
    let path = format!(
        "{}/weights/{}",
        env!("CARGO_MANIFEST_DIR"),
        backbone.weights_file()
    );
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{path} is missing ({e}): run scripts/weights.sh (the README's test command does)")
    })
}

fn photo(file: &str) -> Vec<u8> {
    std::fs::read(format!("{PHOTOS}/{file}")).expect("sample photo")
}

/// Top three classes and probabilities per photo, from `scripts/reference_probabilities.py`: a
/// float64 NumPy forward of the original checkpoint (batch-norm unfolded, f32 weights) fed the
/// very input Glimpse builds for that backbone (`examples/reference_outputs.rs`).
type Reference = [(&'static str, [(&'static str, f32); 3]); 5];

const LITE0: Reference = [
    (
        "bridge.jpg",
        [
            ("steel arch bridge", 0.5147),
            ("pier", 0.1941),
            ("suspension bridge", 0.1537),
        ],
    ),
    (
        "cat.jpg",
        [
            ("lynx", 0.4215),
            ("tiger cat", 0.1958),
            ("Egyptian cat", 0.1952),
        ],
    ),
    (
        "coyote.jpg",
        [
            ("coyote", 0.7106),
            ("red wolf", 0.1071),
            ("timber wolf", 0.0781),
        ],
    ),
    (
        "flamingo.jpg",
        [
            ("flamingo", 0.9787),
            ("spoonbill", 0.0016),
            ("black swan", 0.0005),
        ],
    ),
    (
        "torch.jpg",
        [
            ("torch", 0.6734),
            ("matchstick", 0.2120),
            ("lighter", 0.0156),
        ],
    ),
];

const LITE1: Reference = [
    (
        "bridge.jpg",
        [
            ("suspension bridge", 0.3801),
            ("pier", 0.1913),
            ("steel arch bridge", 0.1049),
        ],
    ),
    (
        "cat.jpg",
        [
            ("Egyptian cat", 0.2894),
            ("tiger cat", 0.2651),
            ("tabby", 0.1981),
        ],
    ),
    (
        "coyote.jpg",
        [
            ("coyote", 0.5389),
            ("red wolf", 0.0610),
            ("timber wolf", 0.0573),
        ],
    ),
    (
        "flamingo.jpg",
        [("flamingo", 0.5726), ("crane", 0.0039), ("ostrich", 0.0022)],
    ),
    (
        "torch.jpg",
        [
            ("torch", 0.6516),
            ("matchstick", 0.1590),
            ("lighter", 0.0124),
        ],
    ),
];

const LITE2: Reference = [
    (
        "bridge.jpg",
        [
            ("suspension bridge", 0.2810),
            ("steel arch bridge", 0.1748),
            ("pier", 0.1739),
        ],
    ),
    (
        "cat.jpg",
        [
            ("Egyptian cat", 0.2518),
            ("tiger cat", 0.1972),
            ("tabby", 0.1929),
        ],
    ),
    (
        "coyote.jpg",
        [
            ("coyote", 0.4007),
            ("red wolf", 0.1788),
            ("timber wolf", 0.0980),
        ],
    ),
    (
        "flamingo.jpg",
        [
            ("flamingo", 0.6720),
            ("spoonbill", 0.0059),
            ("lifeboat", 0.0017),
        ],
    ),
    (
        "torch.jpg",
        [
            ("torch", 0.3707),
            ("lighter", 0.0965),
            ("matchstick", 0.0296),
        ],
    ),
];

/// f16 weights and folded batch-norm move a probability by 0.003 at most on these photos.
const TOLERANCE: f32 = 0.005;

fn check_against_reference(backbone: Backbone, reference: &Reference) {
    let engine = Engine::new(Device::flex(), &weights(backbone)).expect("weights load");
    assert_eq!(engine.backbone(), backbone);
    for (id, (file, expected)) in (0u32..).zip(reference) {
        let result = block_on(engine.classify(id, &photo(file))).expect("classify");
        let got: Vec<(&str, f32)> = result.predictions[..3]
            .iter()
            .map(|p| (p.label.as_str(), p.confidence))
            .collect();
        println!("{backbone} {file}: {got:?}");
        for ((label, probability), (reference_label, reference_probability)) in
            got.iter().zip(expected)
        {
            assert_eq!(label, reference_label, "{backbone} {file}");
            assert!(
                (probability - reference_probability).abs() < TOLERANCE,
                "{backbone} {file} {label}: {probability} vs {reference_probability}"
            );
        }
    }
}

#[test]
fn lite0_gives_the_reference_probabilities() {
    check_against_reference(Backbone::Lite0, &LITE0);
}

#[test]
fn lite1_gives_the_reference_probabilities() {
    check_against_reference(Backbone::Lite1, &LITE1);
}

#[test]
fn lite2_gives_the_reference_probabilities() {
    check_against_reference(Backbone::Lite2, &LITE2);
}

/// Lite0's five highest logits per photo as the network computed them before it was built from
/// the scaled stage table (commit 4010974, `examples/reference_outputs.rs`): the parametric
/// definition must not move them (the inputs and all 1000 logits were bit-identical here).
const LITE0_BEFORE: [(&str, [(usize, f32); 5]); 5] = [
    (
        "bridge.jpg",
        [
            (821, 8.75821),
            (718, 7.77821),
            (839, 7.54857),
            (540, 5.21682),
            (517, 4.3738),
        ],
    ),
    (
        "cat.jpg",
        [
            (287, 8.6844),
            (282, 7.91969),
            (285, 7.91895),
            (281, 6.97939),
            (286, 3.99431),
        ],
    ),
    (
        "coyote.jpg",
        [
            (272, 9.47486),
            (271, 7.5802),
            (269, 7.26703),
            (273, 5.7601),
            (274, 5.66534),
        ],
    ),
    (
        "flamingo.jpg",
        [
            (130, 11.11873),
            (129, 4.68438),
            (100, 3.54843),
            (127, 3.20941),
            (128, 3.01689),
        ],
    ),
    (
        "torch.jpg",
        [
            (862, 9.60088),
            (644, 8.43988),
            (626, 5.82194),
            (470, 4.85977),
            (523, 4.79882),
        ],
    ),
];

#[test]
fn lite0_gives_the_outputs_it_gave_before_the_definition_was_parametric() {
    let device = Device::flex();
    let model = load_imagenet(&weights(Backbone::Lite0), &device).expect("weights load");
    for (file, before) in LITE0_BEFORE {
        let input = preprocess(&photo(file), Backbone::Lite0).expect("decode");
        let logits: Vec<f32> = model
            .forward(images(input.pixels, 1, &device))
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        for (class, logit) in before {
            // Printed to 5 decimals; another CPU's SIMD may reorder a sum in the last bits.
            assert!(
                (logits[class] - logit).abs() < 1e-4,
                "{file} class {class}: {} vs {logit}",
                logits[class]
            );
        }
        let mut ranked: Vec<usize> = (0..logits.len()).collect();
        ranked.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
        assert_eq!(ranked[..5], before.map(|(class, _)| class), "{file}");
    }
}

#[test]
fn weight_files_hold_their_backbone_at_the_size_the_page_announces() {
    let device = Device::flex();
    // The checkpoints' trainable parameters (4,652,008, 5,416,680 and 6,092,072 in the .pth
    // files) less one per batch-norm channel (21,008, 26,832 and 29,048): folding turns each
    // norm's scale and shift into one bias of the conv before it.
    for (backbone, parameters, blocks) in [
        (Backbone::Lite0, 4_631_000, 16),
        (Backbone::Lite1, 5_389_848, 21),
        (Backbone::Lite2, 6_063_024, 21),
    ] {
        let bytes = weights(backbone);
        assert_eq!(bytes.len() as u64, backbone.weights_bytes(), "{backbone}");
        assert_eq!(backbone_of(&bytes).expect("a backbone"), backbone);
        let model = load_imagenet(&bytes, &device).expect("weights load");
        assert_eq!(model.backbone(), backbone);
        assert_eq!(model.blocks.len(), blocks, "{backbone}");
        assert_eq!(model.num_params(), parameters, "{backbone}");
        // Every tensor in the file is used: each block's three convs (block 0 has no expand),
        // stem, head conv and classifier, each a weight and a bias.
        let file = safetensors::SafeTensors::deserialize(&bytes).expect("safetensors");
        assert_eq!(file.len(), 2 * (blocks * 3 - 1 + 3), "{backbone}");
    }
}

#[test]
fn a_model_runs_only_on_the_backbone_it_was_trained_on() {
    let engine = Engine::new(Device::flex(), &weights(Backbone::Lite1)).expect("weights load");
    let saved = SavedModel {
        backbone: Backbone::Lite0,
        weights: Vec::new(),
        tuned_blocks: 0,
        summary: TrainingSummary::empty(&["a", "b"]),
    };
    let mut engine = engine;
    let refusal = engine
        .load_model(&saved)
        .expect_err("another backbone's model");
    assert_eq!(
        refusal,
        EngineError::WrongBackbone {
            model: Backbone::Lite0,
            running: Backbone::Lite1
        }
    );
    assert_eq!(
        refusal.to_string(),
        "the model was trained on EfficientNet-Lite0; switch the backbone to \
         EfficientNet-Lite0 to use it (running: EfficientNet-Lite1)"
    );
}
