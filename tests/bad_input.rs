//! The bad-input corpus of issue #7 ("Hold up"): every kind of file a person may drop on the page
//! gets the right picture or its own clear refusal. The test makes the corpus itself (with the
//! `image` encoders, or byte by byte where no encoder would write such a file: bombs, headers that
//! lie, truncations); only the CMYK JPEGs are files, because no Rust encoder here writes CMYK
//! (`tests/fixtures/bad-input/README.md` says how they were made).
//!
//! Every refusal is also checked to allocate less than 4 MB at once (a counting allocator
//! wraps the system one): bombs and lying headers are refused from their headers, before any
//! pixel buffer exists.
//!
//! The last test sends the whole corpus through the engine, bad and good interleaved, through
//! `classify` and `add_example`: each real photo, in every variant, gets its known ImageNet class
//! and each bad file its specific error, and no failure affects the next photo.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Cursor;

use burn::prelude::*;
use futures::executor::block_on;
use glimpse::engine::Engine;
use glimpse::engine::teach::TrainSettings;
use glimpse::formats::project_file::{self as project_file, Project, ProjectExample};
use glimpse::ml::preprocess::{ALLOC_BUDGET, DecodeError, PIXEL_BUDGET, decode, preprocess};
use glimpse::protocol::PhotoError;
use image::codecs::gif::{GifEncoder, Repeat};
use image::{
    DynamicImage, Frame, GrayAlphaImage, GrayImage, ImageBuffer, ImageFormat, Luma, LumaA, Rgb,
    RgbImage, Rgba, RgbaImage,
};

mod common;

use common::{FIXTURES, WEIGHTS, encode, with_exif_orientation};

// ---------------------------------------------------------------------------------------------
// Counting what a refusal allocates

/// The system allocator, counting the bytes each thread holds and the most it held, so that a
/// test can tell a refusal made from the header from one made after allocating the pixels.
struct Counting;

thread_local! {
    static HELD: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: the allocator also runs while a thread's locals are torn down.
    let _ = HELD.try_with(|held| {
        let now = held.get() + delta;
        held.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call goes to `System` unchanged; only the counts are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        count(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            count(new_size as isize - layout.size() as isize);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and answers its result and the most it held allocated at once on this thread.
fn peak_bytes<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = HELD.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let out = f();
    (out, (PEAK.with(Cell::get) - start).max(0) as usize)
}

/// What a refusal may allocate: a decoder's tables and buffers, never the image.
const REFUSAL_BYTES: usize = 4 << 20;

// ---------------------------------------------------------------------------------------------
// Making the corpus

fn png(image: impl Into<DynamicImage>) -> Vec<u8> {
    encode(&image.into(), ImageFormat::Png)
}

fn jpeg(image: &RgbImage) -> Vec<u8> {
    encode(&DynamicImage::ImageRgb8(image.clone()), ImageFormat::Jpeg)
}

/// Red, green / blue, white quadrants: any turn or mirror of it is told apart by four pixels.
const QUADRANTS: [[u8; 3]; 4] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];

fn quadrants(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let q = usize::from(x >= width / 2) + 2 * usize::from(y >= height / 2);
        Rgb(QUADRANTS[q])
    })
}

/// Asserts the four quadrant centres of `image` hold the colours of [`quadrants`] (within JPEG
/// error).
fn assert_upright_quadrants(what: &str, image: &RgbImage) {
    let (w, h) = image.dimensions();
    for (q, (x, y)) in [
        (w / 4, h / 4),
        (3 * w / 4, h / 4),
        (w / 4, 3 * h / 4),
        (3 * w / 4, 3 * h / 4),
    ]
    .into_iter()
    .enumerate()
    {
        let got = image.get_pixel(x, y).0;
        let close = got
            .iter()
            .zip(QUADRANTS[q])
            .all(|(&g, e)| (i32::from(g) - i32::from(e)).abs() < 48);
        assert!(
            close,
            "{what}: pixel ({x}, {y}) is {got:?}, expected {:?}",
            QUADRANTS[q]
        );
    }
}

