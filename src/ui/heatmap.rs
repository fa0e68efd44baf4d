//! Draws a saliency map into a canvas as a colour map whose transparency follows the salience,
//! so the photo shows through where the model did not look.

use wasm_bindgen::{Clamped, JsCast};
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

use crate::protocol::Heatmap;

/// Google's "Turbo" colour map as its published polynomial fit (Mikhailov 2019): perceptually
/// smoother than jet, readable for the common colour-vision deficiencies.
fn turbo(x: f64) -> [u8; 3] {
    let r = 0.135_721_38
        + x * (4.615_392_6
            + x * (-42.660_322_58
                + x * (132.131_082_34 + x * (-152.942_393_96 + x * 59.286_379_43))));
    let g = 0.091_402_61
        + x * (2.194_188_39
            + x * (4.842_966_58 + x * (-14.185_033_33 + x * (4.277_298_57 + x * 2.829_566_04))));
    let b = 0.106_673_3
        + x * (12.641_946_08
            + x * (-60.582_048_36
                + x * (110.362_767_71 + x * (-89.903_109_12 + x * 27.348_249_73))));
    [r, g, b].map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8)
}

/// RGBA pixels of a heatmap: Turbo colours, alpha rising with salience.
pub fn rgba(map: &Heatmap) -> Vec<u8> {
    let lut: Vec<[u8; 4]> = (0..=255u32)
        .map(|v| {
            let x = f64::from(v) / 255.0;
            let [r, g, b] = turbo(x);
            // Low salience fades out; everything above ~60% is fully coloured.
            let alpha = (x / 0.6).min(1.0).powf(0.7) * 235.0;
            [r, g, b, alpha.round() as u8]
        })
        .collect();
    map.values
        .iter()
        .flat_map(|&v| lut[usize::from(v)])
        .collect()
}

/// Paints `map` into `canvas` (resized to the map's side).
pub fn draw(canvas: &HtmlCanvasElement, map: &Heatmap) -> Result<(), String> {
    canvas.set_width(map.side);
    canvas.set_height(map.side);
    let context: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or("no 2D canvas context")?;
    let pixels = rgba(map);
    let image = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&pixels), map.side, map.side)
        .map_err(|_| "bad heatmap size".to_string())?;
    context
        .put_image_data(&image, 0.0, 0.0)
        .map_err(|_| "could not draw the heatmap".to_string())
}
