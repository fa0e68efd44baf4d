//! Know when it doesn't know, on real photos: a personal model tells photos of its classes from
//! strangers (the ImageNet sample photos, the other real set), with the threshold letting through
//! the stated share of its own held-out photos; its confidence is calibrated by temperature, kept
//! with the model and applied by the engine.

use futures::executor::block_on;
use glimpse::engine::Engine;
use glimpse::engine::teach::TrainSettings;
use glimpse::formats::calibration::{Calibration, softmax};
use glimpse::formats::open_set::{Familiarity, separation_auc};
use glimpse::protocol::TrainingSummary;

mod common;

use common::{
    CLASSES, crops, engine_with_examples, engine_with_photos, fashion_items, sample_photos,
    split_per_class,
};

fn train(engine: &mut Engine, labelled: &[(u32, usize)], classes: &[&str]) -> TrainingSummary {
    let names: Vec<String> = classes.iter().map(|s| s.to_string()).collect();
    block_on(
        engine.train(names, labelled, &TrainSettings::default(), |_| async {
            true
        }),
    )
    .expect("train")
    .summary
}

fn familiarity(engine: &Engine, id: u32, bytes: &[u8]) -> Familiarity {
    block_on(engine.classify(id, bytes))
        .expect("classify")
        .familiarity
        .expect("a personal model with an open-set rule")
}

/// Similarities of photos of the classes and of strangers; the AUC of telling them apart.
fn separation(engine: &Engine, own: &[Vec<u8>], strangers: &[Vec<u8>]) -> (f64, f64, f64) {
    let score = |photos: &[Vec<u8>], first: u32| -> Vec<Familiarity> {
        photos
            .iter()
            .enumerate()
            .map(|(i, bytes)| familiarity(engine, first + i as u32, bytes))
            .collect()
    };
    let (own, strangers) = (score(own, 0), score(strangers, 10_000));
    let passing =
        |f: &[Familiarity]| f.iter().filter(|f| f.known()).count() as f64 / f.len() as f64;
    let auc = separation_auc(
        &own.iter().map(|f| f.similarity).collect::<Vec<_>>(),
        &strangers.iter().map(|f| f.similarity).collect::<Vec<_>>(),
    );
    (auc, passing(&own), passing(&strangers))
}

fn check_rule(name: &str, summary: &TrainingSummary) {
    let rule = summary.known.expect("the open-set rule is reported");
    let calibration = summary.calibration.as_ref().expect("calibration reported");
    println!(
        "{name}: threshold {:.3} set on {} photos ({} pass, {} prototypes); temperature {:.2}, \
         ECE {:.3} -> {:.3} (cross-fitted) on {} photos; held-out accuracy {:.3}",
        rule.threshold,
        rule.photos,
        rule.passed,
        rule.prototypes,
        calibration.temperature,
        calibration.ece_before,
        calibration.ece_after,
        calibration.photos,
        summary.evaluation.accuracy
    );
    assert!(rule.photos > 0);
    assert!(
        rule.passed as f64 >= rule.share * rule.photos as f64,
        "{rule:?}"
    );
    assert_eq!(calibration.photos, summary.held_out.len());
}

#[test]
fn textures_tell_their_own_crops_from_strangers() {
    let (mut engine, labelled) = engine_with_examples(12);
    let summary = train(&mut engine, &labelled, &CLASSES);
    check_rule("textures", &summary);
    let samples = sample_photos(3, 9);
    let mut strangers: Vec<Vec<u8>> = samples.iter().map(|(_, b)| b.clone()).collect();
    strangers.extend(fashion_items().into_iter().step_by(4).map(|(_, b)| b));
    // New crops of the photos' left halves, where the training crops came from; then crops of
    // the right halves, which no training crop saw (another stretch of the same wall or lawn).
    let alike: Vec<Vec<u8>> = crops(0, 10, 12).into_iter().map(|(_, b)| b).collect();
    let shifted: Vec<Vec<u8>> = crops(1, 10, 2).into_iter().map(|(_, b)| b).collect();
    let (auc, alike_pass, strangers_pass) = separation(&engine, &alike, &strangers);
    let (shifted_auc, shifted_pass, _) = separation(&engine, &shifted, &strangers);
    println!(
        "textures: known-vs-unknown AUC {auc:.3} over {} new crops and {} strangers, \
         {shifted_auc:.3} with crops of the unseen halves; {:.0}% of new crops, {:.0}% of the \
         unseen halves' crops and {:.0}% of strangers pass",
        alike.len(),
        strangers.len(),
        alike_pass * 100.0,
        shifted_pass * 100.0,
        strangers_pass * 100.0
    );
    assert!(auc >= 0.9 && shifted_auc >= 0.9, "AUC {auc}, {shifted_auc}");
    assert!(alike_pass >= 0.85, "{alike_pass}");
    assert_eq!(strangers_pass, 0.0);
    for (name, bytes) in samples.iter().filter(|(n, _)| !n.contains("crop")) {
        let f = familiarity(&engine, 20_000, bytes);
        assert!(!f.known(), "{name} passed as a texture: {f:?}");
    }
}

