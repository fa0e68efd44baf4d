//! Turns the bytes of a photo into the model's input: decode (EXIF orientation applied), RGB,
//! the centre crop the model sees, scaled to [-1, 1].
//!
//! The reference recipe is "shorter side to size + 32, centre crop size" (torchvision's ImageNet
//! eval transform, 256 and 224 for Lite0; the EfficientNet reference's `CROP_PADDING` of 32 for
//! Lite1's 240 and Lite2's 260). We crop first, in the photo's own pixels, the square that recipe
//! would keep (side = shorter side x size / (size + 32)), then resize it straight to the
//! backbone's size: the same pixels at a fraction of the cost for big photos, and the crop box is
//! what the saliency overlay is drawn over.

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};
use std::io::Cursor;

pub use crate::formats::backbone::Backbone;
pub use crate::formats::photo::{CropBox, DecodeError};
use crate::formats::shape::{INPUT_MEAN, INPUT_STD};

/// Photos above this many pixels are refused before decoding (a 20000x20000 PNG would need
/// 1.6 GB as RGBA). 100 MP covers every camera a person is likely to drop.
pub const PIXEL_BUDGET: u64 = 100_000_000;
/// Ceiling on the decoded buffer of one photo, and on what a decoder may allocate on the side
/// (PNG text chunks, for one), whatever the header claims: 100 MP as 8-bit RGBA fits, 100 MP at
/// 16 bits per channel does not. The page's engine lives in a wasm memory of at most 4 GB.
pub const ALLOC_BUDGET: u64 = 512 * MB;
const MB: u64 = 1024 * 1024;
/// The eval transform's margin: resize to size + 32, crop size.
const CROP_PADDING: f64 = 32.0;

/// A photo ready for the model, and where its crop lies in the upright photo.
#[derive(Debug, Clone)]
pub struct Preprocessed {
    /// `[3, size, size]` for the backbone's input size, channel-major, normalised.
    pub pixels: Vec<f32>,
    pub width: u32,
    pub height: u32,
    pub crop: CropBox,
}

/// Decodes a photo, applies its EXIF orientation and flattens it to RGB (alpha over white).
///
/// The header's size is checked against the pixel and memory budgets before any pixel buffer
/// exists. Then at most two full-size buffers live at once: the decoded one and its 8-bit RGB
/// copy (none when it already is 8-bit RGB); a 90-degree orientation turns the 3-byte copy.
pub fn decode(bytes: &[u8]) -> Result<RgbImage, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
    if reader.format().is_none() {
        return Err(DecodeError::UnknownFormat);
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(ALLOC_BUDGET);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > PIXEL_BUDGET {
        return Err(DecodeError::TooLarge {
            width,
            height,
            budget: PIXEL_BUDGET / 1_000_000,
        });
    }
    if width == 0 || height == 0 {
        return Err(DecodeError::NoPixels);
    }
    // `DynamicImage::from_decoder` allocates this much without asking the limits.
    let needed = decoder.total_bytes();
    if needed > ALLOC_BUDGET {
        return Err(DecodeError::TooMuchMemory {
            needed_mb: Some(needed.div_ceil(MB)),
            budget_mb: ALLOC_BUDGET / MB,
        });
    }
    // A broken orientation tag is not worth losing the photo over: keep it as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    // Turned after flattening, so a rotation copies 3 bytes a pixel, not up to 8.
    let mut upright = DynamicImage::ImageRgb8(flatten_to_rgb(image));
    upright.apply_orientation(orientation);
    Ok(upright.into_rgb8())
}

fn decode_error(e: image::ImageError) -> DecodeError {
    use image::error::UnsupportedErrorKind;
    match e {
        image::ImageError::Unsupported(u) => match u.kind() {
            UnsupportedErrorKind::Format(_) => DecodeError::UnknownFormat,
            _ => DecodeError::Unsupported(one_line(&u.to_string())),
        },
        image::ImageError::Limits(_) => DecodeError::TooMuchMemory {
            needed_mb: None,
            budget_mb: ALLOC_BUDGET / MB,
        },
        other => DecodeError::Corrupt(one_line(&other.to_string())),
    }
}

