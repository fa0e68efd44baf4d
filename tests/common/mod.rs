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

/// A photo encoded in `format`, as a file of that kind would hold it.
pub fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("encode");
    bytes
}

/// Inserts an EXIF APP1 segment holding only an Orientation tag right after the JPEG's SOI.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0*"); // big-endian, as most cameras write it
    tiff.extend_from_slice(&8u32.to_be_bytes()); // first IFD right after the header
    tiff.extend_from_slice(&1u16.to_be_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_be_bytes()); // count
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

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
    engine_with_photos(crops(0, per_class, 1))
}

/// An engine that has embedded `photos` (class, file bytes) as training photos.
pub fn engine_with_photos(photos: Vec<(usize, Vec<u8>)>) -> (Engine, Vec<(u32, usize)>) {
    engine_on(glimpse::ml::model::Backbone::Lite0, photos)
}

/// An engine of `backbone` that has embedded `photos` (class, file bytes) as training photos.
pub fn engine_on(
    backbone: glimpse::ml::model::Backbone,
    photos: Vec<(usize, Vec<u8>)>,
) -> (Engine, Vec<(u32, usize)>) {
    let weights = format!(
        "{}/weights/{}",
        env!("CARGO_MANIFEST_DIR"),
        backbone.weights_file()
    );
    let mut engine =
        Engine::new(Device::flex(), &std::fs::read(weights).expect("weights")).expect("engine");
    let mut labelled = Vec::new();
    for (i, (label, bytes)) in photos.into_iter().enumerate() {
        let id = 1000 + i as u32;
        block_on(engine.add_example(id, &bytes, true)).expect("example");
        labelled.push((id, label));
    }
    (engine, labelled)
}

/// Fashion-MNIST items of trouser, sneaker and bag (32 of each, `fixtures/fashion-mnist`),
/// each whole 28 x 28 item upscaled to 256 px (no crop: the garments fill the frame), class by
/// class in the order of the file.
pub fn fashion_images() -> Vec<(usize, RgbImage)> {
    fashion_set("subset.bin", &[1, 7, 8])
}

/// The hard triple: shirt, pullover and coat (labels 6, 2 and 4), 32 of each, as above.
pub fn hard_fashion_images() -> Vec<(usize, RgbImage)> {
    fashion_set("hard.bin", &[6, 2, 4])
}

/// Items of `fixtures/fashion-mnist/{file}`, each labelled by its position in `classes`.
fn fashion_set(file: &str, classes: &[u8]) -> Vec<(usize, RgbImage)> {
    let raw = std::fs::read(format!("{FIXTURES}/fashion-mnist/{file}")).expect("subset");
    raw.chunks_exact(785)
        .map(|record| {
            let label = classes
                .iter()
                .position(|&c| c == record[0])
                .expect("known label");
            let small = RgbImage::from_fn(28, 28, |x, y| {
                let v = record[1 + (y * 28 + x) as usize];
                image::Rgb([v, v, v])
            });
            let photo =
                image::imageops::resize(&small, 256, 256, image::imageops::FilterType::Triangle);
            (label, photo)
        })
        .collect()
}

/// The same items as PNG files.
pub fn fashion_items() -> Labelled {
    as_png(fashion_images())
}

/// The hard triple's items as PNG files.
pub fn hard_fashion_items() -> Labelled {
    as_png(hard_fashion_images())
}

fn as_png(images: Vec<(usize, RgbImage)>) -> Labelled {
    images
        .into_iter()
        .map(|(label, photo)| (label, png(&photo)))
        .collect()
}

/// Photos as (class, file bytes).
pub type Labelled = Vec<(usize, Vec<u8>)>;

/// The first `per_class` photos of each class to learn from, the rest to test on.
pub fn split_per_class(photos: Labelled, per_class: usize) -> (Labelled, Labelled) {
    let mut seen = std::collections::HashMap::new();
    photos.into_iter().partition(|(label, _)| {
        let count = seen.entry(*label).or_insert(0usize);
        *count += 1;
        *count <= per_class
    })
}

/// Share of `photos` (class, file) the engine's active model gets right.
pub fn accuracy_on(engine: &Engine, photos: &[(usize, Vec<u8>)], names: &[&str]) -> f64 {
    let right = photos
        .iter()
        .enumerate()
        .filter(|(i, (label, bytes))| {
            let answer = block_on(engine.classify(50_000 + *i as u32, bytes)).expect("classify");
            answer.predictions[0].label == names[*label]
        })
        .count();
    right as f64 / photos.len() as f64
}

/// The ImageNet sample photos (`fixtures/photos`: a cat, a bridge, a coyote, a flamingo, a
/// torch) and `crops` square crops of each, as files: photos of none of a person's classes.
pub fn sample_photos(crops: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::new();
    for name in ["cat", "bridge", "coyote", "flamingo", "torch"] {
        let bytes = std::fs::read(format!("{FIXTURES}/photos/{name}.jpg")).expect("photo");
        let photo = decode(&bytes).expect("decode");
        out.push((name.to_string(), bytes));
        let short = photo.width().min(photo.height());
        for k in 0..crops {
            let side = short / 2 + rng.below((short / 2) as usize) as u32;
            let x = rng.below((photo.width() - side + 1) as usize) as u32;
            let y = rng.below((photo.height() - side + 1) as usize) as u32;
            let crop = image::imageops::crop_imm(&photo, x, y, side, side).to_image();
            out.push((format!("{name} crop {k}"), png(&crop)));
        }
    }
    out
}

/// The clean (centre view) embedding of each photo under the engine's ImageNet backbone.
pub fn embed_photos(engine: &Engine, photos: &[(usize, Vec<u8>)]) -> Vec<Vec<f32>> {
    let views: Vec<RgbImage> = photos
        .iter()
        .map(|(_, bytes)| {
            glimpse::ml::preprocess::model_view(
                &decode(bytes).expect("decode"),
                glimpse::ml::model::Backbone::Lite0,
            )
            .0
        })
        .collect();
    block_on(glimpse::engine::teach::embed_views(
        engine.model(),
        &views,
        engine.device(),
    ))
    .expect("embed")
}
