//! EfficientNet-Lite (Lite0, Lite1 or Lite2: one definition, sized by `formats::shape`) written
//! as Burn modules, split so that later stages can reach its parts:
//! `features` (the Grad-CAM layer), `embed` (the vector the personal heads train on) and `head`.
//!
//! Batch-norm is folded into each convolution's weight and bias when the weights are converted
//! (`scripts/convert_weights.py`), so every conv here carries a bias and no norm layer follows it.
//! Stride-2 convolutions use TF "SAME" padding (pad the bottom/right more), which is what Burn's
//! `PaddingConfig2d::Same` computes; the stride-1 ones are symmetric either way.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

pub use crate::formats::backbone::Backbone;
pub use crate::formats::shape::{FEATURE_CHANNELS, IMAGENET_CLASSES};
use crate::formats::shape::{STEM_CHANNELS, block_count, block_shapes, head_channels_in};

use super::depthwise::Depthwise;
use super::gpu_kernels;
use super::patches::Patches;
use super::pointwise::Pointwise;

/// Builds an EfficientNet-Lite with placeholder weights; `weights::load_imagenet` fills them.
#[derive(Config, Debug)]
pub struct EfficientNetLiteConfig {
    pub backbone: Backbone,
    /// Width of the classifier: 1000 for ImageNet, the number of classes for a personal head.
    #[config(default = "IMAGENET_CLASSES")]
    pub num_classes: usize,
}

/// Conv with folded batch-norm and an optional ReLU6.
#[derive(Module, Debug)]
pub struct ConvUnit {
    pub conv: Conv2d,
    pub relu6: bool,
}

impl ConvUnit {
    fn new(
        device: &Device,
        channels: [usize; 2],
        kernel: usize,
        stride: usize,
        groups: usize,
        relu6: bool,
    ) -> Self {
        let conv = Conv2dConfig::new(channels, [kernel, kernel])
            .with_stride([stride, stride])
            .with_groups(groups)
            .with_padding(PaddingConfig2d::Same)
            .with_bias(true)
            // The loader overwrites every weight; a constant init is cheap and deterministic.
            .with_initializer(Initializer::Zeros)
            .init(device);
        Self { conv, relu6 }
    }

