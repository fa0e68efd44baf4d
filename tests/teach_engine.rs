//! The engine's teach flow as the worker drives it: photos in, a personal model out, then photos
//! classified (and explained) with the person's own classes; switching back to ImageNet.

use futures::executor::block_on;
use glimpse::engine::teach::{TrainMode, TrainSettings};
use glimpse::protocol::SaliencyMethod;

mod common;

use common::{CLASSES, FIXTURES, crops, engine_with_examples};

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
    .expect("train")
    .summary;
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
    // Every photo handed over is learnt from (training and validation together), per class.
    assert_eq!(summary.trained_per_class, vec![10, 10, 10]);

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
    .expect("train")
    .summary;
    println!(
        "head + blocks: stages {stages:?}; accuracy {:.3}; warnings {:?}",
        summary.evaluation.accuracy, summary.warnings
    );
    assert!(
        stages.iter().any(|s| s.contains("fine-tuning")),
        "{stages:?}"
    );
    assert!(summary.warnings.iter().any(|w| w.contains("gravel")));
    assert_eq!(summary.trained_per_class, vec![6, 6, 3]);
    // The tuned model answers unseen crops, mostly right.
    let unseen = crops(1, 3, 3);
    let mut correct = 0;
    for (i, (label, bytes)) in unseen.iter().enumerate() {
        let result = block_on(engine.classify(i as u32, bytes)).expect("classify");
        assert_eq!(result.predictions.len(), 3, "three personal classes");
        correct += usize::from(result.predictions[0].label == CLASSES[*label]);
    }
    println!(
        "head + blocks on unseen crops: {correct} of {}",
        unseen.len()
    );
    assert!(correct >= 6, "{correct} of {}", unseen.len());
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
    .expect("train")
    .summary;
    assert!(summary.cancelled);
    let result = block_on(engine.classify(5, &crops(1, 1, 4)[0].1)).expect("classify");
    assert_eq!(result.predictions.len(), 3);
}
