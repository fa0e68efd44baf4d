//! The CPU path's depthwise convolution: one kxk filter per channel, TF-"SAME" padding, bias and
//! the optional ReLU6 in one pass over NCHW `f32` data.
//!
//! The profile of the CPU forward (`scripts/bench.sh`) showed the depthwise layers at a third of
//! the time while holding a twentieth of the arithmetic: the general kernel pads stride-2 inputs
//! in a separate copy, accumulates into memory once per tap, handles stride 2 one lane at a time
//! and leaves bias and clamp to two more passes. Here each channel is padded once into a scratch
//! plane (split into even and odd columns for stride 2, so every tap reads contiguous values),
//! and outputs are built eight at a time in registers over all k² taps before a single store.

use wide::f32x8;

/// The geometry of one depthwise layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Depthwise {
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    /// 1 or 2.
    pub stride: usize,
}

/// Outputs computed together in registers (one `f32x8`: two 128-bit vectors on wasm).
const LANES: usize = 8;

/// TF "SAME": the output is `ceil(size / stride)`; the padding goes after when odd.
pub(super) fn same(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(size);
    (out, total / 2)
}

impl Depthwise {
    pub fn output_size(&self) -> (usize, usize) {
        (
            same(self.height, self.kernel, self.stride).0,
            same(self.width, self.kernel, self.stride).0,
        )
    }

    /// `input` is `[batch, channels, height, width]`, `weights` `[channels, 1, kernel, kernel]`,
    /// `bias` `[channels]`; answers `[batch, channels, out_height, out_width]`.
    pub fn forward(&self, input: &[f32], weights: &[f32], bias: &[f32], relu6: bool) -> Vec<f32> {
        let Self {
            channels,
            height,
            width,
            kernel,
            stride,
        } = *self;
        assert!(
            stride == 1 || stride == 2,
            "depthwise stride must be 1 or 2"
        );
        let plane = height * width;
        let (out_h, pad_top) = same(height, kernel, stride);
        let (out_w, pad_left) = same(width, kernel, stride);
        // Columns per phase of the padded row: enough for every tap of every (rounded-up) output.
        let span = out_w.div_ceil(LANES) * LANES + kernel;
        let phases = stride;
        let rows = (out_h - 1) * stride + kernel;
        let mut scratch = vec![0.0f32; rows * phases * span];
        let mut out = vec![0.0f32; input.len() / plane * out_h * out_w];
        // Where tap kw of output 0 reads in a padded row: column kw lives in phase kw % stride.
        let taps: Vec<usize> = (0..kernel)
            .map(|kw| (kw % stride) * span + kw / stride)
            .collect();
        for (image, out_image) in input
            .chunks_exact(channels * plane)
            .zip(out.chunks_exact_mut(channels * out_h * out_w))
        {
            for c in 0..channels {
                pad_plane(
                    &image[c * plane..(c + 1) * plane],
                    width,
                    pad_top,
                    pad_left,
                    stride,
                    span,
                    &mut scratch,
                );
                let filter = &weights[c * kernel * kernel..(c + 1) * kernel * kernel];
                let out_plane = &mut out_image[c * out_h * out_w..(c + 1) * out_h * out_w];
                for (oh, out_row) in out_plane.chunks_exact_mut(out_w).enumerate() {
                    let rows = &scratch[oh * stride * phases * span..];
                    let row = Row {
                        rows,
                        filter,
                        taps: &taps,
                        row_len: phases * span,
                        bias: bias[c],
                        relu6,
                    };
                    row.fill(out_row);
                }
            }
        }
        out
    }
}

/// One output row's inputs: the padded rows it reads, its channel's filter and bias.
struct Row<'a> {
    rows: &'a [f32],
    filter: &'a [f32],
    taps: &'a [usize],
    row_len: usize,
    bias: f32,
    relu6: bool,
}

impl Row<'_> {
    /// Writes the row, eight outputs at a time.
    #[inline(always)]
    fn fill(&self, out_row: &mut [f32]) {
        for first in (0..out_row.len()).step_by(LANES) {
            let acc = self.taps_sum(first).to_array();
            let end = (first + LANES).min(out_row.len());
            for (o, a) in out_row[first..end].iter_mut().zip(acc) {
                *o = if self.relu6 { a.clamp(0.0, 6.0) } else { a };
            }
        }
    }

    /// Eight outputs from `first` on, in registers over all k² taps: `bias + sum w * x`.
    #[inline(always)]
    fn taps_sum(&self, first: usize) -> f32x8 {
        let kernel = self.taps.len();
        let mut acc = f32x8::splat(self.bias);
        for kh in 0..kernel {
            let row = &self.rows[kh * self.row_len..];
            for (kw, &tap) in self.taps.iter().enumerate() {
                let x: [f32; LANES] = row[tap + first..tap + first + LANES]
                    .try_into()
                    .expect("eight values");
                acc += f32x8::splat(self.filter[kh * kernel + kw]) * f32x8::new(x);
            }
        }
        acc
    }
}

