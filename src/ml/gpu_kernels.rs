//! The GPU path's fused convolutions: on WebGPU (and native wgpu) Burn 0.22 runs each of the
//! model's convolutions as a direct convolution, then its ReLU6 clamp and its residual add as
//! kernels of their own, and copies the depthwise and stem weights into another layout on every
//! pass: 113 dispatches per forward pass, where ONNX Runtime Web needs 62. On a real GPU a
//! 0.4 GFLOP network is bound by dispatches and memory round trips, not arithmetic, so these
//! kernels do each convolution, its bias, its ReLU6 and (for a block's projection) its residual
//! add in one dispatch, reading the input through its strides so nothing is copied first.
//!
//! Burn's fusion cannot get there by itself: it never fuses into a convolution (its fusers merge
//! element-wise chains, reductions and what follows a matmul), and here each clamp and add sits
//! alone between two convolutions.
//!
//! Only plain (non-autodiff) f32 tensors on a cubecl wgpu device take these kernels; the CPU has
//! its own (`pointwise`, `depthwise`, `patches`), and autodiff tensors (fine-tuning, SmoothGrad)
//! keep Burn's differentiable convolution.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::{Cube, CubeDevice, DispatchDevice};
use burn::prelude::*;
use burn::tensor::DType;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::empty_device_contiguous_dtype;
use burn_cubecl::tensor::CubeTensor;
use cubecl::{CubeDim, calculate_cube_count_elemwise};

/// TF "SAME" padding of one spatial axis (TensorFlow's `conv2d` docs): the output has
/// `ceil(size / stride)` positions and the odd pixel of padding goes at the end (bottom/right).
pub fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(size);
    (total / 2, total - total / 2)
}

/// On unless a benchmark turns them off (`?gpu-kernels=off`) to measure Burn's own
/// convolutions in the same build.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Whether GPU tensors take these kernels (true) or Burn's convolution, clamp and add.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// True for a float32 tensor on a plain cubecl wgpu device (WebGPU in the browser, Vulkan or
/// Metal natively) while the kernels are enabled; false on the CPU and for autodiff tensors.
pub fn runs_on_gpu<const D: usize>(tensor: &Tensor<D>) -> bool {
    let device = tensor.device();
    ENABLED.load(Ordering::Relaxed)
        && tensor.dtype() == DType::F32
        && !device.is_autodiff()
        && matches!(
            device.as_dispatch(),
            DispatchDevice::Cube(CubeDevice::Wgpu(_))
        )
}

mod kernels {
    use cubecl::prelude::*;

    /// 1x1 convolution: one unit computes `block` neighbouring output channels of one pixel.
    /// Units run pixel-fastest, so neighbours read neighbouring input pixels and the same weights
    /// (a broadcast), and write neighbouring outputs.
    #[cube(launch)]
    pub(super) fn pointwise(
        x: &Tensor<f32>,
        weight: &[f32],
        bias: &[f32],
        residual: ComptimeOption<&[f32]>,
        output: &mut [f32],
        channels_out: usize,
        units: usize,
        #[comptime] block: usize,
        #[comptime] relu6: bool,
    ) {
        if ABSOLUTE_POS >= units {
            terminate!();
        }
        let channels_in = x.shape(1);
        let width = x.shape(3);
        let pixels = x.shape(2) * width;
        let blocks = channels_out / block;
        let pixel = ABSOLUTE_POS % pixels;
        let rest = ABSOLUTE_POS / pixels;
        let first = (rest % blocks) * block;
        let image = rest / blocks;
        let row = pixel / width;
        let column = pixel % width;
        let base = image * x.stride(0) + row * x.stride(2) + column * x.stride(3);
        let channel_stride = x.stride(1);

        let mut sums = Array::<f32>::new(block);
        #[unroll]
        for j in 0..block {
            sums[j] = bias[first + j];
        }
        for c in 0..channels_in {
            let value = x[base + c * channel_stride];
            #[unroll]
            for j in 0..block {
                sums[j] += value * weight[(first + j) * channels_in + c];
            }
        }
        #[unroll]
        for j in 0..block {
            let at = (image * channels_out + first + j) * pixels + pixel;
            let mut y = sums[j];
            if relu6 {
                y = clamp(y, 0.0f32, 6.0f32);
            }
            let added: ComptimeOption<f32> = residual.as_ref().map(|r| r[at]);
            output[at] = y + added.unwrap_or_default();
        }
    }

    /// A KxK convolution with `group_in` input channels per group (1: depthwise; all: dense, as
    /// the stem): one unit per output value, in the output's NCHW order.
    #[cube(launch)]
    pub(super) fn spatial(
        x: &Tensor<f32>,
        weight: &[f32],
        bias: &[f32],
        output: &mut [f32],
        channels_out: usize,
        group_in: usize,
        group_out: usize,
        out_h: usize,
        out_w: usize,
        stride: usize,
        pad_top: i32,
        pad_left: i32,
        units: usize,
        #[comptime] kernel: usize,
        #[comptime] relu6: bool,
    ) {
        if ABSOLUTE_POS >= units {
            terminate!();
        }
        let in_h = x.shape(2) as i32;
        let in_w = x.shape(3) as i32;
        let ow = ABSOLUTE_POS % out_w;
        let rest = ABSOLUTE_POS / out_w;
        let oh = rest % out_h;
        let rest = rest / out_h;
        let co = rest % channels_out;
        let image = rest / channels_out;
        let first_in = (co / group_out) * group_in;
        let (row_stride, column_stride) = (x.stride(2), x.stride(3));

        let mut sum = bias[co];
        for ci in 0..group_in {
            let base = image * x.stride(0) + (first_in + ci) * x.stride(1);
            let taps = (co * group_in + ci) * kernel * kernel;
            #[unroll]
            for ky in 0..kernel {
                let ih = (oh * stride + ky) as i32 - pad_top;
                if ih >= 0 && ih < in_h {
                    let row = base + ih as usize * row_stride;
                    #[unroll]
                    for kx in 0..kernel {
                        let iw = (ow * stride + kx) as i32 - pad_left;
                        if iw >= 0 && iw < in_w {
                            sum += x[row + iw as usize * column_stride]
                                * weight[taps + ky * kernel + kx];
                        }
                    }
                }
            }
        }
        if relu6 {
            sum = clamp(sum, 0.0f32, 6.0f32);
        }
        output[ABSOLUTE_POS] = sum;
    }
}

