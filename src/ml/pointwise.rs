//! The CPU path's 1x1 convolution: bias, matrix product and the optional ReLU6 done tile by tile
//! over the pixels, so each tile of the output is written once and finished while in cache.
//!
//! The profile of the CPU forward (`scripts/bench.sh`) put the 1x1 layers at 60% of the time,
//! and the wide ones at a fraction of the speed of the narrow ones: Burn's general kernel zeroes
//! the whole output, writes the product, then adds the bias and clamps in two more passes over
//! it. On expand layers (e.g. 96 x 112 x 112, 4.8 MB per photo) that is five trips through memory
//! where one does. The product itself is `gemm`'s (the same crate Burn's CPU backend uses),
//! except for the narrow inputs of the first blocks (16 to 32 channels): there `gemm` spends its
//! time packing (7 GMAC/s against 12 on the wide layers), and a plain register tile does better.

use wide::f32x8;

/// The geometry of one 1x1 layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pointwise {
    pub channels_in: usize,
    pub channels_out: usize,
    /// Height x width.
    pub pixels: usize,
}

/// Up to this many input channels the register-tile kernel runs instead of `gemm`.
const NARROW: usize = 32;
/// Output channels and pixels of one register tile: 4 x 8 accumulators (8 of the 16 vector
/// registers wasm engines map to on x86), the inputs and a weight in the rest.
const TILE_CHANNELS: usize = 4;
const LANES: usize = 8;
/// Pixels per pass over the output channels: the inputs of a block stay in L1 (32 x 256 x 4 B).
const PIXEL_BLOCK: usize = 256;

/// About this many output values per tile (256 kB), so a tile stays in cache between the
/// product and the clamp.
const TILE_VALUES: usize = 64 * 1024;

impl Pointwise {
    /// `input` is `[batch, channels_in, pixels]`, `weights` `[channels_out, channels_in]`,
    /// `bias` `[channels_out]`; answers `[batch, channels_out, pixels]`.
    pub fn forward(&self, input: &[f32], weights: &[f32], bias: &[f32], relu6: bool) -> Vec<f32> {
        let Self {
            channels_in,
            channels_out,
            pixels,
        } = *self;
        assert_eq!(weights.len(), channels_out * channels_in, "weights shape");
        assert_eq!(bias.len(), channels_out, "bias shape");
        assert_eq!(input.len() % (channels_in * pixels), 0, "input shape");
        let batch = input.len() / (channels_in * pixels);
        let mut out = vec![0.0f32; batch * channels_out * pixels];
        if channels_in <= NARROW {
            for (image, out_image) in input
                .chunks_exact(channels_in * pixels)
                .zip(out.chunks_exact_mut(channels_out * pixels))
            {
                let operands = Operands {
                    image,
                    weights,
                    bias,
                    relu6,
                };
                self.narrow(&operands, out_image);
            }
            return out;
        }
        let tile = (TILE_VALUES / channels_out)
            .next_multiple_of(16)
            .min(pixels);
        for (image, out_image) in input
            .chunks_exact(channels_in * pixels)
            .zip(out.chunks_exact_mut(channels_out * pixels))
        {
            for first in (0..pixels).step_by(tile) {
                let width = tile.min(pixels - first);
                for (row, &b) in out_image.chunks_exact_mut(pixels).zip(bias) {
                    row[first..first + width].fill(b);
                }
                // SAFETY: gemm reads `channels_out x channels_in` weights (row stride
                // `channels_in`, checked above), `channels_in x width` inputs and writes
                // `channels_out x width` outputs starting at column `first` of rows `pixels`
                // apart; `first + width <= pixels` and the slices hold exactly
                // `channels * pixels` values, so every access is inside them. The output does
                // not alias the inputs (it is a fresh buffer).
                unsafe {
                    gemm::gemm(
                        channels_out,
                        width,
                        channels_in,
                        out_image.as_mut_ptr().add(first),
                        1,
                        pixels as isize,
                        true,
                        weights.as_ptr(),
                        1,
                        channels_in as isize,
                        image.as_ptr().add(first),
                        1,
                        pixels as isize,
                        1.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
                if relu6 {
                    for row in out_image.chunks_exact_mut(pixels) {
                        for v in &mut row[first..first + width] {
                            *v = v.clamp(0.0, 6.0);
                        }
                    }
                }
            }
        }
        out
    }
}

/// One image's inputs to a 1x1 layer.
struct Operands<'a> {
    image: &'a [f32],
    weights: &'a [f32],
    bias: &'a [f32],
    relu6: bool,
}

impl Pointwise {
    /// One image through the register-tile kernel: 4 output channels x 8 pixels accumulate in
    /// registers over every input channel, then get their clamp and a single store.
    fn narrow(&self, operands: &Operands<'_>, out: &mut [f32]) {
        let Self {
            channels_in,
            channels_out,
            pixels,
        } = *self;
        let Operands {
            image,
            weights,
            bias,
            relu6,
        } = *operands;
        let (zero, six) = (f32x8::splat(0.0), f32x8::splat(6.0));
        let finish = |acc: f32x8| if relu6 { acc.max(zero).min(six) } else { acc };
        for block in (0..pixels).step_by(PIXEL_BLOCK) {
            let block_end = (block + PIXEL_BLOCK).min(pixels);
            let vector_end = block + (block_end - block) / LANES * LANES;
            for co in (0..channels_out).step_by(TILE_CHANNELS) {
                let rows = TILE_CHANNELS.min(channels_out - co);
                if rows < TILE_CHANNELS {
                    self.scalar(operands, out, co..channels_out, block..block_end);
                    continue;
                }
                let w = &weights[co * channels_in..(co + TILE_CHANNELS) * channels_in];
                for p in (block..vector_end).step_by(LANES) {
                    let mut acc = [0; TILE_CHANNELS].map(|_| f32x8::ZERO);
                    for (j, acc) in acc.iter_mut().enumerate() {
                        *acc = f32x8::splat(bias[co + j]);
                    }
                    for k in 0..channels_in {
                        let x: [f32; LANES] = image[k * pixels + p..k * pixels + p + LANES]
                            .try_into()
                            .expect("eight pixels");
                        let x = f32x8::new(x);
                        for (j, acc) in acc.iter_mut().enumerate() {
                            *acc += f32x8::splat(w[j * channels_in + k]) * x;
                        }
                    }
                    for (j, acc) in acc.into_iter().enumerate() {
                        let at = (co + j) * pixels + p;
                        out[at..at + LANES].copy_from_slice(&finish(acc).to_array());
                    }
                }
                self.scalar(operands, out, co..co + rows, vector_end..block_end);
            }
        }
    }