/// Where a stored pixel (x, y) of a `stored_w` x `stored_h` image shows once EXIF orientation
/// `o` is applied: the eight cases of the EXIF 2.32 specification (tag 0x0112), written out.
fn displayed(o: u16, x: u32, y: u32, stored_w: u32, stored_h: u32) -> (u32, u32) {
    let (right, bottom) = (stored_w - 1 - x, stored_h - 1 - y);
    match o {
        1 => (x, y),
        2 => (right, y),
        3 => (right, bottom),
        4 => (x, bottom),
        5 => (y, x),
        6 => (bottom, x),
        7 => (bottom, right),
        8 => (y, right),
        _ => unreachable!("EXIF orientations are 1 to 8"),
    }
}

/// The pixels a camera stores for `upright` under orientation `o`.
fn stored_for(upright: &RgbImage, o: u16) -> RgbImage {
    let (w, h) = upright.dimensions();
    let (sw, sh) = if o >= 5 { (h, w) } else { (w, h) };
    RgbImage::from_fn(sw, sh, |x, y| {
        let (ux, uy) = displayed(o, x, y, sw, sh);
        *upright.get_pixel(ux, uy)
    })
}

/// CRC-32 (IEEE), as PNG chunks use it.
fn crc32(bytes: &[u8]) -> u32 {
    let table: Vec<u32> = (0..256u32)
        .map(|n| {
            (0..8).fold(n, |c, _| {
                if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                }
            })
        })
        .collect();
    !bytes.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// LSB-first bit writer, as deflate packs its bits.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    used: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        for i in 0..count {
            if self.used == 0 {
                self.bytes.push(0);
            }
            *self.bytes.last_mut().expect("a byte") |= (((value >> i) & 1) as u8) << self.used;
            self.used = (self.used + 1) % 8;
        }
    }

    /// A Huffman code, most significant bit first.
    fn code(&mut self, code: u32, length: u32) {
        for i in (0..length).rev() {
            self.put((code >> i) & 1, 1);
        }
    }

    fn zeros(&mut self, mut count: u64) {
        while count > 0 && self.used != 0 {
            self.put(0, 1);
            count -= 1;
        }
        self.bytes
            .resize(self.bytes.len() + (count / 8) as usize, 0);
        self.put(0, (count % 8) as u32);
    }
}

/// A zlib stream of `total` zero bytes in one dynamic-Huffman deflate block whose codes make a
/// 258-byte copy cost 2 bits: about 1/1000 of what it inflates to, like zlib's best.
///
/// Literal/length code: 285 (copy 258) = `0`, literal 0 = `10`, end of block = `11`; distance
/// code: 0 (distance 1) = `0`, 1 = `1`. The code lengths travel run-length coded (RFC 1951
/// 3.2.7) with a code-length code of 18 = `0`, 1 = `10`, 2 = `11`.
fn zlib_zeros(total: u64) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.put(1, 1); // BFINAL
    bits.put(2, 2); // dynamic Huffman
    bits.put(286 - 257, 5); // HLIT: lit/len codes up to 285
    bits.put(2 - 1, 5); // HDIST: two distance codes
    bits.put(18 - 4, 4); // HCLEN: code-length code lengths up to symbol 1's slot
    // Order: 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1.
    for length in [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2] {
        bits.put(length, 3);
    }
    let (rle18, one, two) = ((0, 1), (0b10, 2), (0b11, 2));
    let zeros = |bits: &mut Bits, n: u32| {
        bits.code(rle18.0, rle18.1);
        bits.put(n - 11, 7);
    };
    bits.code(two.0, two.1); // literal 0: length 2
    zeros(&mut bits, 138); // literals 1..=138
    zeros(&mut bits, 117); // literals 139..=255
    bits.code(two.0, two.1); // 256, end of block: length 2
    zeros(&mut bits, 28); // 257..=284
    bits.code(one.0, one.1); // 285: length 1
    bits.code(one.0, one.1); // distance 0: length 1
    bits.code(one.0, one.1); // distance 1: length 1

    bits.code(0b10, 2); // the first zero, as a literal
    let copies = (total - 1) / 258;
    let tail = (total - 1) % 258;
    bits.zeros(2 * copies); // each copy: length code `0`, distance code `0`
    for _ in 0..tail {
        bits.code(0b10, 2);
    }
    bits.code(0b11, 2); // end of block

    let mut out = vec![0x78, 0x01];
    out.extend_from_slice(&bits.bytes);
    // Adler-32 of zeros: a stays 1, b adds 1 per byte.
    let adler = (((total % 65521) as u32) << 16) | 1;
    out.extend_from_slice(&adler.to_be_bytes());
    out
}

