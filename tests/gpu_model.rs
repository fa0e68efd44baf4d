//! The whole model on a native wgpu device with the GPU path's fused kernels (Mesa's lavapipe
//! here, a real GPU elsewhere): the same answers as the CPU path, logits within 1e-3, and the
//! sample photos keep their known ImageNet classes.
#![cfg(not(target_arch = "wasm32"))]

use burn::prelude::*;
use glimpse::engine::Engine;
use glimpse::ml::model::{EfficientNetLite, repeated_input};
use glimpse::ml::preprocess::preprocess;
use glimpse::ml::readback::read_floats;
use glimpse::ml::weights::load_imagenet;

const WEIGHTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/weights/efficientnet-lite0.f16.safetensors"
);
const PHOTOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/photos");

fn gpu() -> Device {
    // The runtime initialises once per process; the tests share its device.
    static GPU: std::sync::OnceLock<Result<Device, String>> = std::sync::OnceLock::new();
    GPU.get_or_init(|| Device::wgpu_options().init().map_err(|e| format!("{e:?}")))
        .clone()
        .unwrap_or_else(|e| {
            panic!("no wgpu adapter ({e}): install mesa-vulkan-drivers (scripts/setup.sh does)")
        })
}

fn weights() -> Vec<u8> {
    std::fs::read(WEIGHTS).unwrap_or_else(|e| panic!("{WEIGHTS}: {e}: run scripts/weights.sh"))
}

fn logits(model: &EfficientNetLite, pixels: &[f32], batch: usize, device: &Device) -> Vec<f32> {
    let x = repeated_input(pixels, batch, device);
    futures::executor::block_on(read_floats(model.forward(x))).expect("f32 logits")
}

#[test]
fn gpu_kernels_give_the_cpu_paths_logits() {
    let bytes = weights();
    let gpu = gpu();
    let on_gpu = load_imagenet(&bytes, &gpu).expect("weights on the GPU");
    let on_cpu = load_imagenet(&bytes, &Device::flex()).expect("weights on the CPU");
    for file in ["flamingo.jpg", "cat.jpg"] {
        let photo = std::fs::read(format!("{PHOTOS}/{file}")).expect("photo");
        let pixels = preprocess(&photo, glimpse::ml::model::Backbone::Lite0)
            .expect("decode")
            .pixels;
        // Batch 3: the kernels index images as well as channels and pixels.
        let gpu_logits = logits(&on_gpu, &pixels, 3, &gpu);
        let cpu_logits = logits(&on_cpu, &pixels, 1, &Device::flex());
        for image in gpu_logits.chunks(cpu_logits.len()) {
            let worst = image
                .iter()
                .zip(&cpu_logits)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            println!("{file}: GPU kernels vs CPU, max |logit difference| {worst:.2e}");
            assert!(worst < 1e-3, "{file}: logits differ by {worst}");
        }
    }
}

#[test]
fn sample_photos_keep_their_classes_on_the_gpu() {
    let engine = Engine::new(gpu(), &weights()).expect("weights load");
    for (id, (file, label)) in (0u32..).zip([
        ("cat.jpg", "lynx"),
        ("bridge.jpg", "steel arch bridge"),
        ("coyote.jpg", "coyote"),
        ("flamingo.jpg", "flamingo"),
        ("torch.jpg", "torch"),
    ]) {
        let bytes = std::fs::read(format!("{PHOTOS}/{file}")).expect("photo");
        let result = futures::executor::block_on(engine.classify(id, &bytes)).expect("classify");
        assert_eq!(result.predictions[0].label, label, "{file}");
    }
}
