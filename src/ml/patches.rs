//! The CPU path's full (groups = 1) kxk convolution, i.e. the stem: the input's kxk patches are
//! gathered into columns (TF-"SAME" padding, zeros outside), after which the layer is a 1x1
//! convolution over `channels x k x k` inputs and runs as `pointwise` does, bias and ReLU6 fused.

use super::depthwise::same;
use super::pointwise::Pointwise;

/// The geometry of one full convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patches {
    pub channels_in: usize,
    pub channels_out: usize,
    pub height: usize,
    pub width: usize,
    pub kernel: usize,
    pub stride: usize,
}

impl Patches {
    pub fn output_size(&self) -> (usize, usize) {
        (
            same(self.height, self.kernel, self.stride).0,
            same(self.width, self.kernel, self.stride).0,
        )
    }

    /// `input` is `[batch, channels_in, height, width]`, `weights`
    /// `[channels_out, channels_in, kernel, kernel]`, `bias` `[channels_out]`; answers
    /// `[batch, channels_out, out_height, out_width]`.
    pub fn forward(&self, input: &[f32], weights: &[f32], bias: &[f32], relu6: bool) -> Vec<f32> {
        let plane = self.height * self.width;
        let (out_h, out_w) = self.output_size();
        let depth = self.channels_in * self.kernel * self.kernel;
        let layer = Pointwise {
            channels_in: depth,
            channels_out: self.channels_out,
            pixels: out_h * out_w,
        };
        let mut out = Vec::with_capacity(
            input.len() / (self.channels_in * plane) * self.channels_out * out_h * out_w,
        );
        for image in input.chunks_exact(self.channels_in * plane) {
            out.extend(layer.forward(&self.columns(image), weights, bias, relu6));
        }
        out
    }

    /// `[channels_in x k x k, out_height x out_width]`: row (c, kh, kw) holds, for every output
    /// position, the input value that tap reads.
    fn columns(&self, image: &[f32]) -> Vec<f32> {
        let Self {
            height,
            width,
            kernel,
            stride,
            ..
        } = *self;
        let (out_h, pad_top) = same(height, kernel, stride);
        let (out_w, pad_left) = same(width, kernel, stride);
        let mut columns = vec![0.0f32; self.channels_in * kernel * kernel * out_h * out_w];
        let rows = columns.chunks_exact_mut(out_h * out_w);
        let taps = (0..self.channels_in)
            .flat_map(|c| (0..kernel).flat_map(move |kh| (0..kernel).map(move |kw| (c, kh, kw))));
        for (row, (c, kh, kw)) in rows.zip(taps) {
            let channel = &image[c * height * width..(c + 1) * height * width];
            for (oh, out_row) in row.chunks_exact_mut(out_w).enumerate() {
                let Some(y) = (oh * stride + kh)
                    .checked_sub(pad_top)
                    .filter(|&y| y < height)
                else {
                    continue;
                };
                let line = &channel[y * width..(y + 1) * width];
                for (ow, value) in out_row.iter_mut().enumerate() {
                    if let Some(x) = (ow * stride + kw)
                        .checked_sub(pad_left)
                        .filter(|&x| x < width)
                    {
                        *value = line[x];
                    }
                }
            }
        }
        columns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_definition_with_same_padding() {
        let (channels_in, channels_out, height, width) = (3, 5, 13, 10);
        for (kernel, stride) in [(3, 2), (3, 1), (5, 2)] {
            let layer = Patches {
                channels_in,
                channels_out,
                height,
                width,
                kernel,
                stride,
            };
            let input: Vec<f32> = (0..2 * channels_in * height * width)
                .map(|i| ((i * 37 % 101) as f32) / 50.0 - 1.0)
                .collect();
            let weights: Vec<f32> = (0..channels_out * channels_in * kernel * kernel)
                .map(|i| ((i * 13 % 29) as f32) / 14.0 - 1.0)
                .collect();
            let bias = [0.5, -0.25, 0.0, 1.0, -1.0];
            let got = layer.forward(&input, &weights, &bias, false);
            let (out_h, pad_top) = same(height, kernel, stride);
            let (out_w, pad_left) = same(width, kernel, stride);
            let mut worst = 0.0f32;
            for b in 0..2 {
                for (co, &b0) in bias.iter().enumerate() {
                    for oh in 0..out_h {
                        for ow in 0..out_w {
                            let mut sum = b0;
                            for c in 0..channels_in {
                                for kh in 0..kernel {
                                    for kw in 0..kernel {
                                        let y = (oh * stride + kh) as isize - pad_top as isize;
                                        let x = (ow * stride + kw) as isize - pad_left as isize;
                                        if (0..height as isize).contains(&y)
                                            && (0..width as isize).contains(&x)
                                        {
                                            let i = ((b * channels_in + c) * height + y as usize)
                                                * width
                                                + x as usize;
                                            let w = ((co * channels_in + c) * kernel + kh) * kernel
                                                + kw;
                                            sum += weights[w] * input[i];
                                        }
                                    }
                                }
                            }
                            let at = ((b * channels_out + co) * out_h + oh) * out_w + ow;
                            worst = worst.max((got[at] - sum).abs());
                        }
                    }
                }
            }
            assert!(worst < 1e-4, "k{kernel} s{stride}: off by {worst}");
        }
    }
}