/// A PNG of all-zero rows (black, or transparent black) whose IDAT is a genuine deflate stream.
fn zero_png(width: u32, height: u32, bit_depth: u8, colour_type: u8) -> Vec<u8> {
    let channels: u64 = match colour_type {
        0 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => unreachable!("colour types without a palette"),
    };
    let row = 1 + u64::from(width) * channels * u64::from(bit_depth) / 8;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, colour_type, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &zlib_zeros(row * u64::from(height)));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A JPEG whose frame header claims `width` x `height`, with the small image's scan behind it.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg(&quadrants(16, 16));
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

/// A GIF whose logical screen is `width` x `height`, holding one 1x1 frame.
fn gif_with_screen(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = encode(
        &DynamicImage::ImageRgba8(RgbaImage::from_pixel(1, 1, Rgba([9, 9, 9, 255]))),
        ImageFormat::Gif,
    );
    bytes[6..8].copy_from_slice(&width.to_le_bytes());
    bytes[8..10].copy_from_slice(&height.to_le_bytes());
    bytes
}

fn animated_gif(frames: &[RgbaImage]) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new_with_speed(&mut bytes, 10);
        encoder.set_repeat(Repeat::Infinite).expect("repeat");
        encoder
            .encode_frames(frames.iter().map(|f| Frame::new(f.clone())))
            .expect("gif");
    }
    bytes
}

const PDF: &[u8] = b"%PDF-1.4\n\
1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n\
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n\
trailer << /Root 1 0 R >>\n%%EOF\n";

const SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">\
<rect width=\"10\" height=\"10\" fill=\"red\"/></svg>";

/// The start of an iPhone HEIC photo: an ISO-BMFF `ftyp` box, a format Glimpse does not read.
const HEIC: &[u8] = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0";

/// Asserts an error reads as a sentence for a person: no placeholder sizes, no debug dumps.
fn assert_clear(what: &str, error: &DecodeError) {
    let text = error.to_string();
    println!("{what}: {text}");
    assert!(text.len() >= 15, "{what}: too short: {text:?}");
    for bad in ["0x0 ", "{", "}", "Some(", "None", "Error(", "\n"] {
        assert!(!text.contains(bad), "{what}: {text:?} contains {bad:?}");
    }
}

fn refused(what: &str, bytes: &[u8]) -> DecodeError {
    let (result, peak) = peak_bytes(|| decode(bytes));
    let error = match result {
        Ok(image) => panic!("{what}: decoded to {:?}", image.dimensions()),
        Err(e) => e,
    };
    assert_clear(what, &error);
    assert!(
        peak < REFUSAL_BYTES,
        "{what}: refusing it allocated {peak} bytes at once"
    );
    // The model's path refuses it the same way.
    assert_eq!(
        preprocess(bytes, glimpse::ml::model::Backbone::Lite0)
            .err()
            .as_ref(),
        Some(&error),
        "{what}"
    );
    error
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Decoding, case by case

#[test]
fn files_that_are_not_images_are_refused_as_such() {
    assert_eq!(refused("zero bytes", &[]), DecodeError::Empty);
    for (what, bytes) in [
        (
            "text",
            &b"Dear diary, today I dropped a text file on Glimpse.\n"[..],
        ),
        ("PDF", PDF),
        ("SVG", SVG),
        ("HEIC", HEIC),
        ("one byte", &[0xFF]),
        ("JPEG magic only", &[0xFF, 0xD8]),
    ] {
        assert_eq!(refused(what, bytes), DecodeError::UnknownFormat, "{what}");
    }
}

#[test]
fn truncated_files_are_refused_or_decoded_as_far_as_they_go() {
    let upright = quadrants(96, 64);
    let png = png(upright.clone());
    // A PNG is refused wherever it is cut, even when only its (empty) IEND chunk is lost.
    for cut in [8, 16, 33, 40, png.len() / 2, png.len() - 13, png.len() - 12] {
        let error = refused(&format!("PNG cut at {cut} of {}", png.len()), &png[..cut]);
        assert!(matches!(error, DecodeError::Corrupt(_)), "{error:?}");
    }

    // A JPEG cut inside its headers is refused; one cut inside its scan decodes what is there
    // (the rest grey), as browsers show it.
    let jpeg = jpeg(&upright);
    let scan = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xDA])
        .expect("start of scan");
    for cut in [3, 20, scan / 2, scan + 4] {
        let error = refused(
            &format!("JPEG cut at {cut} of {}", jpeg.len()),
            &jpeg[..cut],
        );
        assert!(matches!(error, DecodeError::Corrupt(_)), "{error:?}");
    }
    for cut in [scan + 40, jpeg.len() - 2] {
        let partial = decode(&jpeg[..cut]).expect("JPEG cut inside the scan");
        assert_eq!(partial.dimensions(), (96, 64), "JPEG cut at {cut}");
    }
    assert_upright_quadrants(
        "JPEG without EOI",
        &decode(&jpeg[..jpeg.len() - 2]).expect("decode"),
    );
}

