//! The CPU path's depthwise convolution: one kxk filter per channel, TF-"SAME" padding, bias and
//! the optional ReLU6 in one pass over NCHW `f32` data.
//!
//! The profile of the CPU forward (`scripts/bench.sh`) showed the depthwise layers at a third of
//! the time while holding a twentieth of the arithmetic: the general kernel pads stride-2 inputs
//! in a separate copy, accumulates into memory once per tap, handles stride 2 one lane at a time
//! and leaves bias and clamp to two more passes. Here each channel is padded once into a scratch
//! plane (split into even and odd columns for stride 2, so every tap reads contiguous values),
//! and outputs are built eight at a time in registers over all k² taps before a single store.
//! The filter size and stride are compile-time constants, so the taps unroll and each padded row
//! is bounds-checked once per group of outputs rather than once per tap; two output rows are
//! built together, so the padded rows they share are loaded once; only the padding of the
//! scratch plane is zeroed, not all of it.

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

/// Values of a padded row one group of outputs reads in one phase: `LANES` plus the reach of a
/// 5x5 filter (4 columns at stride 1, 2 per phase at stride 2). A fixed size lets the compiler
/// check the bounds once per row instead of once per tap.
const WINDOW: usize = 12;

/// TF "SAME": the output is `ceil(size / stride)`; the padding goes after when odd.
pub(super) fn same(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(size);
    (out, total / 2)
}

impl Depthwise {
    /// The shapes this kernel handles: EfficientNet-Lite's 3x3 and 5x5 filters at stride 1 or
    /// 2 (anything else takes Burn's convolution).
    pub fn supports(kernel: usize, stride: usize) -> bool {
        matches!(kernel, 3 | 5) && matches!(stride, 1 | 2)
    }

    pub fn output_size(&self) -> (usize, usize) {
        (
            same(self.height, self.kernel, self.stride).0,
            same(self.width, self.kernel, self.stride).0,
        )
    }

    /// `input` is `[batch, channels, height, width]`, `weights` `[channels, 1, kernel, kernel]`,
    /// `bias` `[channels]`; answers `[batch, channels, out_height, out_width]`.
    pub fn forward(&self, input: &[f32], weights: &[f32], bias: &[f32], relu6: bool) -> Vec<f32> {
        match (self.kernel, self.stride) {
            (3, 1) => self.run::<3, 1>(input, weights, bias, relu6),
            (3, 2) => self.run::<3, 2>(input, weights, bias, relu6),
            (5, 1) => self.run::<5, 1>(input, weights, bias, relu6),
            (5, 2) => self.run::<5, 2>(input, weights, bias, relu6),
            _ => panic!("depthwise {self:?} is not supported: check Depthwise::supports"),
        }
    }

    /// The kernel for one filter size `K` and stride `S`, known at compile time so that the taps
    /// unroll into straight-line vector code.
    fn run<const K: usize, const S: usize>(
        &self,
        input: &[f32],
        weights: &[f32],
        bias: &[f32],
        relu6: bool,
    ) -> Vec<f32> {
        let Self {
            channels,
            height,
            width,
            ..
        } = *self;
        let plane = height * width;
        let (out_h, pad_top) = same(height, K, S);
        let (out_w, pad_left) = same(width, K, S);
        // Columns per phase of the padded row: every window of every (rounded-up) output group.
        let span = out_w.div_ceil(LANES) * LANES + (WINDOW - LANES);
        let rows = (out_h - 1) * S + K;
        let mut scratch = vec![0.0f32; rows * S * span];
        let mut out = vec![0.0f32; input.len() / plane * out_h * out_w];
        let padding = Padding {
            width,
            height,
            top: pad_top,
            left: pad_left,
            stride: S,
            span,
        };
        for (image, out_image) in input
            .chunks_exact(channels * plane)
            .zip(out.chunks_exact_mut(channels * out_h * out_w))
        {
            for c in 0..channels {
                padding.copy(&image[c * plane..(c + 1) * plane], &mut scratch);
                let filter = &weights[c * K * K..(c + 1) * K * K];
                let out_plane = &mut out_image[c * out_h * out_w..(c + 1) * out_h * out_w];
                let rows_from = |oh: usize| Rows {
                    rows: &scratch[oh * S * S * span..],
                    filter,
                    span,
                    bias: bias[c],
                    relu6,
                };
                // Two output rows at a time share the padded rows between them.
                let (pairs, last) = out_plane.split_at_mut(out_h / 2 * 2 * out_w);
                for (pair, both) in pairs.chunks_exact_mut(2 * out_w).enumerate() {
                    let (top, bottom) = both.split_at_mut(out_w);
                    rows_from(2 * pair).fill::<K, S, 2>([top, bottom]);
                }
                if !last.is_empty() {
                    rows_from(out_h - 1).fill::<K, S, 1>([last]);
                }
            }
        }
        out
    }
}

