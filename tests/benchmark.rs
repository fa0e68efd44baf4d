//! The engine's benchmark request (what `bench/compare.spec.ts` times against ONNX Runtime Web):
//! it runs the real model on the given input, batched, and answers that input's logits.

use burn::prelude::*;
use futures::executor::block_on;
use glimpse::engine::Engine;
use glimpse::ml::labels::imagenet;
use glimpse::ml::preprocess::preprocess;

mod common;

use common::{FIXTURES, WEIGHTS};

#[test]
fn benchmark_runs_the_model_batched_and_answers_the_inputs_logits() {
    let engine =
        Engine::new(Device::flex(), &std::fs::read(WEIGHTS).expect("weights")).expect("engine");
    let photo = std::fs::read(format!("{FIXTURES}/photos/cat.jpg")).expect("photo");
    let input = preprocess(&photo, glimpse::ml::model::Backbone::Lite0).expect("preprocess");
    let run = block_on(engine.benchmark(&input.pixels, 3, 4, 1)).expect("benchmark");
    assert_eq!(run.times_ms.len(), 4);
    assert!(run.times_ms.iter().all(|&t| t > 0.0));
    assert_eq!(run.logits.len(), 1000);
    let top = run
        .logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .expect("a class");
    assert_eq!(imagenet()[top].name, "lynx");

    assert!(block_on(engine.benchmark(&input.pixels[1..], 1, 1, 0)).is_err());
    assert!(block_on(engine.benchmark(&input.pixels, 0, 1, 0)).is_err());
}
