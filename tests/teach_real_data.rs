//! Personal heads trained on real photos reach the accuracy a person would expect, with 12
//! training photos per class:
//! - textures (scikit-image's brick / grass / gravel): train on crops of the left half of each
//!   photo, test on crops of the right half;
//! - an easy Fashion-MNIST triple (trouser / sneaker / bag): train on 12, test on 20 others.

use burn::prelude::*;
use futures::executor::block_on;
use glimpse::formats::metrics::evaluate;
use glimpse::ml::augment::random_view;
use glimpse::ml::model::{Backbone, EfficientNetLite, FEATURE_CHANNELS};
use glimpse::ml::personal_head::{Examples, HeadTrainingConfig, assess, class_weights, train_head};
use glimpse::ml::preprocess::{decode, model_view, normalise};
use glimpse::ml::readback::read_floats;
use glimpse::ml::split::{SplitMix64, stratified};
use glimpse::ml::weights::load_imagenet;
use image::RgbImage;
use web_time::Instant;

mod common;

use common::{FIXTURES, WEIGHTS};
const AUGMENTED_VIEWS: usize = 3;

fn model(device: &Device) -> EfficientNetLite {
    load_imagenet(
        &std::fs::read(WEIGHTS).expect("run scripts/weights.sh first"),
        device,
    )
    .expect("weights")
}