    /// # Shapes
    /// - `x`: `[batch, channels_in, height, width]`
    /// - output: `[batch, channels_out, height / stride, width / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_adding(x, None)
    }

    /// The convolution, its ReLU6, then `residual` added (an MBConv block's skip connection):
    /// on the GPU all in the one dispatch of `gpu_kernels` where the layer is a 1x1 one.
    ///
    /// # Shapes
    /// - `x`: `[batch, channels_in, height, width]`
    /// - `residual`: the output's shape
    /// - output: `[batch, channels_out, height / stride, width / stride]`
    pub fn forward_adding(&self, x: Tensor<4>, residual: Option<Tensor<4>>) -> Tensor<4> {
        if self.fits_gpu_kernels() && gpu_kernels::runs_on_gpu(&x) {
            return self.fused_on_gpu(x, residual);
        }
        let y = if let Some(fused) = self.fused_kernel(&x) {
            self.fused_on_cpu(x, fused)
        } else {
            let y = self.conv.forward(x);
            if self.relu6 { y.clamp(0.0, 6.0) } else { y }
        };
        match residual {
            Some(residual) => y + residual,
            None => y,
        }
    }

    /// Square kernels, equal strides, TF-SAME padding and a bias: every layer of the model.
    fn fits_gpu_kernels(&self) -> bool {
        let conv = &self.conv;
        conv.kernel_size[0] == conv.kernel_size[1]
            && conv.stride[0] == conv.stride[1]
            && conv.dilation == [1, 1]
            && conv.padding == PaddingConfig2d::Same
            && conv.bias.is_some()
    }

    fn fused_on_gpu(&self, x: Tensor<4>, residual: Option<Tensor<4>>) -> Tensor<4> {
        let conv = &self.conv;
        let weight = conv.weight.val();
        let Some(bias) = conv.bias.as_ref().map(|b| b.val()) else {
            unreachable!("fits_gpu_kernels checked the bias");
        };
        let [kernel, _] = conv.kernel_size;
        let [stride, _] = conv.stride;
        if kernel == 1 && stride == 1 && conv.groups == 1 {
            return gpu_kernels::pointwise(x, weight, bias, self.relu6, residual);
        }
        let y = gpu_kernels::spatial(x, weight, bias, stride, conv.groups, self.relu6);
        match residual {
            Some(residual) => y + residual,
            None => y,
        }
    }

    /// On the plain CPU device, convolutions run the fused kernels of `depthwise`, `pointwise` and
    /// `patches` (see why there). Anything else, including the autodiff tensors of fine-tuning
    /// and SmoothGrad, takes Burn's convolution.
    fn fused_kernel(&self, x: &Tensor<4>) -> Option<Fused> {
        let [_, channels, height, width] = x.dims();
        let conv = &self.conv;
        let [kernel, kernel_w] = conv.kernel_size;
        let [stride, stride_w] = conv.stride;
        let [channels_out, ..] = conv.weight.dims();
        let plain_cpu = plain_cpu(&x.device())
            && kernel == kernel_w
            && stride == stride_w
            && conv.padding == PaddingConfig2d::Same;
        let kernel_of = if !plain_cpu {
            None
        } else if conv.groups == channels
            && channels_out == channels
            && channels > 1
            && Depthwise::supports(kernel, stride)
        {
            Some(Fused::Depthwise(Depthwise {
                channels,
                height,
                width,
                kernel,
                stride,
            }))
        } else if conv.groups == 1 && kernel == 1 && stride == 1 {
            Some(Fused::Pointwise(Pointwise {
                channels_in: channels,
                channels_out,
                pixels: height * width,
            }))
        } else if conv.groups == 1 {
            Some(Fused::Patches(Patches {
                channels_in: channels,
                channels_out,
                height,
                width,
                kernel,
                stride,
            }))
        } else {
            None
        };
        kernel_of.filter(|_| conv.bias.is_some())
    }

    /// `x` is taken by value; its values and the parameters are read in place (`CpuValues`).
    fn fused_on_cpu(&self, x: Tensor<4>, fused: Fused) -> Tensor<4> {
        let [batch, _, height, width] = x.dims();
        let [channels_out, ..] = self.conv.weight.dims();
        let device = x.device();
        let input = CpuValues::of(x);
        let weights = CpuValues::of(self.conv.weight.val());
        let Some(bias) = self.conv.bias.as_ref().map(|b| CpuValues::of(b.val())) else {
            unreachable!("a bias, as fused_kernel checked");
        };
        let (input, weights, bias) = (input.as_slice(), weights.as_slice(), bias.as_slice());
        let (out, [out_h, out_w]) = match fused {
            Fused::Depthwise(layer) => {
                let (out_h, out_w) = layer.output_size();
                (
                    layer.forward(input, weights, bias, self.relu6),
                    [out_h, out_w],
                )
            }
            Fused::Pointwise(layer) => (
                layer.forward(input, weights, bias, self.relu6),
                [height, width],
            ),
            Fused::Patches(layer) => {
                let (out_h, out_w) = layer.output_size();
                (
                    layer.forward(input, weights, bias, self.relu6),
                    [out_h, out_w],
                )
            }
        };
        Tensor::from_data(
            TensorData::new(out, [batch, channels_out, out_h, out_w]),
            &device,
        )
    }
}

/// The CPU device without autodiff: where the fused CPU kernels run.
fn plain_cpu(device: &Device) -> bool {
    *device == Device::flex() && !device.is_autodiff()
}

/// A CPU tensor's `f32` values, borrowed from its buffer when it is contiguous. Flex shares a
/// parameter's buffer with every use of it, so `into_data` would copy all of a layer's weights on
/// every pass (13 MB per forward), and an activation kept for a residual too.
enum CpuValues {
    Borrowed(burn::backend::flex::FlexTensor),
    Copied(TensorData),
}

