//! The engine's teach flow as the worker drives it: photos in, a personal model out, then photos
//! classified (and explained) with the person's own classes; switching back to ImageNet.

use std::io::Cursor;

use burn::prelude::*;
use futures::executor::block_on;
use glimpse::engine::Engine;
use glimpse::engine::teach::{TrainMode, TrainSettings};
use glimpse::ml::preprocess::decode;
use glimpse::ml::split::SplitMix64;
use glimpse::protocol::SaliencyMethod;
use image::{DynamicImage, ImageFormat, RgbImage};

const WEIGHTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/weights/efficientnet-lite0.f16.safetensors"
);
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const CLASSES: [&str; 3] = ["brick", "grass", "gravel"];

fn png(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(image.clone())
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .expect("png");
    out
}

/// `count` crops per texture from the given half (0 = left, 1 = right), as PNG files.
fn crops(half: u32, count: usize, seed: u64) -> Vec<(usize, Vec<u8>)> {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::new();
    for (label, name) in CLASSES.iter().enumerate() {
        let photo =
            decode(&std::fs::read(format!("{FIXTURES}/textures/{name}.png")).expect("texture"))
                .expect("decode");
        for _ in 0..count {
            let side = 140 + rng.below(80) as u32;
            let x = half * 256 + rng.below((256 - side) as usize) as u32;
            let y = rng.below((512 - side) as usize) as u32;
            out.push((
                label,
                png(&image::imageops::crop_imm(&photo, x, y, side, side).to_image()),
            ));
        }
    }
    out
}

fn engine_with_examples(per_class: usize) -> (Engine, Vec<(u32, usize)>) {
    let mut engine =
        Engine::new(Device::flex(), &std::fs::read(WEIGHTS).expect("weights")).expect("engine");
    let mut labelled = Vec::new();
    for (i, (label, bytes)) in crops(0, per_class, 1).into_iter().enumerate() {
        let id = 1000 + i as u32;
        block_on(engine.add_example(id, &bytes)).expect("example");
        labelled.push((id, label));
    }
    (engine, labelled)
}

#[test]
fn head_only_training_then_personal_predictions_with_saliency() {
    let (mut engine, labelled) = engine_with_examples(10);
    let names: Vec<String> = CLASSES.iter().map(|s| s.to_string()).collect();
    let mut epochs_seen = 0;
    let summary = block_on(
        engine.train(names, &labelled, &TrainSettings::default(), |p| {
            epochs_seen += usize::from(p.report.is_some());
            async { true }
        }),
    )
    .expect("train");
    println!(
        "head only: {} on {}; accuracy {:.3}; warnings {:?}",
        summary.evaluation_method,
        labelled.len(),
        summary.evaluation.accuracy,
        summary.warnings
    );
    assert!(epochs_seen > 0);
    assert!(
        summary.evaluation.accuracy >= 0.9,
        "{:?}",
        summary.evaluation.confusion
    );
    assert_eq!(
        summary.held_out.len() as u32,
        summary.evaluation.confusion.total()
    );
    assert!(summary.warnings.is_empty());

    // Unseen crops from the other half of each texture, with the personal classes.
    let mut correct = 0;
    let unseen = crops(1, 4, 2);
    for (i, (label, bytes)) in unseen.iter().enumerate() {
        let result = block_on(engine.classify(i as u32, bytes)).expect("classify");
        assert_eq!(result.predictions.len(), 3, "three personal classes");
        correct += usize::from(result.predictions[0].label == CLASSES[*label]);
        let map = block_on(engine.explain(
            i as u32,
            result.predictions[0].class_index,
            SaliencyMethod::GradCam,
            bytes,
        ))
        .expect("explain");
        assert_eq!(map.values.len(), 224 * 224);
    }
    println!(
        "personal model on unseen crops: {correct} of {}",
        unseen.len()
    );
    assert!(correct >= 11, "{correct} of {}", unseen.len());

    // Back to ImageNet.
    engine.use_personal_model(false).expect("switch");
    let flamingo = std::fs::read(format!("{FIXTURES}/photos/flamingo.jpg")).expect("photo");
    assert_eq!(
        block_on(engine.classify(99, &flamingo))
            .expect("classify")
            .predictions[0]
            .label,
        "flamingo"
    );
}

#[test]
fn head_and_last_blocks_mode_trains_and_warns_about_small_classes() {
    let (mut engine, mut labelled) = engine_with_examples(6);
    // Leave "gravel" with three photos.
    let mut kept_gravel = 0;
    labelled.retain(|(_, label)| {
        *label != 2 || {
            kept_gravel += 1;
            kept_gravel <= 3
        }
    });
    let names: Vec<String> = CLASSES.iter().map(|s| s.to_string()).collect();
    let settings = TrainSettings {
        mode: TrainMode::HeadAndBlocks,
        epochs: 8,
        ..TrainSettings::default()
    };
    let mut stages = Vec::new();
    let summary = block_on(engine.train(names, &labelled, &settings, |p| {
        if stages.last() != Some(&p.stage) {
            stages.push(p.stage.clone());
        }
        async { true }
    }))
    .expect("train");
    println!(
        "head + blocks: stages {stages:?}; accuracy {:.3}; warnings {:?}",
        summary.evaluation.accuracy, summary.warnings
    );
    assert!(
        stages.iter().any(|s| s.contains("fine-tuning")),
        "{stages:?}"
    );
    assert!(summary.warnings.iter().any(|w| w.contains("gravel")));
    let unseen = crops(1, 1, 3);
    let result = block_on(engine.classify(1, &unseen[0].1)).expect("classify");
    assert!(CLASSES.contains(&result.predictions[0].label.as_str()));
}

#[test]
fn cancelling_keeps_a_usable_model() {
    let (mut engine, labelled) = engine_with_examples(4);
    let names: Vec<String> = CLASSES.iter().map(|s| s.to_string()).collect();
    let summary = block_on(
        engine.train(names, &labelled, &TrainSettings::default(), |p| {
            let go = p.epoch < 2;
            async move { go }
        }),
    )
    .expect("train");
    assert!(summary.cancelled);
    let result = block_on(engine.classify(5, &crops(1, 1, 4)[0].1)).expect("classify");
    assert_eq!(result.predictions.len(), 3);
}