    /// The definition, for the channels and pixels a register tile does not fill.
    fn scalar(
        &self,
        operands: &Operands<'_>,
        out: &mut [f32],
        channels: std::ops::Range<usize>,
        pixels: std::ops::Range<usize>,
    ) {
        let Operands {
            image,
            weights,
            bias,
            relu6,
        } = *operands;
        let (channels_in, stride) = (self.channels_in, self.pixels);
        for co in channels {
            for p in pixels.clone() {
                let mut sum = bias[co];
                for k in 0..channels_in {
                    sum += weights[co * channels_in + k] * image[k * stride + p];
                }
                out[co * stride + p] = if relu6 { sum.clamp(0.0, 6.0) } else { sum };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::split::SplitMix64;

    /// `n` values in [-2, 2), reproducible from `seed`.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..n).map(|_| (rng.unit() * 4.0 - 2.0) as f32).collect()
    }

    #[test]
    fn matches_the_definition_across_tile_edges() {
        // Wide outputs with many tiles and a partial last one, narrow ones, a single pixel.
        for (channels_in, channels_out, pixels) in [
            (16, 96, 12_544),
            (24, 144, 3136),
            (320, 1280, 49),
            (7, 5, 1),
            (16, 6, 37),
            (32, 16, 300),
            (40, 240, 1000),
        ] {
            for batch in [1, 2] {
                let layer = Pointwise {
                    channels_in,
                    channels_out,
                    pixels,
                };
                let input = values(batch * channels_in * pixels, 3);
                let weights = values(channels_out * channels_in, 5);
                let bias = values(channels_out, 9);
                for relu6 in [false, true] {
                    let got = layer.forward(&input, &weights, &bias, relu6);
                    let mut worst = 0.0f32;
                    for b in 0..batch {
                        for co in 0..channels_out {
                            for p in (0..pixels).step_by(7) {
                                let mut sum = bias[co];
                                for ci in 0..channels_in {
                                    sum += weights[co * channels_in + ci]
                                        * input[(b * channels_in + ci) * pixels + p];
                                }
                                let want = if relu6 { sum.clamp(0.0, 6.0) } else { sum };
                                let at = (b * channels_out + co) * pixels + p;
                                worst = worst.max((got[at] - want).abs());
                            }
                        }
                    }
                    assert!(worst < 1e-3, "{layer:?} batch {batch}: off by {worst}");
                }
            }
        }
    }
}