/// Embeddings of 224 x 224 views, eight at a time.
fn embed(model: &EfficientNetLite, views: &[RgbImage], device: &Device) -> Vec<Vec<f32>> {
    let size = Backbone::Lite0.input_size();
    views
        .chunks(8)
        .flat_map(|chunk| {
            let pixels: Vec<f32> = chunk.iter().flat_map(normalise).collect();
            let batch = Tensor::<4>::from_data(
                TensorData::new(pixels, [chunk.len(), 3, size, size]),
                device,
            );
            let flat = block_on(read_floats(model.embed(batch))).expect("embed");
            flat.chunks(FEATURE_CHANNELS)
                .map(<[f32]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One clean view and a few augmented ones per training photo, as the page caches them.
fn training_views(
    photos: &[(RgbImage, usize)],
    rng: &mut SplitMix64,
) -> (Vec<RgbImage>, Vec<usize>) {
    let (mut views, mut labels) = (Vec::new(), Vec::new());
    for (photo, label) in photos {
        views.push(model_view(photo, Backbone::Lite0).0);
        labels.push(*label);
        for _ in 0..AUGMENTED_VIEWS {
            views.push(random_view(photo, Backbone::Lite0, rng));
            labels.push(*label);
        }
    }
    (views, labels)
}

/// Trains a head on the training photos and returns the held-out accuracy on the test photos.
fn held_out_accuracy(
    name: &str,
    train: &[(RgbImage, usize)],
    test: &[(RgbImage, usize)],
    classes: usize,
) -> f64 {
    let device = Device::flex();
    let model = model(&device);
    let mut rng = SplitMix64::new(11);
    let (views, labels) = training_views(train, &mut rng);
    let started = Instant::now();
    let embeddings = embed(&model, &views, &device);
    let per_second = views.len() as f64 / started.elapsed().as_secs_f64();
    let test_views: Vec<RgbImage> = test
        .iter()
        .map(|(p, _)| model_view(p, Backbone::Lite0).0)
        .collect();
    let test_labels: Vec<usize> = test.iter().map(|(_, l)| *l).collect();
    let test_embeddings = embed(&model, &test_views, &device);

    // Early stopping watches a stratified 20% of the training views.
    let split = stratified(&labels, classes, 0.2, 3);
    let pick = |idx: &[usize]| -> (Vec<Vec<f32>>, Vec<usize>) {
        (
            idx.iter().map(|&i| embeddings[i].clone()).collect(),
            idx.iter().map(|&i| labels[i]).collect(),
        )
    };
    let (tx, ty) = pick(&split.train);
    let (vx, vy) = pick(&split.validation);
    let started = Instant::now();
    let trained = block_on(train_head(
        &device,
        classes,
        Examples {
            embeddings: &tx,
            labels: &ty,
        },
        Some(Examples {
            embeddings: &vx,
            labels: &vy,
        }),
        &HeadTrainingConfig::new(),
        |_| async { true },
    ))
    .expect("train");
    let train_ms = started.elapsed().as_secs_f64() * 1000.0;
    let test_set = Examples {
        embeddings: &test_embeddings,
        labels: &test_labels,
    };
    let (_, accuracy, scores) = block_on(assess(
        &trained.head,
        test_set,
        &class_weights(&test_labels, classes),
        &device,
    ))
    .expect("assess");
    let evaluation = evaluate(&scores, &test_labels, classes);
    println!(
        "{name}: held-out accuracy {:.3} on {} photos (confusion {:?}, AUC {:?}); embedding {:.1} photos/s natively; \
         head trained in {train_ms:.0} ms, {} epochs, best {}",
        accuracy,
        test.len(),
        evaluation.confusion.counts,
        evaluation
            .roc
            .iter()
            .map(|r| (r.auc * 1000.0).round() / 1000.0)
            .collect::<Vec<_>>(),
        per_second,
        trained.history.len(),
        trained.best_epoch
    );
    assert!((evaluation.accuracy - accuracy).abs() < 1e-9);
    accuracy
}

fn random_crops(
    image: &RgbImage,
    x_range: (u32, u32),
    count: usize,
    rng: &mut SplitMix64,
) -> Vec<RgbImage> {
    (0..count)
        .map(|_| {
            let side = 128 + rng.below(97) as u32; // 128..=224 px of the 512 px photo
            let x = x_range.0 + rng.below((x_range.1 - x_range.0 - side) as usize) as u32;
            let y = rng.below((image.height() - side) as usize) as u32;
            image::imageops::crop_imm(image, x, y, side, side).to_image()
        })
        .collect()
}

#[test]
fn textures_reach_ninety_percent_on_the_unseen_half() {
    let mut rng = SplitMix64::new(2026);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (label, name) in ["brick", "grass", "gravel"].iter().enumerate() {
        let bytes = std::fs::read(format!("{FIXTURES}/textures/{name}.png")).expect("texture");
        let photo = decode(&bytes).expect("decode");
        let half = photo.width() / 2;
        train.extend(
            random_crops(&photo, (0, half), 12, &mut rng)
                .into_iter()
                .map(|c| (c, label)),
        );
        test.extend(
            random_crops(&photo, (half, photo.width()), 10, &mut rng)
                .into_iter()
                .map(|c| (c, label)),
        );
    }
    let accuracy = held_out_accuracy("textures", &train, &test, 3);
    assert!(accuracy >= 0.9, "textures: {accuracy}");
}

#[test]
fn fashion_mnist_trouser_sneaker_bag_reach_ninety_percent() {
    let mut seen = [0usize; 3];
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (label, photo) in common::fashion_images() {
        if seen[label] < 12 {
            train.push((photo, label))
        } else {
            test.push((photo, label))
        }
        seen[label] += 1;
    }
    assert_eq!((train.len(), test.len()), (36, 60));
    let accuracy = held_out_accuracy("fashion-mnist", &train, &test, 3);
    assert!(accuracy >= 0.9, "fashion-mnist: {accuracy}");
}

#[test]
fn head_and_last_blocks_fine_tuning_lowers_the_loss_on_textures() {
    use glimpse::ml::fine_tune::{FineTuneConfig, TunableTop, fine_tune, loss_on};
    use glimpse::ml::personal_head::PersonalHeadConfig;

    let device = Device::flex();
    device.seed(5);
    let model = model(&device);
    let mut rng = SplitMix64::new(77);
    let mut photos = Vec::new();
    for (label, name) in ["brick", "grass", "gravel"].iter().enumerate() {
        let photo =
            decode(&std::fs::read(format!("{FIXTURES}/textures/{name}.png")).expect("texture"))
                .expect("decode");
        photos.extend(
            random_crops(&photo, (0, photo.width() / 2), 8, &mut rng)
                .into_iter()
                .map(|c| (c, label)),
        );
    }
    let views: Vec<RgbImage> = photos
        .iter()
        .map(|(p, _)| model_view(p, Backbone::Lite0).0)
        .collect();
    let labels: Vec<usize> = photos.iter().map(|(_, l)| *l).collect();
    let weights = class_weights(&labels, 3);

    let top = TunableTop::from_model(&model, 3, PersonalHeadConfig::new(3).init(&device));
    let before_weights = read(top.blocks[0].depthwise.conv.weight.val());
    let before = block_on(loss_on(&model, &top, &views, &labels, &weights, &device)).expect("loss");
    let started = Instant::now();
    let mut losses = Vec::new();
    let config = FineTuneConfig::new().with_steps(12);
    let tuned = block_on(fine_tune(&model, top, &photos, 3, &config, |_, loss| {
        losses.push(loss);
        async { true }
    }))
    .expect("fine-tune");
    let step_ms = started.elapsed().as_secs_f64() * 1000.0 / config.steps as f64;
    let after =
        block_on(loss_on(&model, &tuned, &views, &labels, &weights, &device)).expect("loss");
    let after_weights = read(tuned.blocks[0].depthwise.conv.weight.val());
    let moved = before_weights
        .iter()
        .zip(&after_weights)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!(
        "fine-tune (3 blocks + head conv + head): loss {before:.3} -> {after:.3}; step losses {losses:.3?}; \
              {step_ms:.0} ms per step of 8 natively; largest block weight change {moved:.2e}"
    );
    assert!(after < before * 0.7, "loss {before} -> {after}");
    assert!(moved > 0.0, "the tuned blocks were updated");
}

fn read<const D: usize>(tensor: Tensor<D>) -> Vec<f32> {
    block_on(read_floats(tensor)).expect("read")
}