#[test]
fn an_arithmetic_coded_jpeg_is_refused() {
    // The frame header of an arithmetic-coded JPEG (SOF9), which zune-jpeg does not read.
    let mut jpeg = jpeg(&quadrants(16, 16));
    let sof = jpeg
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    jpeg[sof + 1] = 0xC9;
    let error = refused("arithmetic-coded JPEG", &jpeg);
    assert!(matches!(error, DecodeError::Corrupt(_)), "{error:?}");
}

#[test]
fn huge_images_and_decompression_bombs_are_refused_before_decoding() {
    // 1.2 MB that inflates to 1.2 GB of pixel rows: refused on its header's 400 megapixels.
    let bomb = zero_png(20_000, 20_000, 8, 2);
    println!("20000x20000 PNG bomb: {} bytes", bomb.len());
    assert!(bomb.len() < 1_300_000, "{}", bomb.len());
    assert_eq!(
        refused("20000x20000 PNG bomb", &bomb),
        DecodeError::TooLarge {
            width: 20_000,
            height: 20_000,
            budget: PIXEL_BUDGET / 1_000_000
        }
    );

    // 81 megapixels fit the pixel budget, but as 16-bit RGBA they would need 618 MB.
    let deep = zero_png(9_000, 9_000, 16, 6);
    println!("9000x9000 16-bit RGBA PNG bomb: {} bytes", deep.len());
    assert_eq!(
        refused("9000x9000 16-bit RGBA PNG bomb", &deep),
        DecodeError::TooMuchMemory {
            needed_mb: Some(618),
            budget_mb: ALLOC_BUDGET >> 20
        }
    );

    assert_eq!(
        refused("JPEG claiming 65000x65000", &jpeg_claiming(65_000, 65_000)),
        DecodeError::TooLarge {
            width: 65_000,
            height: 65_000,
            budget: PIXEL_BUDGET / 1_000_000
        }
    );
    assert_eq!(
        refused("GIF claiming 65535x65535", &gif_with_screen(65_535, 65_535)),
        DecodeError::TooLarge {
            width: 65_535,
            height: 65_535,
            budget: PIXEL_BUDGET / 1_000_000
        }
    );
    assert_eq!(
        refused("GIF with a 0x0 screen", &gif_with_screen(0, 0)),
        DecodeError::NoPixels
    );
}

#[test]
fn the_bomb_maker_writes_genuine_png_streams() {
    // The same generator, small enough to decode: every row arrives, all zero.
    let black = decode(&zero_png(500, 300, 8, 2)).expect("zero RGB PNG");
    assert_eq!(black.dimensions(), (500, 300));
    assert!(black.pixels().all(|p| p.0 == [0, 0, 0]));
    // And the allocation counter sees a decoded image's pixels (6 MB here).
    let wide = zero_png(2000, 1000, 8, 2);
    let (decoded, peak) = peak_bytes(|| decode(&wide));
    assert_eq!(decoded.expect("2000x1000").dimensions(), (2000, 1000));
    assert!(peak >= 6_000_000, "{peak}");
    // Transparent black over white is white.
    let clear = decode(&zero_png(300, 200, 16, 6)).expect("zero 16-bit RGBA PNG");
    assert_eq!(clear.dimensions(), (300, 200));
    assert!(clear.pixels().all(|p| p.0 == [255, 255, 255]));
}