/// A decoder's message as one plain line for a person: zune-jpeg's come quoted, with escaped
/// newlines (`"Found a marker with invalid length:4\n"`), the png crate's end in a debug dump
/// (`... while decoding ChunkType { type: IDAT, critical: true, .. } chunk.`).
fn one_line(text: &str) -> String {
    let text = text.replace("\\n", " ").replace('"', "");
    let text = match text.find(" while decoding ").or_else(|| text.find('{')) {
        Some(dump) => &text[..dump],
        None => &text,
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// RGB with transparent pixels composited over white, the way a page shows them. Takes the
/// image so that an 8-bit RGB one passes through without a copy.
fn flatten_to_rgb(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let mut rgb = RgbImage::new(rgba.width(), rgba.height());
    for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
        let alpha = u32::from(px[3]);
        for c in 0..3 {
            out[c] = ((u32::from(px[c]) * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
        }
    }
    rgb
}

/// JPEG bytes of an image, for keeping small copies of photos.
pub fn encode_jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .expect("encoding an RGB image into memory cannot fail");
    out
}

/// The centred square that "shorter side to size + 32, crop size" keeps.
pub fn centre_crop_box(width: u32, height: u32, backbone: Backbone) -> CropBox {
    let shorter = width.min(height);
    let size = backbone.input_size() as f64;
    let fraction = size / (size + CROP_PADDING);
    let side = ((f64::from(shorter) * fraction).round() as u32).clamp(1, shorter);
    CropBox {
        x: (width - side) / 2,
        y: (height - side) / 2,
        side,
    }
}

/// The crop the backbone sees, resized to its input size with an antialiasing bilinear filter.
pub fn model_view(image: &RgbImage, backbone: Backbone) -> (RgbImage, CropBox) {
    let crop = centre_crop_box(image.width(), image.height(), backbone);
    // A view, not a copy: the crop of a big photo is most of it.
    let square = image::imageops::crop_imm(image, crop.x, crop.y, crop.side, crop.side);
    let size = backbone.input_size() as u32;
    // `resize` copies when the crop already has the model's size.
    let view = image::imageops::resize(&*square, size, size, FilterType::Triangle);
    (view, crop)
}

/// `[3, h, w]` channel-major floats in the model's [-1, 1] range.
pub fn normalise(image: &RgbImage) -> Vec<f32> {
    let plane = (image.width() * image.height()) as usize;
    let mut out = vec![0.0; 3 * plane];
    for (i, px) in image.pixels().enumerate() {
        for c in 0..3 {
            out[c * plane + i] = (f32::from(px[c]) / 255.0 - INPUT_MEAN) / INPUT_STD;
        }
    }
    out
}

/// Bytes of a photo to the backbone's input.
pub fn preprocess(bytes: &[u8], backbone: Backbone) -> Result<Preprocessed, DecodeError> {
    let image = decode(bytes)?;
    let (view, crop) = model_view(&image, backbone);
    Ok(Preprocessed {
        pixels: normalise(&view),
        width: image.width(),
        height: image.height(),
        crop,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageFormat, Luma, LumaA, Rgb, Rgba};

    // EXIF orientations 1 to 8 and the rest of the bad-input corpus: tests/bad_input.rs.
    fn encode(image: DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut file = Cursor::new(Vec::new());
        image.write_to(&mut file, format).expect("encode");
        file.into_inner()
    }

    fn red_left_blue_right(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, _| {
            if x < width / 2 {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 0, 255])
            }
        })
    }

    #[test]
    fn grayscale_becomes_three_equal_channels() {
        let gray = image::GrayImage::from_fn(50, 40, |x, _| Luma([(x * 5) as u8]));
        let rgb =
            decode(&encode(DynamicImage::ImageLuma8(gray), ImageFormat::Png)).expect("decode");
        let px = rgb.get_pixel(10, 10);
        assert_eq!((px[0], px[1], px[2]), (50, 50, 50));
    }

    #[test]
    fn sixteen_bit_png_is_scaled_to_eight_bits() {
        let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_pixel(
            8,
            8,
            image::Rgb([65535u16, 32896, 0]),
        );
        let rgb =
            decode(&encode(DynamicImage::ImageRgb16(deep), ImageFormat::Png)).expect("decode");
        assert_eq!(rgb.get_pixel(3, 3).0, [255, 128, 0]);
    }

    #[test]
    fn transparent_pixels_are_composited_over_white() {
        let rgba = image::RgbaImage::from_fn(20, 20, |x, _| {
            if x < 10 {
                Rgba([0, 0, 0, 0])
            } else {
                Rgba([0, 0, 0, 255])
            }
        });
        let rgb =
            decode(&encode(DynamicImage::ImageRgba8(rgba), ImageFormat::Png)).expect("decode");
        assert_eq!(rgb.get_pixel(2, 5).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(15, 5).0, [0, 0, 0]);
        let half = image::GrayAlphaImage::from_pixel(4, 4, LumaA([0, 128]));
        let rgb =
            decode(&encode(DynamicImage::ImageLumaA8(half), ImageFormat::Png)).expect("decode");
        assert_eq!(rgb.get_pixel(1, 1).0, [127, 127, 127]);
    }

    #[test]
    fn centre_crop_keeps_the_middle_square_of_the_shorter_side() {
        assert_eq!(
            centre_crop_box(400, 200, Backbone::Lite0),
            CropBox {
                x: 112,
                y: 12,
                side: 175
            }
        );
        assert_eq!(
            centre_crop_box(256, 256, Backbone::Lite0),
            CropBox {
                x: 16,
                y: 16,
                side: 224
            }
        );
        // Lite2 keeps 260/292 of the shorter side: "resize to 292, crop 260".
        assert_eq!(
            centre_crop_box(292, 400, Backbone::Lite2),
            CropBox {
                x: 16,
                y: 70,
                side: 260
            }
        );
        assert_eq!(
            centre_crop_box(1, 1, Backbone::Lite0),
            CropBox {
                x: 0,
                y: 0,
                side: 1
            }
        );
        // A wide photo with red margins: the model never sees the red.
        let image = RgbImage::from_fn(400, 200, |x, _| {
            if !(100..300).contains(&x) {
                Rgb([255, 0, 0])
            } else {
                Rgb([0, 255, 0])
            }
        });
        let (view, crop) = model_view(&image, Backbone::Lite0);
        assert_eq!(view.dimensions(), (224, 224));
        assert_eq!(
            model_view(&image, Backbone::Lite2).0.dimensions(),
            (260, 260)
        );
        assert!(crop.x >= 100 && crop.x + crop.side <= 300);
        assert!(view.pixels().all(|p| p[0] == 0 && p[1] == 255));
    }

    #[test]
    fn normalisation_maps_0_255_to_about_minus_one_one() {
        let image = RgbImage::from_fn(2, 1, |x, _| {
            if x == 0 {
                Rgb([0, 0, 0])
            } else {
                Rgb([255, 255, 255])
            }
        });
        let v = normalise(&image);
        assert_eq!(v.len(), 6);
        assert!((v[0] + 0.992).abs() < 0.01, "{}", v[0]);
        assert!((v[1] - 1.0).abs() < 0.01, "{}", v[1]);
        // channel-major: the second channel starts after the first plane
        assert_eq!(v[2], v[0]);
    }

    #[test]
    fn tiny_photo_is_upscaled_to_the_model_input() {
        let one = RgbImage::from_pixel(1, 1, Rgb([10, 20, 30]));
        let p = preprocess(
            &encode(DynamicImage::ImageRgb8(one), ImageFormat::Png),
            Backbone::Lite0,
        )
        .expect("preprocess");
        assert_eq!(p.pixels.len(), 3 * 224 * 224);
        assert_eq!((p.width, p.height), (1, 1));
    }

    #[test]
    fn bad_bytes_get_a_specific_error() {
        assert_eq!(decode(&[]), Err(DecodeError::Empty));
        assert_eq!(
            decode(b"hello, this is a text file"),
            Err(DecodeError::UnknownFormat)
        );
        let png = encode(
            DynamicImage::ImageRgb8(red_left_blue_right(64, 64)),
            ImageFormat::Png,
        );
        assert!(matches!(
            decode(&png[..png.len() / 2]),
            Err(DecodeError::Corrupt(_))
        ));
    }

    /// CRC-32 (IEEE) as PNG chunks use it.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    /// A 1x1 PNG of `image`'s colour type whose header claims `side` x `side`, no pixels behind.
    fn png_claiming(image: DynamicImage, side: u32) -> Vec<u8> {
        let mut png = encode(image, ImageFormat::Png);
        png[16..20].copy_from_slice(&side.to_be_bytes());
        png[20..24].copy_from_slice(&side.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        png
    }

    #[test]
    fn huge_dimensions_are_refused_before_decoding() {
        // 20000x20000 would be 1.6 GB as RGBA.
        let png = png_claiming(DynamicImage::ImageRgb8(RgbImage::new(1, 1)), 20000);
        assert_eq!(
            decode(&png),
            Err(DecodeError::TooLarge {
                width: 20000,
                height: 20000,
                budget: 100
            })
        );
    }

    #[test]
    fn deep_images_beyond_the_memory_budget_are_refused_before_decoding() {
        // 81 megapixels are within the pixel budget; at 8 bytes a pixel they are 618 MB.
        let deep = DynamicImage::ImageRgba16(image::ImageBuffer::new(1, 1));
        let error = decode(&png_claiming(deep, 9000)).expect_err("refused");
        assert_eq!(
            error,
            DecodeError::TooMuchMemory {
                needed_mb: Some(618),
                budget_mb: 512
            }
        );
        assert_eq!(
            error.to_string(),
            "decoding the image would need 618 MB of memory, more than the 512 MB Glimpse \
             allows for one photo"
        );
        // The same size at 8 bits a channel (243 MB as RGB) gets as far as its missing pixels.
        let shallow = png_claiming(DynamicImage::ImageRgb8(RgbImage::new(1, 1)), 9000);
        assert!(matches!(decode(&shallow), Err(DecodeError::Corrupt(_))));
    }

    #[test]
    fn a_truncated_jpeg_gets_a_one_line_message() {
        // Regression: zune-jpeg's message ended in a newline, which broke the page's one-line
        // error under the photo.
        let jpeg = encode(
            DynamicImage::ImageRgb8(red_left_blue_right(64, 64)),
            ImageFormat::Jpeg,
        );
        match decode(&jpeg[..300]) {
            Err(DecodeError::Corrupt(message)) => {
                assert!(
                    !message.contains('\n') && message == message.trim(),
                    "{message:?}"
                )
            }
            other => panic!("expected a corrupt JPEG, got {other:?}"),
        }
    }

    #[test]
    fn decoder_messages_read_as_one_plain_line() {
        // Regression: these reached the page as they came from the decoders.
        assert_eq!(
            one_line("Format error decoding Jpeg: \"Found a marker with invalid length:4\\n\"\n"),
            "Format error decoding Jpeg: Found a marker with invalid length:4"
        );
        assert_eq!(
            one_line(
                "Format error decoding Png: CRC error: expected 0x1f have 0x2e while decoding \
                 ChunkType { type: IDAT, critical: true, private: false } chunk."
            ),
            "Format error decoding Png: CRC error: expected 0x1f have 0x2e"
        );
    }

    #[test]
    fn a_format_feature_the_decoder_lacks_is_named() {
        use image::error::{UnsupportedError, UnsupportedErrorKind};
        let lacking = image::ImageError::Unsupported(UnsupportedError::from_format_and_kind(
            ImageFormat::Jpeg.into(),
            UnsupportedErrorKind::GenericFeature("arithmetic coding".into()),
        ));
        let error = decode_error(lacking);
        assert!(matches!(error, DecodeError::Unsupported(_)), "{error:?}");
        assert!(error.to_string().contains("arithmetic coding"), "{error}");
        let unknown = image::ImageError::Unsupported(UnsupportedError::from_format_and_kind(
            image::error::ImageFormatHint::Unknown,
            UnsupportedErrorKind::Format(image::error::ImageFormatHint::Unknown),
        ));
        assert_eq!(decode_error(unknown), DecodeError::UnknownFormat);
    }

    #[test]
    fn a_decoder_hitting_the_memory_limit_says_so_without_inventing_a_size() {
        // Regression: this used to read "the image is 0x0 pixels, more than the 100 megapixels".
        let limits = image::ImageError::Limits(image::error::LimitError::from_kind(
            image::error::LimitErrorKind::InsufficientMemory,
        ));
        let error = decode_error(limits);
        assert_eq!(
            error,
            DecodeError::TooMuchMemory {
                needed_mb: None,
                budget_mb: 512
            }
        );
        assert_eq!(
            error.to_string(),
            "decoding the image would need more than the 512 MB of memory Glimpse allows for \
             one photo"
        );
    }
}