/// Copies one channel into `scratch` with zero padding: row `r` of the padded plane holds its
/// even columns, then (stride 2) its odd columns, `span` values each.
fn pad_plane(
    plane: &[f32],
    width: usize,
    pad_top: usize,
    pad_left: usize,
    stride: usize,
    span: usize,
    scratch: &mut [f32],
) {
    scratch.fill(0.0);
    let row_len = stride * span;
    for (y, src) in plane.chunks_exact(width).enumerate() {
        let r = y + pad_top;
        if (r + 1) * row_len > scratch.len() {
            break;
        }
        let dst = &mut scratch[r * row_len..(r + 1) * row_len];
        if stride == 1 {
            let fits = width.min(span - pad_left);
            dst[pad_left..pad_left + fits].copy_from_slice(&src[..fits]);
        } else {
            for (x, &v) in src.iter().enumerate() {
                let column = x + pad_left;
                let index = column / 2;
                if index < span {
                    dst[(column % 2) * span + index] = v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::split::SplitMix64;

    /// The definition, one output at a time.
    fn reference(
        d: &Depthwise,
        input: &[f32],
        weights: &[f32],
        bias: &[f32],
        relu6: bool,
    ) -> Vec<f32> {
        let (out_h, pad_top) = same(d.height, d.kernel, d.stride);
        let (out_w, pad_left) = same(d.width, d.kernel, d.stride);
        let batch = input.len() / (d.channels * d.height * d.width);
        let mut out = Vec::new();
        for b in 0..batch {
            for c in 0..d.channels {
                for oh in 0..out_h {
                    for ow in 0..out_w {
                        let mut sum = bias[c];
                        for kh in 0..d.kernel {
                            for kw in 0..d.kernel {
                                let y = (oh * d.stride + kh) as isize - pad_top as isize;
                                let x = (ow * d.stride + kw) as isize - pad_left as isize;
                                if y >= 0
                                    && x >= 0
                                    && (y as usize) < d.height
                                    && (x as usize) < d.width
                                {
                                    let i = ((b * d.channels + c) * d.height + y as usize)
                                        * d.width
                                        + x as usize;
                                    sum += weights[(c * d.kernel + kh) * d.kernel + kw] * input[i];
                                }
                            }
                        }
                        out.push(if relu6 { sum.clamp(0.0, 6.0) } else { sum });
                    }
                }
            }
        }
        out
    }

    /// `n` values in [-2, 2), reproducible from `seed`.
    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..n).map(|_| (rng.unit() * 4.0 - 2.0) as f32).collect()
    }

    #[test]
    fn matches_the_definition_for_every_shape_of_the_network() {
        // EfficientNet-Lite0's depthwise layers, smaller where the size does not change the
        // code path, plus odd sizes that exercise the padding and the last partial chunk.
        for (channels, size, kernel, stride) in [
            (3, 112, 3, 1),
            (4, 112, 3, 2),
            (5, 56, 5, 2),
            (3, 28, 3, 2),
            (6, 14, 5, 1),
            (7, 14, 5, 2),
            (8, 7, 3, 1),
            (2, 9, 5, 2),
            (2, 1, 3, 1),
            (3, 5, 5, 1),
        ] {
            for batch in [1, 2] {
                let d = Depthwise {
                    channels,
                    height: size,
                    width: size + 3,
                    kernel,
                    stride,
                };
                let input = values(batch * channels * size * (size + 3), 7);
                let weights = values(channels * kernel * kernel, 11);
                let bias = values(channels, 13);
                for relu6 in [false, true] {
                    let got = d.forward(&input, &weights, &bias, relu6);
                    let want = reference(&d, &input, &weights, &bias, relu6);
                    assert_eq!(got.len(), want.len(), "{d:?}");
                    let worst = got
                        .iter()
                        .zip(&want)
                        .map(|(a, b)| (a - b).abs())
                        .fold(0.0f32, f32::max);
                    assert!(worst < 1e-4, "{d:?} batch {batch}: off by {worst}");
                }
            }
        }
    }
}