#[test]
fn fashion_items_tell_their_own_from_strangers() {
    let (train_photos, own) = split_per_class(fashion_items(), 12);
    let own: Vec<Vec<u8>> = own.into_iter().map(|(_, bytes)| bytes).collect();
    let (mut engine, labelled) = engine_with_photos(train_photos);
    let summary = train(&mut engine, &labelled, &["trouser", "sneaker", "bag"]);
    check_rule("fashion-mnist", &summary);
    let mut strangers: Vec<Vec<u8>> = sample_photos(3, 5).into_iter().map(|(_, b)| b).collect();
    strangers.extend(crops(1, 4, 8).into_iter().map(|(_, b)| b));
    let (auc, own_pass, strangers_pass) = separation(&engine, &own, &strangers);
    println!(
        "fashion-mnist: known-vs-unknown AUC {auc:.3} over {} own items and {} strangers; \
         {:.0}% of own items and {:.0}% of strangers pass",
        own.len(),
        strangers.len(),
        own_pass * 100.0,
        strangers_pass * 100.0
    );
    assert!(auc >= 0.9, "AUC {auc}");
    assert!(own_pass >= 0.85, "{own_pass}");
}

#[test]
fn the_kept_model_answers_with_the_same_calibrated_confidence_and_rule() {
    let (mut engine, labelled) = engine_with_examples(10);
    let names: Vec<String> = CLASSES.iter().map(|s| s.to_string()).collect();
    let saved = block_on(
        engine.train(names, &labelled, &TrainSettings::default(), |_| async {
            true
        }),
    )
    .expect("train");
    let temperature = saved
        .summary
        .calibration
        .as_ref()
        .expect("calibrated")
        .temperature;
    let photo = &crops(1, 1, 6)[0].1;
    let trained = block_on(engine.classify(1, photo)).expect("classify");

    // A fresh engine that loads the kept model answers the same.
    let (mut fresh, _) = engine_with_examples(0);
    fresh.load_model(&saved).expect("load");
    fresh.use_personal_model(true).expect("use");
    let reloaded = block_on(fresh.classify(1, photo)).expect("classify");
    let (a, b) = (
        trained.familiarity.expect("rule"),
        reloaded.familiarity.expect("rule"),
    );
    assert_eq!(a.threshold, b.threshold);
    assert!((a.similarity - b.similarity).abs() < 1e-5, "{a:?} {b:?}");
    for (a, b) in trained.predictions.iter().zip(&reloaded.predictions) {
        assert_eq!(a.label, b.label);
        assert!((a.confidence - b.confidence).abs() < 1e-3, "{a:?} {b:?}");
    }

    // The temperature is in the weights: the kept head's logits, scaled back by T, are the
    // ones before calibration, so undoing it changes the confidence as softmax says.
    let confidences: Vec<f32> = trained.predictions.iter().map(|p| p.confidence).collect();
    let logits: Vec<f32> = confidences.iter().map(|p| p.ln()).collect();
    let uncalibrated = softmax(&logits, 1.0 / temperature);
    println!(
        "temperature {temperature:.2}: confidence {:.3} as kept, {:.3} before calibration",
        confidences[0], uncalibrated[0]
    );
    if (temperature - 1.0).abs() > 0.05 {
        assert!((confidences[0] - uncalibrated[0]).abs() > 1e-4);
    }
}

#[test]
fn temperature_scaling_calms_an_overconfident_head_on_real_crops() {
    use glimpse::ml::personal_head::{Examples, HeadTrainingConfig, logits_of, train_head};

    // Two halves of the same textures as six classes (brick on the left, brick on the right,
    // ...): alike, as garments of one kind are. Four photos per class, trained far past early
    // stopping with no weight decay: the head grows sure of everything, as heads trained on
    // few photos do, and is right on about half.
    let mut photos = Vec::new();
    for half in 0..2u32 {
        for (texture, bytes) in crops(half, 14, 31 + u64::from(half)) {
            photos.push((texture * 2 + half as usize, bytes));
        }
    }
    let (engine, _) = engine_with_photos(Vec::new());
    let device = engine.device().clone();
    let embeddings = common::embed_photos(&engine, &photos);
    let labels: Vec<usize> = photos.iter().map(|(l, _)| *l).collect();
    let mut seen = [0usize; 6];
    let train: Vec<usize> = (0..photos.len())
        .filter(|&i| {
            seen[labels[i]] += 1;
            seen[labels[i]] <= 4
        })
        .collect();
    let held: Vec<usize> = (0..photos.len()).filter(|i| !train.contains(i)).collect();
    let pick = |idx: &[usize]| -> (Vec<Vec<f32>>, Vec<usize>) {
        (
            idx.iter().map(|&i| embeddings[i].clone()).collect(),
            idx.iter().map(|&i| labels[i]).collect(),
        )
    };
    let (tx, ty) = pick(&train);
    let (hx, hy) = pick(&held);
    let config = HeadTrainingConfig::new()
        .with_epochs(300)
        .with_patience(300)
        .with_learning_rate(1e-2)
        .with_weight_decay(0.0)
        .with_dropout(0.0);
    let trained = block_on(train_head(
        &device,
        6,
        Examples {
            embeddings: &tx,
            labels: &ty,
        },
        None,
        &config,
        |_| async { true },
    ))
    .expect("train");
    let logits = block_on(logits_of(&trained.head, &hx, &device)).expect("logits");
    let calibration = Calibration::fit(&logits, &hy);
    println!(
        "overconfident head on {} held-out crops: accuracy {:.2}, temperature {:.2}, ECE {:.3} -> {:.3}",
        hy.len(),
        logits
            .iter()
            .zip(&hy)
            .filter(|(row, y)| {
                row.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(c, _)| c)
                    == Some(**y)
            })
            .count() as f64
            / hy.len() as f64,
        calibration.temperature,
        calibration.ece_before,
        calibration.ece_after
    );
    assert!(calibration.temperature > 1.0, "{}", calibration.temperature);
    assert!(
        calibration.ece_after < calibration.ece_before,
        "{} -> {}",
        calibration.ece_before,
        calibration.ece_after
    );
}