#[test]
fn cmyk_jpeg_keeps_its_colours() {
    // Pillow's CMYK (0, 255, 255, 0) on the left, (255, 255, 0, 0) on the right, with the
    // Adobe APP14 marker that says its values are stored inverted.
    let rgb = decode(&fixture("bad-input/cmyk-red-blue.jpg")).expect("CMYK JPEG");
    assert_eq!(rgb.dimensions(), (64, 32));
    let left = rgb.get_pixel(8, 16).0;
    let right = rgb.get_pixel(56, 16).0;
    assert!(
        left[0] > 200 && left[1] < 60 && left[2] < 60,
        "left should be red: {left:?}"
    );
    assert!(
        right[0] < 60 && right[1] < 60 && right[2] > 200,
        "right should be blue: {right:?}"
    );
}

#[test]
fn deep_grey_and_transparent_images_come_out_right() {
    let rgb16 = ImageBuffer::<Rgb<u16>, _>::from_pixel(6, 4, Rgb([65535u16, 32896, 0]));
    assert!(
        decode(&png(rgb16))
            .expect("16-bit RGB")
            .pixels()
            .all(|p| p.0 == [255, 128, 0])
    );
    let l16 = ImageBuffer::<Luma<u16>, _>::from_pixel(6, 4, Luma([257u16 * 40]));
    assert!(
        decode(&png(l16))
            .expect("16-bit grey")
            .pixels()
            .all(|p| p.0 == [40, 40, 40])
    );
    let la16 = ImageBuffer::<LumaA<u16>, _>::from_pixel(6, 4, LumaA([0u16, 0]));
    assert!(
        decode(&png(la16))
            .expect("16-bit grey + alpha")
            .pixels()
            .all(|p| p.0 == [255, 255, 255])
    );
    let rgba16 = ImageBuffer::<Rgba<u16>, _>::from_pixel(6, 4, Rgba([0u16, 65535, 0, 65535]));
    assert!(
        decode(&png(rgba16))
            .expect("16-bit RGBA")
            .pixels()
            .all(|p| p.0 == [0, 255, 0])
    );

    let grey = GrayImage::from_fn(40, 30, |x, _| Luma([(x * 6) as u8]));
    let from_png = decode(&png(grey.clone())).expect("grey PNG");
    assert_eq!(from_png.get_pixel(10, 10).0, [60, 60, 60]);
    let from_jpeg =
        decode(&encode(&DynamicImage::ImageLuma8(grey), ImageFormat::Jpeg)).expect("grey JPEG");
    let px = from_jpeg.get_pixel(10, 10).0;
    assert!(
        px[0] == px[1] && px[1] == px[2] && px[0].abs_diff(60) < 6,
        "{px:?}"
    );
    let grey_alpha = GrayAlphaImage::from_fn(4, 2, |x, _| LumaA([0, if x < 2 { 0 } else { 255 }]));
    let flat = decode(&png(grey_alpha)).expect("grey + alpha");
    assert_eq!(flat.get_pixel(0, 0).0, [255, 255, 255]);
    assert_eq!(flat.get_pixel(3, 0).0, [0, 0, 0]);

    let see_through = RgbaImage::from_fn(8, 8, |x, _| {
        Rgba(if x < 4 {
            [200, 0, 0, 0]
        } else {
            [200, 0, 0, 255]
        })
    });
    for format in [ImageFormat::Png, ImageFormat::WebP] {
        let flat = decode(&encode(
            &DynamicImage::ImageRgba8(see_through.clone()),
            format,
        ))
        .expect("alpha");
        assert_eq!(flat.get_pixel(1, 1).0, [255, 255, 255], "{format:?}");
        assert_eq!(flat.get_pixel(6, 1).0, [200, 0, 0], "{format:?}");
    }
}

#[test]
fn an_animated_gif_gives_its_first_frame() {
    let red = RgbaImage::from_pixel(32, 24, Rgba([255, 0, 0, 255]));
    let blue = RgbaImage::from_pixel(32, 24, Rgba([0, 0, 255, 255]));
    let gif = animated_gif(&[red, blue]);
    let first = decode(&gif).expect("animated GIF");
    assert_eq!(first.dimensions(), (32, 24));
    assert!(
        first.pixels().all(|p| p.0 == [255, 0, 0]),
        "{:?}",
        first.get_pixel(0, 0)
    );
}

