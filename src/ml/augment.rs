//! Random views of a training photo (random resized crop, horizontal flip, colour jitter), so a
//! head trained on a few photos per class sees more than a few embeddings. The ranges follow the
//! usual ImageNet fine-tuning recipe, milder on scale: a person's photos are often tight already.

use image::imageops::FilterType;
use image::{Rgb, RgbImage};

use super::split::SplitMix64;
use crate::formats::backbone::Backbone;

/// Area share of the photo a random crop keeps, and its aspect ratio range.
const SCALE: (f64, f64) = (0.5, 1.0);
const RATIO: (f64, f64) = (3.0 / 4.0, 4.0 / 3.0);
/// Brightness, contrast and saturation each move by up to this factor.
const JITTER: f64 = 0.25;

fn between(rng: &mut SplitMix64, (low, high): (f64, f64)) -> f64 {
    low + (high - low) * rng.unit()
}

/// A random view of `image` at the backbone's input size.
pub fn random_view(image: &RgbImage, backbone: Backbone, rng: &mut SplitMix64) -> RgbImage {
    let (w, h) = (f64::from(image.width()), f64::from(image.height()));
    let area = w * h * between(rng, SCALE);
    let ratio = between(rng, RATIO);
    let cw = (area * ratio).sqrt().min(w).max(1.0);
    let ch = (area / ratio).sqrt().min(h).max(1.0);
    let x = ((w - cw) * rng.unit()) as u32;
    let y = ((h - ch) * rng.unit()) as u32;
    let crop = image::imageops::crop_imm(image, x, y, cw as u32, ch as u32).to_image();
    let size = backbone.input_size() as u32;
    let mut view = image::imageops::resize(&crop, size, size, FilterType::Triangle);
    if rng.unit() < 0.5 {
        view = image::imageops::flip_horizontal(&view);
    }
    jitter_colour(&mut view, rng);
    view
}

fn jitter_colour(image: &mut RgbImage, rng: &mut SplitMix64) {
    let brightness = 1.0 + JITTER * (2.0 * rng.unit() - 1.0);
    let contrast = 1.0 + JITTER * (2.0 * rng.unit() - 1.0);
    let saturation = 1.0 + JITTER * (2.0 * rng.unit() - 1.0);
    let mean =
        image.pixels().map(luma).sum::<f64>() / f64::from((image.width() * image.height()).max(1));
    for px in image.pixels_mut() {
        let gray = luma(px);
        for c in 0..3 {
            let v = f64::from(px[c]) * brightness;
            let v = gray * brightness + (v - gray * brightness) * saturation;
            let v = mean + (v - mean) * contrast;
            px[c] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
}

fn luma(px: &Rgb<u8>) -> f64 {
    0.299 * f64::from(px[0]) + 0.587 * f64::from(px[1]) + 0.114 * f64::from(px[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_model_sized_varied_and_repeatable() {
        let image = RgbImage::from_fn(300, 200, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        let mut rng = SplitMix64::new(5);
        let lite0 = Backbone::Lite0;
        let a = random_view(&image, lite0, &mut rng);
        let b = random_view(&image, lite0, &mut rng);
        assert_eq!(a.dimensions(), (224, 224));
        assert_ne!(a, b);
        assert_eq!(a, random_view(&image, lite0, &mut SplitMix64::new(5)));
        let lite1 = random_view(&image, Backbone::Lite1, &mut SplitMix64::new(5));
        assert_eq!(lite1.dimensions(), (240, 240));
    }
}