fn cube_tensor<const D: usize>(tensor: Tensor<D>) -> CubeTensor {
    match tensor.try_into_primitive::<Cube>() {
        Ok(primitive) => primitive,
        Err(error) => unreachable!("runs_on_gpu checked the tensor's device: {error:?}"),
    }
}

/// A weight or bias as one flat buffer (parameters are contiguous already: no dispatch).
fn flat<const D: usize>(tensor: Tensor<D>) -> CubeTensor {
    into_contiguous(cube_tensor(tensor))
}

/// Workgroups of the runtime's preferred size, enough for one unit per `units`.
fn launch_shape(client: &cubecl::client::Client, units: usize) -> (cubecl::CubeCount, CubeDim) {
    let cube_dim = CubeDim::new(client, units);
    (
        calculate_cube_count_elemwise(client, units, cube_dim),
        cube_dim,
    )
}

fn output(like: &CubeTensor, shape: [usize; 4]) -> CubeTensor {
    empty_device_contiguous_dtype(
        like.client.clone(),
        like.device.clone(),
        Shape::new(shape),
        DType::F32,
    )
}

/// The 1x1 convolution `weight` (`[out, in, 1, 1]`) with its bias, then ReLU6 when asked, then
/// `residual` added when given, in one dispatch. The caller checked `runs_on_gpu`.
///
/// # Shapes
/// - `x`: `[batch, in, h, w]`, any strides; `residual`: `[batch, out, h, w]`
/// - output: `[batch, out, h, w]`, contiguous
pub fn pointwise(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    relu6: bool,
    residual: Option<Tensor<4>>,
) -> Tensor<4> {
    let [batch, _, height, width] = x.dims();
    let [channels_out, ..] = weight.dims();
    let x = cube_tensor(x);
    let out = output(&x, [batch, channels_out, height, width]);
    // Every width of the Lite family is a multiple of 8; 8 sums per unit keep them in registers.
    let block = [8, 4, 2, 1]
        .into_iter()
        .find(|b| channels_out % b == 0)
        .unwrap_or(1);
    let units = batch * height * width * (channels_out / block);
    let client = x.client.clone();
    let (cube_count, cube_dim) = launch_shape(&client, units);
    kernels::pointwise::launch(
        &client,
        cube_count,
        cube_dim,
        x.into_tensor_arg(),
        flat(weight).into_buffer_arg(),
        flat(bias).into_buffer_arg(),
        residual.map(|r| flat(r).into_buffer_arg()).into(),
        out.clone().into_buffer_arg(),
        channels_out,
        units,
        block,
        relu6,
    );
    Tensor::from_primitive::<Cube>(out)
}

/// A KxK convolution (`weight`: `[out, in / groups, k, k]`) with TF-SAME padding, its bias and
/// ReLU6 when asked, in one dispatch: the depthwise layers (`groups` = channels) and the stem.
/// The caller checked `runs_on_gpu`.
///
/// # Shapes
/// - `x`: `[batch, in, h, w]`, any strides
/// - output: `[batch, out, ceil(h / stride), ceil(w / stride)]`, contiguous
pub fn spatial(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    stride: usize,
    groups: usize,
    relu6: bool,
) -> Tensor<4> {
    let [batch, channels_in, height, width] = x.dims();
    let [channels_out, group_in, kernel, _] = weight.dims();
    let (top, _) = same_padding(height, kernel, stride);
    let (left, _) = same_padding(width, kernel, stride);
    let (out_h, out_w) = (height.div_ceil(stride), width.div_ceil(stride));
    let x = cube_tensor(x);
    let out = output(&x, [batch, channels_out, out_h, out_w]);
    let units = batch * channels_out * out_h * out_w;
    let client = x.client.clone();
    let (cube_count, cube_dim) = launch_shape(&client, units);
    debug_assert_eq!(group_in * groups, channels_in);
    kernels::spatial::launch(
        &client,
        cube_count,
        cube_dim,
        x.into_tensor_arg(),
        flat(weight).into_buffer_arg(),
        flat(bias).into_buffer_arg(),
        out.clone().into_buffer_arg(),
        channels_out,
        group_in,
        channels_out / groups,
        out_h,
        out_w,
        stride,
        top as i32,
        left as i32,
        units,
        kernel,
        relu6,
    );
    Tensor::from_primitive::<Cube>(out)
}

#[cfg(test)]
mod tests {
    use super::same_padding;

    #[test]
    fn same_padding_puts_the_odd_pixel_at_the_end() {
        // 224 -> 112 with a 3x3 stride-2 kernel: TF pads 0 before and 1 after.
        assert_eq!(same_padding(224, 3, 2), (0, 1));
        // 5x5 stride 2 on 56: total 3, 1 before and 2 after.
        assert_eq!(same_padding(56, 5, 2), (1, 2));
        // Stride 1 is symmetric.
        assert_eq!(same_padding(14, 5, 1), (2, 2));
        assert_eq!(same_padding(7, 3, 1), (1, 1));
    }
}