/// The inputs of `R` consecutive output rows: the padded rows they read, their channel's filter
/// and bias.
struct Rows<'a> {
    rows: &'a [f32],
    filter: &'a [f32],
    span: usize,
    bias: f32,
    relu6: bool,
}

impl Rows<'_> {
    /// Writes the rows, eight outputs of each at a time; bias and clamp stay in registers.
    #[inline(always)]
    fn fill<const K: usize, const S: usize, const R: usize>(&self, mut out_rows: [&mut [f32]; R]) {
        let (zero, six) = (f32x8::splat(0.0), f32x8::splat(6.0));
        let width = out_rows[0].len();
        for first in (0..width).step_by(LANES) {
            let sums = self.taps_sum::<K, S, R>(first);
            let end = (first + LANES).min(width);
            for (out, mut acc) in out_rows.iter_mut().zip(sums) {
                if self.relu6 {
                    acc = acc.max(zero).min(six);
                }
                out[first..end].copy_from_slice(&acc.to_array()[..end - first]);
            }
        }
    }

    /// Eight outputs from `first` on of each of the `R` rows, in registers over all K² taps:
    /// `bias + sum w * x`. Each padded row is loaded once for every output row that reads it.
    #[inline(always)]
    fn taps_sum<const K: usize, const S: usize, const R: usize>(&self, first: usize) -> [f32x8; R] {
        let filter = &self.filter[..K * K];
        let mut acc = [f32x8::splat(self.bias); R];
        let row_len = S * self.span;
        for r in 0..(R - 1) * S + K {
            let start = r * row_len + first;
            let even = window(self.rows, start);
            // Stride 2: the odd columns are the row's second phase.
            let odd = window(self.rows, start + (S - 1) * self.span);
            for kw in 0..K {
                let (phase, offset) = if S == 1 {
                    (even, kw)
                } else if kw % 2 == 0 {
                    (even, kw / 2)
                } else {
                    (odd, kw / 2)
                };
                let x = lanes(phase, offset);
                for (i, acc) in acc.iter_mut().enumerate() {
                    // Output row i reads padded row r as its filter row r - i * S.
                    if let Some(kh) = r.checked_sub(i * S).filter(|&kh| kh < K) {
                        *acc += f32x8::splat(filter[kh * K + kw]) * x;
                    }
                }
            }
        }
        acc
    }
}

#[inline(always)]
fn window(rows: &[f32], start: usize) -> &[f32; WINDOW] {
    rows[start..start + WINDOW]
        .try_into()
        .expect("the scratch rows hold every window")
}

#[inline(always)]
fn lanes(window: &[f32; WINDOW], offset: usize) -> f32x8 {
    let values: [f32; LANES] = window[offset..offset + LANES]
        .try_into()
        .expect("a window holds eight lanes from every tap");
    f32x8::new(values)
}

/// How one channel is laid out in the scratch plane: row `r` of the padded plane holds its even
/// columns, then (stride 2) its odd columns, `span` values each, zeros where the padding is.
struct Padding {
    width: usize,
    height: usize,
    top: usize,
    left: usize,
    stride: usize,
    span: usize,
}

impl Padding {
    fn copy(&self, plane: &[f32], scratch: &mut [f32]) {
        let row_len = self.stride * self.span;
        let (before, rest) = scratch.split_at_mut((self.top * row_len).min(scratch.len()));
        before.fill(0.0);
        let inside = (self.height * row_len).min(rest.len());
        let (rows, after) = rest.split_at_mut(inside);
        after.fill(0.0);
        for (src, dst) in plane
            .chunks_exact(self.width)
            .zip(rows.chunks_exact_mut(row_len))
        {
            self.copy_row(src, dst);
        }
    }

    fn copy_row(&self, src: &[f32], dst: &mut [f32]) {
        dst.fill(0.0);
        let left = self.left;
        if self.stride == 1 {
            let n = src.len().min(self.span.saturating_sub(left));
            dst[left..left + n].copy_from_slice(&src[..n]);
            return;
        }
        // Column x + left lands in phase (x + left) % 2 at (x + left) / 2. A pair of columns goes
        // to both phases at one place (left even) or to the odd phase and the next even place
        // (left odd): a loop over pairs the compiler turns into vector shuffles.
        let (even, odd) = dst.split_at_mut(self.span);
        let (first, second, second_at) = if left.is_multiple_of(2) {
            (even, odd, left / 2)
        } else {
            (odd, even, left / 2 + 1)
        };
        let mut done = 0;
        for ((pair, f), s) in src
            .chunks_exact(2)
            .zip(&mut first[left / 2..])
            .zip(&mut second[second_at..])
        {
            *f = pair[0];
            *s = pair[1];
            done += 2;
        }
        // What the pairs did not reach: an odd width's last column, or the end of a phase.
        for (x, &v) in src.iter().enumerate().skip(done) {
            let (phase, index) = if x % 2 == 0 {
                (&mut *first, x / 2 + left / 2)
            } else {
                (&mut *second, x / 2 + second_at)
            };
            if let Some(slot) = phase.get_mut(index) {
                *slot = v;
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
