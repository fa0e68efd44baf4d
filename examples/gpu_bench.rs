//! The GPU path natively, for a machine with a real GPU (Vulkan, Metal or DX12 through wgpu): the
//! same model, kernels and settings as the page's WebGPU engine (no fusion, no autotune).
//! Prints latency at batch 1 and 8 with the fused kernels and with Burn's own convolutions, one
//! fine-tuning step of the head + last 3 blocks, and the logits' agreement with the CPU path.
//! `scripts/gpu-bench.sh` builds and runs it; `--json FILE` also writes the figures.
//!
//! Dispatch counts are the browser's to measure (`bench/gpu-work.spec.ts` wraps the WebGPU API);
//! natively wgpu offers no such hook.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::time::Instant;

    use burn::prelude::*;
    use futures::executor::block_on;
    use glimpse::engine::use_fused_gpu_kernels;
    use glimpse::ml::fine_tune::{FineTuneConfig, TunableTop, fine_tune};
    use glimpse::ml::model::{EfficientNetLite, repeated_input as input};
    use glimpse::ml::personal_head::PersonalHeadConfig;
    use glimpse::ml::preprocess::{decode, preprocess};
    use glimpse::ml::readback::read_floats;
    use glimpse::ml::weights::load_imagenet;

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");
    const RUNS: usize = 30;
    const WARMUP: usize = 3;

    /// Median and 90th percentile (ms) of `RUNS` forward passes (upload, network, logits read back).
    fn latency(
        model: &EfficientNetLite,
        pixels: &[f32],
        batch: usize,
        device: &Device,
    ) -> (f64, f64) {
        let mut times: Vec<f64> = (0..WARMUP + RUNS)
            .map(|_| {
                let started = Instant::now();
                block_on(read_floats(model.forward(input(pixels, batch, device))))
                    .expect("read back");
                started.elapsed().as_secs_f64() * 1000.0
            })
            .skip(WARMUP)
            .collect();
        times.sort_by(f64::total_cmp);
        (times[times.len() / 2], times[times.len() * 9 / 10])
    }

    pub fn main() {
        let json = std::env::args().skip_while(|a| a != "--json").nth(1);
        let device = Device::wgpu_options()
            .init()
            .unwrap_or_else(|e| panic!("no wgpu adapter: {e:?}"));
        println!("device: {device:?}");
        let weights = std::fs::read(format!("{ROOT}/weights/efficientnet-lite0.f16.safetensors"))
            .expect("weights: run scripts/weights.sh");
        let model = load_imagenet(&weights, &device).expect("weights load");
        let photo = std::fs::read(format!("{ROOT}/tests/fixtures/photos/cat.jpg")).expect("photo");
        let pixels = preprocess(&photo, glimpse::ml::model::Backbone::Lite0)
            .expect("preprocess")
            .pixels;

        let cpu_model = load_imagenet(&weights, &Device::flex()).expect("weights load");
        let cpu = block_on(read_floats(cpu_model.forward(input(
            &pixels,
            1,
            &Device::flex(),
        ))))
        .expect("cpu logits");
        let gpu = block_on(read_floats(model.forward(input(&pixels, 1, &device)))).expect("logits");
        let agreement = cpu
            .iter()
            .zip(&gpu)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!("max |logit difference| against the CPU path: {agreement:.2e}");

        let mut rows = Vec::new();
        for batch in [1, 8] {
            use_fused_gpu_kernels(false);
            let burn = latency(&model, &pixels, batch, &device);
            use_fused_gpu_kernels(true);
            let fused = latency(&model, &pixels, batch, &device);
            println!(
                "batch {batch}: fused kernels {:.2} / {:.2} ms (median / p90), Burn's kernels {:.2} / {:.2} ms, ratio {:.2}",
                fused.0,
                fused.1,
                burn.0,
                burn.1,
                fused.0 / burn.0
            );
            rows.push(format!(
                r#"{{"batch":{batch},"fused":{{"median":{:.3},"p90":{:.3}}},"burn":{{"median":{:.3},"p90":{:.3}}}}}"#,
                fused.0, fused.1, burn.0, burn.1
            ));
        }

        let image = decode(&photo).expect("decode");
        let photos: Vec<_> = (0..8).map(|i| (image.clone(), i % 2)).collect();
        let config = FineTuneConfig::new().with_steps(1);
        let mut steps: Vec<f64> = (0..4)
            .map(|_| {
                let head = PersonalHeadConfig::new(2).init(&device);
                let top = TunableTop::from_model(&model, config.tuned_blocks, head);
                let started = Instant::now();
                block_on(fine_tune(&model, top, &photos, 2, &config, |_, _| async {
                    true
                }))
                .expect("fine-tuning step");
                started.elapsed().as_secs_f64() * 1000.0
            })
            .skip(1)
            .collect();
        steps.sort_by(f64::total_cmp);
        let step = steps[steps.len() / 2];
        println!("one fine-tuning step, head + last 3 blocks, batch 8: {step:.1} ms (median of 3)");

        if let Some(path) = json {
            let text = format!(
                r#"{{"device":{:?},"maxLogitDiff":{agreement},"latency":[{}],"fineTuneStepMs":{step:.3}}}"#,
                format!("{device:?}"),
                rows.join(",")
            );
            std::fs::write(&path, text).expect("write the results");
            println!("wrote {path}");
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::main();
}

#[cfg(target_arch = "wasm32")]
fn main() {}