#[test]
fn lossless_webp_and_bmp_decode_to_their_pixels() {
    let pattern = RgbImage::from_fn(37, 23, |x, y| {
        Rgb([(x * 7) as u8, (y * 11) as u8, (x ^ y) as u8])
    });
    for format in [ImageFormat::WebP, ImageFormat::Bmp] {
        let bytes = encode(&DynamicImage::ImageRgb8(pattern.clone()), format);
        assert_eq!(decode(&bytes).expect("decode"), pattern, "{format:?}");
    }
}

#[test]
fn every_exif_orientation_comes_out_upright() {
    let upright = quadrants(96, 64);
    for o in 1..=8 {
        let stored = stored_for(&upright, o);
        let bytes = with_exif_orientation(&jpeg(&stored), o);
        let image = decode(&bytes).unwrap_or_else(|e| panic!("orientation {o}: {e}"));
        assert_eq!(image.dimensions(), (96, 64), "orientation {o}");
        assert_upright_quadrants(&format!("orientation {o}"), &image);
        // The model sees the upright photo too.
        let seen = preprocess(&bytes, glimpse::ml::model::Backbone::Lite0).expect("preprocess");
        assert_eq!((seen.width, seen.height), (96, 64));
    }
    // An orientation outside 1..=8 is ignored: the photo stays as stored.
    let odd = decode(&with_exif_orientation(&jpeg(&upright), 9)).expect("orientation 9");
    assert_upright_quadrants("orientation 9", &odd);
}

#[test]
fn one_pixel_photos_decode_in_every_format() {
    let one = RgbImage::from_pixel(1, 1, Rgb([10, 200, 30]));
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::WebP,
        ImageFormat::Bmp,
    ] {
        let bytes = encode(&DynamicImage::ImageRgb8(one.clone()), format);
        let image = decode(&bytes).unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(image.dimensions(), (1, 1), "{format:?}");
        let px = image.get_pixel(0, 0).0;
        assert!(
            px.iter()
                .zip([10u8, 200, 30])
                .all(|(a, b)| a.abs_diff(b) < 12),
            "{format:?}: {px:?}"
        );
        let seen = preprocess(&bytes, glimpse::ml::model::Backbone::Lite0).expect("preprocess");
        assert_eq!(seen.pixels.len(), 3 * 224 * 224);
        assert!(seen.pixels.iter().all(|v| v.is_finite()));
    }
    // A one-pixel-high panorama: the crop is its single row.
    let strip = preprocess(
        &png(RgbImage::from_pixel(3000, 1, Rgb([1, 2, 3]))),
        glimpse::ml::model::Backbone::Lite0,
    )
    .expect("strip");
    assert_eq!((strip.width, strip.height, strip.crop.side), (3000, 1, 1));
}

#[test]
fn the_same_photo_twice_gives_the_same_result() {
    let bytes = fixture("photos/cat.jpg");
    let (a, b) = (
        preprocess(&bytes, glimpse::ml::model::Backbone::Lite0).expect("first"),
        preprocess(&bytes, glimpse::ml::model::Backbone::Lite0).expect("second"),
    );
    assert_eq!(a.pixels, b.pixels);
    assert_eq!((a.width, a.height, a.crop), (b.width, b.height, b.crop));
}