impl CpuValues {
    fn of<const D: usize>(tensor: Tensor<D>) -> Self {
        match tensor.clone().try_into_primitive::<burn::backend::Flex>() {
            Ok(flex) if flex.as_slice::<f32>().is_some() => Self::Borrowed(flex),
            _ => Self::Copied(tensor.into_data().convert::<f32>()),
        }
    }

    fn as_slice(&self) -> &[f32] {
        let values = match self {
            Self::Borrowed(flex) => flex.as_slice::<f32>(),
            Self::Copied(data) => data.as_slice::<f32>().ok(),
        };
        values.expect("f32 values: borrowed only when contiguous f32, else converted")
    }
}

enum Fused {
    Depthwise(Depthwise),
    Pointwise(Pointwise),
    Patches(Patches),
}

#[derive(Module, Debug)]
pub struct MbConv {
    pub expand: Option<ConvUnit>,
    pub depthwise: ConvUnit,
    pub project: ConvUnit,
    pub residual: bool,
}

impl MbConv {
    /// # Shapes
    /// - `x`: `[batch, channels_in, h, w]`
    /// - output: `[batch, channels_out, h / stride, w / stride]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = match &self.expand {
            Some(expand) => expand.forward(x.clone()),
            None => x.clone(),
        };
        y = self.depthwise.forward(y);
        self.project.forward_adding(y, self.residual.then_some(x))
    }
}

/// `batch` copies of one preprocessed photo as the model's input (benchmarks, warm-up checks).
///
/// # Shapes
/// - `pixels`: `3 * size * size` values, as `preprocess` gives them
/// - output: `[batch, 3, size, size]`
pub fn repeated_input(pixels: &[f32], batch: usize, device: &Device) -> Tensor<4> {
    let size = side_of(pixels.len());
    let data: Vec<f32> = pixels
        .iter()
        .copied()
        .cycle()
        .take(pixels.len() * batch)
        .collect();
    Tensor::from_data(TensorData::new(data, [batch, 3, size, size]), device)
}

/// Side of the square images `values` holds (`3 * side * side` channel-major values each).
pub fn side_of(values: usize) -> usize {
    ((values / 3) as f64).sqrt().round() as usize
}

/// A batch of preprocessed photos, each `3 * side * side` values, as the model's input.
///
/// # Shapes
/// - output: `[photos, 3, side, side]`
pub fn images(pixels: Vec<f32>, photos: usize, device: &Device) -> Tensor<4> {
    let side = side_of(pixels.len() / photos.max(1));
    Tensor::from_data(TensorData::new(pixels, [photos, 3, side, side]), device)
}

#[derive(Module, Debug)]
pub struct EfficientNetLite {
    pub stem: ConvUnit,
    pub blocks: Vec<MbConv>,
    pub head_conv: ConvUnit,
    pub classifier: Linear,
}

impl EfficientNetLiteConfig {
    pub fn init(&self, device: &Device) -> EfficientNetLite {
        let stem = ConvUnit::new(device, [3, STEM_CHANNELS], 3, 2, 1, true);
        let shapes = block_shapes(self.backbone);
        let mut blocks = Vec::with_capacity(shapes.len());
        for block in shapes {
            let hidden = block.channels_in * block.expand_ratio;
            let expand = (block.expand_ratio != 1)
                .then(|| ConvUnit::new(device, [block.channels_in, hidden], 1, 1, 1, true));
            blocks.push(MbConv {
                expand,
                depthwise: ConvUnit::new(
                    device,
                    [hidden, hidden],
                    block.kernel,
                    block.stride,
                    hidden,
                    true,
                ),
                project: ConvUnit::new(device, [hidden, block.channels_out], 1, 1, 1, false),
                residual: block.residual(),
            });
        }
        EfficientNetLite {
            stem,
            blocks,
            head_conv: ConvUnit::new(
                device,
                [head_channels_in(self.backbone), FEATURE_CHANNELS],
                1,
                1,
                1,
                true,
            ),
            classifier: LinearConfig::new(FEATURE_CHANNELS, self.num_classes)
                .with_initializer(Initializer::Zeros)
                .init(device),
        }
    }
}

