//! The CPU path's 1x1 convolution: bias, matrix product and the optional ReLU6 done tile by tile
//! over the pixels, so each tile of the output is written once and finished while in cache.
//!
//! The profile of the CPU forward (`scripts/bench.sh`) put the 1x1 layers at 60% of the time,
//! and the wide ones at a fraction of the speed of the narrow ones: Burn's general kernel zeroes
//! the whole output, writes the product, then adds the bias and clamps in two more passes over
//! it. On expand layers (e.g. 96 x 112 x 112, 4.8 MB per photo) that is five trips through memory
//! where one does. The product itself is `gemm`'s (the same crate Burn's CPU backend uses).

/// The geometry of one 1x1 layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pointwise {
    pub channels_in: usize,
    pub channels_out: usize,
    /// Height x width.
    pub pixels: usize,
}

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
