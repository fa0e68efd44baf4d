//! A fixed seed repeats a training run exactly. Alone in its test binary: the seed lives in the
//! device's random generator, which tests running in parallel threads would share.

use burn::prelude::*;
use futures::executor::block_on;
use glimpse::ml::model::FEATURE_CHANNELS;
use glimpse::ml::personal_head::{Examples, HeadTrainingConfig, train_head};
use glimpse::ml::split::SplitMix64;

#[test]
fn a_fixed_seed_repeats_the_run() {
    let mut rng = SplitMix64::new(4);
    let labels: Vec<usize> = (0..18).map(|i| i % 3).collect();
    let embeddings: Vec<Vec<f32>> = labels
        .iter()
        .map(|&c| {
            (0..FEATURE_CHANNELS)
                .map(|d| rng.unit() as f32 + if d / 10 == c { 2.0 } else { 0.0 })
                .collect()
        })
        .collect();
    let device = Device::flex();
    let train = Examples {
        embeddings: &embeddings,
        labels: &labels,
    };
    let config = HeadTrainingConfig::new().with_epochs(5);
    let run = || {
        block_on(train_head(&device, 3, train, None, &config, |_| async {
            true
        }))
        .expect("train")
        .history
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    let other = HeadTrainingConfig::new().with_epochs(5).with_seed(7);
    let c = block_on(train_head(&device, 3, train, None, &other, |_| async {
        true
    }))
    .expect("train")
    .history;
    assert_ne!(a, c, "another seed, another run");
}