impl EfficientNetLite {
    /// The backbone whose shapes this network has (its block count and the width into its head
    /// conv tell them apart).
    pub fn backbone(&self) -> Backbone {
        let head_in = self.head_conv.conv.weight.lazy_shape().dims::<4>()[1];
        Backbone::ALL
            .into_iter()
            .find(|&b| block_count(b) == self.blocks.len() && head_channels_in(b) == head_in)
            .expect("every network is built from a backbone's config")
    }

    /// Side of the square input the backbone takes.
    pub fn input_size(&self) -> usize {
        self.backbone().input_size()
    }

    /// The last convolutional feature map, after the head conv's ReLU6: the Grad-CAM layer.
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, size, size]`, normalised to [-1, 1] (see `preprocess`)
    /// - output: `[batch, 1280, size / 32, size / 32]` (rounded up: 7, 8 or 9)
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let [batch, ..] = images.dims();
        // On the plain CPU device a batch runs one photo at a time: one thread gains nothing from
        // batching its convolutions, and one photo's activations (5 MB at most) stay in cache
        // where a batch of 8 streams 40 MB through memory per layer (measured: batch 8 took 5%
        // longer per photo than batch 1).
        if batch > 1 && plain_cpu(&images.device()) {
            let photos = images.chunk(batch, 0);
            return Tensor::cat(photos.into_iter().map(|p| self.features_of(p)).collect(), 0);
        }
        self.features_of(images)
    }

    fn features_of(&self, images: Tensor<4>) -> Tensor<4> {
        let mut x = self.stem.forward(images);
        for block in &self.blocks {
            x = block.forward(x);
        }
        self.head_conv.forward(x)
    }

    /// Global average pool of a feature map.
    ///
    /// # Shapes
    /// - `features`: `[batch, 1280, h, w]`
    /// - output: `[batch, 1280]`
    pub fn pool(features: Tensor<4>) -> Tensor<2> {
        let [batch, channels, _, _] = features.dims();
        features.mean_dims(&[2, 3]).reshape([batch, channels])
    }

    /// The embedding a head classifies.
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, size, size]`
    /// - output: `[batch, 1280]`
    pub fn embed(&self, images: Tensor<4>) -> Tensor<2> {
        Self::pool(self.features(images))
    }

    /// Class scores (logits) of an embedding.
    ///
    /// # Shapes
    /// - `embedding`: `[batch, 1280]`
    /// - output: `[batch, num_classes]`
    pub fn head(&self, embedding: Tensor<2>) -> Tensor<2> {
        self.classifier.forward(embedding)
    }

    /// Logits of a batch of preprocessed images.
    ///
    /// # Shapes
    /// - `images`: `[batch, 3, size, size]`
    /// - output: `[batch, num_classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.head(self.embed(images))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architecture_has_sixteen_blocks_with_the_reference_strides() {
        let model = EfficientNetLiteConfig::new(Backbone::Lite0).init(&Device::flex());
        assert_eq!(model.blocks.len(), 16);
        let strided: Vec<usize> = model
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.depthwise.conv.stride == [2, 2])
            .map(|(i, _)| i)
            .collect();
        assert_eq!(strided, vec![1, 3, 5, 11]);
        assert!(model.blocks[0].expand.is_none());
        assert_eq!(model.blocks.iter().filter(|b| b.residual).count(), 9);
    }

    #[test]
    fn shapes_flow_from_image_to_logits() {
        let device = Device::flex();
        for (backbone, side) in [(Backbone::Lite0, 7), (Backbone::Lite2, 9)] {
            let model = EfficientNetLiteConfig::new(backbone)
                .with_num_classes(3)
                .init(&device);
            let size = backbone.input_size();
            let images = Tensor::<4>::zeros([2, 3, size, size], &device);
            assert_eq!(
                model.features(images.clone()).dims(),
                [2, FEATURE_CHANNELS, side, side]
            );
            assert_eq!(model.forward(images).dims(), [2, 3]);
        }
    }

    /// A layer with random weights and bias in [-1, 1].
    fn random_unit(
        device: &Device,
        channels: [usize; 2],
        kernel: usize,
        stride: usize,
        groups: usize,
        relu6: bool,
    ) -> ConvUnit {
        use burn::module::Param;
        use burn::tensor::Distribution::Uniform;
        let mut unit = ConvUnit::new(device, channels, kernel, stride, groups, relu6);
        let [channels_in, channels_out] = channels;
        let shape = [channels_out, channels_in / groups, kernel, kernel];
        unit.conv.weight =
            Param::from_tensor(Tensor::<4>::random(shape, Uniform(-1.0, 1.0), device));
        let bias = Tensor::<1>::random([channels_out], Uniform(-1.0, 1.0), device);
        unit.conv.bias = Some(Param::from_tensor(bias));
        unit
    }

    /// Natively only: the wasm32 tests have no synchronous wgpu device.
    #[cfg(not(target_arch = "wasm32"))]
    mod on_gpu {
        use super::*;

        /// The native wgpu device the GPU kernels are tested on: Mesa's lavapipe (software Vulkan)
        /// on the build machines, a real GPU where there is one.
        fn gpu() -> Device {
            // The runtime initialises once per process; the tests share its device.
            static GPU: std::sync::OnceLock<Result<Device, String>> = std::sync::OnceLock::new();
            GPU.get_or_init(|| Device::wgpu_options().init().map_err(|e| format!("{e:?}")))
                .clone()
                .unwrap_or_else(|e| {
                    panic!(
                        "no wgpu adapter ({e}): install mesa-vulkan-drivers (scripts/setup.sh does)"
                    )
                })
        }

        #[test]
        fn fused_gpu_kernels_agree_with_burns_convolution() {
            use burn::tensor::Distribution::Uniform;
            let device = gpu();
            // (channels in, out, kernel, stride, groups, relu6, residual, size): depthwise 3x3 and
            // 5x5 at both strides on odd and even sizes, 1x1 with and without ReLU6 and residual,
            // the dense stem.
            for (channels, channels_out, kernel, stride, groups, relu6, residual, [h, w]) in [
                (8, 8, 3, 1, 8, true, false, [15, 12]),
                (6, 6, 5, 2, 6, true, false, [15, 12]),
                (6, 6, 5, 2, 6, true, false, [14, 16]),
                (4, 4, 3, 2, 4, false, false, [9, 9]),
                (16, 16, 5, 1, 16, true, false, [7, 7]),
                (8, 24, 1, 1, 1, true, false, [15, 12]),
                (24, 8, 1, 1, 1, false, true, [15, 12]),
                (20, 12, 1, 1, 1, false, false, [5, 3]),
                (3, 8, 3, 2, 1, true, false, [17, 16]),
            ] {
                let unit = random_unit(
                    &device,
                    [channels, channels_out],
                    kernel,
                    stride,
                    groups,
                    relu6,
                );
                let x = Tensor::<4>::random([2, channels, h, w], Uniform(-3.0, 3.0), &device);
                assert!(
                    unit.fits_gpu_kernels() && gpu_kernels::runs_on_gpu(&x),
                    "the GPU kernels take plain wgpu tensors"
                );
                let [out_h, out_w] = [h.div_ceil(stride), w.div_ceil(stride)];
                let skip = residual.then(|| {
                    Tensor::<4>::random(
                        [2, channels_out, out_h, out_w],
                        Uniform(-2.0, 2.0),
                        &device,
                    )
                });
                let fused = unit.forward_adding(x.clone(), skip.clone());
                // Burn's own convolution on the same device, then the clamp and the add.
                let mut reference = unit.conv.forward(x);
                if relu6 {
                    reference = reference.clamp(0.0, 6.0);
                }
                if let Some(skip) = skip {
                    reference = reference + skip;
                }
                assert_eq!(fused.dims(), reference.dims());
                let worst = (fused - reference).abs().max().into_scalar::<f32>();
                assert!(
                    worst < 1e-4,
                    "k{kernel} s{stride} g{groups} {h}x{w}: off by {worst}"
                );
            }
        }

        #[test]
        fn gpu_kernels_leave_autodiff_tensors_to_burn() {
            let device = gpu();
            let unit = ConvUnit::new(&device, [4, 4], 3, 1, 4, true);
            let x = Tensor::<4>::ones([1, 4, 5, 5], &device).autodiff();
            assert!(!gpu_kernels::runs_on_gpu(&x));
            assert!(!gpu_kernels::runs_on_gpu(&Tensor::<4>::ones(
                [1, 4, 5, 5],
                &Device::flex()
            )));
            assert_eq!(unit.forward(x).dims(), [1, 4, 5, 5]);
        }
    }

    #[test]
    fn fused_cpu_kernels_agree_with_burns_convolution() {
        use burn::tensor::Distribution::Uniform;
        let device = Device::flex();
        // (channels in, out, kernel, stride, groups, relu6): depthwise, then 1x1 layers.
        for (channels, channels_out, kernel, stride, groups, relu6) in [
            (8, 8, 3, 1, 8, true),
            (6, 6, 5, 2, 6, true),
            (4, 4, 3, 2, 4, false),
            (8, 24, 1, 1, 1, true),
            (24, 8, 1, 1, 1, false),
            (3, 8, 3, 2, 1, true),
        ] {
            let unit = random_unit(
                &device,
                [channels, channels_out],
                kernel,
                stride,
                groups,
                relu6,
            );
            let x = Tensor::<4>::random([2, channels, 15, 12], Uniform(-3.0, 3.0), &device);
            let kernel_of = unit.fused_kernel(&x);
            assert!(
                kernel_of.is_some(),
                "the fused kernels take plain CPU tensors"
            );
            let fused = unit.forward(x.clone());
            // Autodiff tensors go through Burn's own convolution.
            let tracked = x.autodiff();
            assert!(unit.fused_kernel(&tracked).is_none());
            let reference = unit.forward(tracked).inner();
            assert_eq!(fused.dims(), reference.dims());
            let worst = (fused - reference).abs().max().into_scalar::<f32>();
            assert!(
                worst < 1e-4,
                "k{kernel} s{stride} g{groups}: off by {worst}"
            );
        }
    }

    #[test]
    fn a_batch_on_the_cpu_gives_each_photo_what_it_gets_alone_and_what_autodiff_gets() {
        use burn::tensor::Distribution::Uniform;
        let device = Device::flex();
        let model = EfficientNetLiteConfig::new(Backbone::Lite0).init(&device);
        let shape = [3, 3, 224, 224];
        let images = Tensor::<4>::random(shape, Uniform(-1.0, 1.0), &device);
        let batch = model.features(images.clone());
        assert_eq!(batch.dims(), [3, FEATURE_CHANNELS, 7, 7]);
        for (i, photo) in images.clone().chunk(3, 0).into_iter().enumerate() {
            let alone = model.features(photo);
            let same = batch.clone().narrow(0, i, 1);
            let worst = (alone - same).abs().max().into_scalar::<f32>();
            assert_eq!(worst, 0.0, "photo {i} differs in the batch");
        }
        // The batch through Burn's own convolutions (autodiff tensors take them).
        let reference = model.features(images.autodiff()).inner();
        let worst = (batch - reference).abs().max().into_scalar::<f32>();
        assert!(worst < 1e-3, "off by {worst}");
    }
}