#[test]
fn odd_file_names_survive_the_export_file() {
    let names = [
        "chat 🐱 d'été.jpg".to_string(),
        "../../../etc/passwd".into(),
        "C:\\Users\\me\\Desktop\\IMG_0001.JPG".into(),
        "line\nbreak\tand tab.png".into(),
        "nul\0inside.jpg".into(),
        "\u{202E}gpj.exe".into(), // right-to-left override
        "<script>alert(1)</script>.webp".into(),
        String::new(),
        ".jpg".into(),
        format!("{}.jpeg", "long".repeat(100)),
    ];
    let photo = jpeg(&quadrants(32, 32));
    let project = Project {
        backbone: glimpse::formats::backbone::Backbone::Lite0,
        classes: vec!["one".into(), "two".into()],
        photos: names
            .iter()
            .enumerate()
            .map(|(i, name)| ProjectExample {
                class: i % 2,
                name: name.clone(),
                jpeg: photo.clone(),
                embeddings: vec![0.5; project_file::VIEWS * 1280],
            })
            .collect(),
        model: None,
        settings: TrainSettings::default(),
    };
    let file = project_file::write(&project, "2026-11-30T12:00:00Z", true);
    let back = project_file::read(&file).expect("read back");
    let got: Vec<&str> = back.photos.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(got, names.iter().map(String::as_str).collect::<Vec<_>>());
    // Inside the zip, every photo has a tame name: no path, no odd character.
    let archive = zip::ZipArchive::new(Cursor::new(&file)).expect("zip");
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.expect("entry name").into_owned())
        .collect();
    for name in names.iter().filter(|n| n.starts_with("photos/")) {
        let stem = name
            .strip_prefix("photos/")
            .and_then(|n| n.strip_suffix(".jpg"))
            .expect("photos/*.jpg");
        assert!(
            stem.len() <= 46
                && stem
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "{name:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The whole corpus through the engine

enum Expected {
    /// The top-1 ImageNet class.
    Class(&'static str),
    /// Some answer (a photo with nothing recognisable in it).
    AnyClass,
    Refused(fn(&DecodeError) -> bool),
}

/// The flamingo photo scaled so that its shorter side is 320, as the CMYK fixture was.
fn small_flamingo() -> RgbImage {
    let photo = decode(&fixture("photos/flamingo.jpg")).expect("flamingo");
    let (w, h) = photo.dimensions();
    let scale = 320.0 / f64::from(w.min(h));
    DynamicImage::ImageRgb8(photo)
        .resize_exact(
            (f64::from(w) * scale).round() as u32,
            (f64::from(h) * scale).round() as u32,
            image::imageops::FilterType::Triangle,
        )
        .into_rgb8()
}

fn corpus() -> Vec<(String, Vec<u8>, Expected)> {
    use Expected::*;
    let flamingo = small_flamingo();
    let cat = DynamicImage::ImageRgb8(decode(&fixture("photos/cat.jpg")).expect("cat"))
        .resize_exact(
            flamingo.width(),
            flamingo.height(),
            image::imageops::FilterType::Triangle,
        )
        .into_rgba8();
    let flamingo_png = png(flamingo.clone());
    let mut out: Vec<(String, Vec<u8>, Expected)> = vec![
        ("cat.jpg".into(), fixture("photos/cat.jpg"), Class("lynx")),
        (
            "text".into(),
            b"just some words".to_vec(),
            Refused(|e| *e == DecodeError::UnknownFormat),
        ),
        (
            "flamingo.jpg".into(),
            fixture("photos/flamingo.jpg"),
            Class("flamingo"),
        ),
        (
            "zero bytes".into(),
            Vec::new(),
            Refused(|e| *e == DecodeError::Empty),
        ),
        (
            "CMYK flamingo".into(),
            fixture("bad-input/flamingo-cmyk.jpg"),
            Class("flamingo"),
        ),
        (
            "PDF".into(),
            PDF.to_vec(),
            Refused(|e| *e == DecodeError::UnknownFormat),
        ),
        (
            "WebP flamingo".into(),
            encode(
                &DynamicImage::ImageRgb8(flamingo.clone()),
                ImageFormat::WebP,
            ),
            Class("flamingo"),
        ),
        (
            "truncated PNG".into(),
            flamingo_png[..flamingo_png.len() / 3].to_vec(),
            Refused(|e| matches!(e, DecodeError::Corrupt(_))),
        ),
        (
            "animated GIF: flamingo, then cat".into(),
            animated_gif(&[DynamicImage::ImageRgb8(flamingo.clone()).into_rgba8(), cat]),
            Class("flamingo"),
        ),
        (
            "20000x20000 PNG bomb".into(),
            zero_png(20_000, 20_000, 8, 2),
            Refused(|e| matches!(e, DecodeError::TooLarge { width: 20_000, .. })),
        ),
        (
            "16-bit flamingo".into(),
            png(DynamicImage::ImageRgb8(flamingo.clone()).into_rgb16()),
            Class("flamingo"),
        ),
        (
            "16-bit RGBA bomb".into(),
            zero_png(9_000, 9_000, 16, 6),
            Refused(|e| matches!(e, DecodeError::TooMuchMemory { .. })),
        ),
        (
            "flamingo with alpha".into(),
            png(DynamicImage::ImageRgb8(flamingo.clone()).into_rgba8()),
            Class("flamingo"),
        ),
        (
            "JPEG claiming 65000x65000".into(),
            jpeg_claiming(65_000, 65_000),
            Refused(|e| matches!(e, DecodeError::TooLarge { width: 65_000, .. })),
        ),
        (
            "one pixel".into(),
            png(RgbImage::from_pixel(1, 1, Rgb([90, 120, 60]))),
            AnyClass,
        ),
        (
            "grey coyote".into(),
            png(
                DynamicImage::ImageRgb8(decode(&fixture("photos/coyote.jpg")).expect("coyote"))
                    .into_luma8(),
            ),
            Class("coyote"),
        ),
        (
            "grey bridge with alpha".into(),
            png(
                DynamicImage::ImageRgb8(decode(&fixture("photos/bridge.jpg")).expect("bridge"))
                    .into_luma_alpha8(),
            ),
            Class("steel arch bridge"),
        ),
        (
            "cat.jpg again".into(),
            fixture("photos/cat.jpg"),
            Class("lynx"),
        ),
    ];
    // Photographed sideways and upside down, with the tag that turns them upright.
    for o in [3, 6, 8] {
        let turned = with_exif_orientation(&jpeg(&stored_for(&flamingo, o)), o);
        // Cut inside its Huffman tables, before any pixel.
        out.push((
            format!("flamingo for orientation {o}, cut short at 300 bytes"),
            turned[..300].to_vec(),
            Refused(|e| matches!(e, DecodeError::Corrupt(_))),
        ));
        out.push((
            format!("flamingo stored for EXIF orientation {o}"),
            turned,
            Class("flamingo"),
        ));
    }
    out
}

#[test]
fn the_whole_corpus_through_the_engine_one_file_at_a_time() {
    let weights = std::fs::read(WEIGHTS)
        .unwrap_or_else(|e| panic!("{WEIGHTS} is missing ({e}): run scripts/weights.sh"));
    let mut engine = Engine::new(Device::flex(), &weights).expect("engine");
    let corpus = corpus();
    let mut first_answer: Option<Vec<(String, f32)>> = None;
    for (id, (what, bytes, expected)) in (0u32..).zip(&corpus) {
        let (result, peak) = peak_bytes(|| block_on(engine.classify(id, bytes)));
        match (expected, result) {
            (Expected::Class(label), Ok(c)) => {
                let top = &c.predictions[0];
                println!("{what}: {} {:.3}", top.label, top.confidence);
                assert_eq!(&top.label, label, "{what}");
                let answer: Vec<(String, f32)> = c
                    .predictions
                    .iter()
                    .map(|p| (p.label.clone(), p.confidence))
                    .collect();
                // The same photo twice (under two ids) gets the same answer.
                if what.starts_with("cat.jpg") {
                    match &first_answer {
                        None => first_answer = Some(answer),
                        Some(first) => assert_eq!(first, &answer, "{what}"),
                    }
                }
            }
            (Expected::AnyClass, Ok(c)) => {
                println!("{what}: {}", c.predictions[0].label);
                assert_eq!(c.predictions.len(), 5, "{what}");
            }
            (Expected::Refused(check), Err(PhotoError::Decode(e))) => {
                assert_clear(what, &e);
                assert!(check(&e), "{what}: {e:?}");
                assert!(peak < REFUSAL_BYTES, "{what}: {peak} bytes at once");
            }
            (_, other) => panic!("{what}: unexpected {other:?}"),
        }
    }

    // Training photos take the same path: each good one is embedded, each bad one refused.
    let mut kept = 0;
    for (id, (what, bytes, expected)) in (1000u32..).zip(corpus.iter().step_by(3)) {
        match (expected, block_on(engine.add_example(id, bytes, true))) {
            (Expected::Class(_) | Expected::AnyClass, Ok(example)) => {
                assert_eq!(example.embeddings.len(), 4 * 1280, "{what}");
                assert!(example.embeddings.iter().all(|v| v.is_finite()), "{what}");
                kept += 1;
            }
            (Expected::Refused(check), Err(PhotoError::Decode(e))) => {
                assert!(check(&e), "{what}: {e:?}")
            }
            (_, other) => panic!("{what}: unexpected {:?}", other.err()),
        }
    }
    assert!(kept >= 3, "{kept}");
}
