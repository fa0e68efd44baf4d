//! Helpers shared by the engine tests: the shipped weights and texture crops as training photos.
#![allow(dead_code)]

use std::io::Cursor;

use burn::prelude::*;
use futures::executor::block_on;
use glimpse::engine::Engine;
use glimpse::ml::preprocess::decode;
use glimpse::ml::split::SplitMix64;
use image::{DynamicImage, ImageFormat, RgbImage};

pub const WEIGHTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/weights/efficientnet-lite0.f16.safetensors"
);
pub const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
pub const CLASSES: [&str; 3] = ["brick", "grass", "gravel"];

pub fn png(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(image.clone())
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .expect("png");
    out
}

/// `count` crops per texture from the given half (0 = left, 1 = right), as PNG files.
pub fn crops(half: u32, count: usize, seed: u64) -> Vec<(usize, Vec<u8>)> {
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

pub fn engine_with_examples(per_class: usize) -> (Engine, Vec<(u32, usize)>) {
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
