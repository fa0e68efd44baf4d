//! Native benches of the model on the CPU backend (Flex), the same code the page runs in wasm:
//! `cargo bench --bench model`. Forward passes at batch 1 and 8 (logits read back), Grad-CAM's
//! backward through the head, and one fine-tuning step of the head + last 3 blocks (batch 8).

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use burn::prelude::*;
    use criterion::Criterion;
    use futures::executor::block_on;
    use glimpse::ml::fine_tune::{FineTuneConfig, TunableTop, fine_tune};
    use glimpse::ml::model::{EfficientNetLite, repeated_input as input};
    use glimpse::ml::personal_head::PersonalHeadConfig;
    use glimpse::ml::preprocess::{decode, preprocess};
    use glimpse::ml::readback::read_floats;
    use glimpse::ml::saliency::grad_cam;
    use glimpse::ml::weights::load_imagenet;

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    pub fn benches(c: &mut Criterion) {
        let device = Device::flex();
        let weights = std::fs::read(format!("{ROOT}/weights/efficientnet-lite0.f16.safetensors"))
            .expect("weights: run scripts/weights.sh");
        let model: EfficientNetLite = load_imagenet(&weights, &device).expect("weights load");
        let photo = std::fs::read(format!("{ROOT}/tests/fixtures/photos/cat.jpg")).expect("photo");
        let pixels = preprocess(&photo, glimpse::ml::model::Backbone::Lite0)
            .expect("preprocess")
            .pixels;

        let mut group = c.benchmark_group("efficientnet-lite0 (Flex)");
        group.sample_size(10);
        for batch in [1, 8] {
            group.bench_function(format!("forward, batch {batch}"), |b| {
                b.iter(|| block_on(read_floats(model.forward(input(&pixels, batch, &device)))))
            });
        }
        group.bench_function("Grad-CAM (features + backward through the head)", |b| {
            b.iter(|| {
                let features = model.features(input(&pixels, 1, &device));
                block_on(grad_cam(&&model, features, 287, 224))
            })
        });
        let image = decode(&photo).expect("decode");
        let photos: Vec<_> = (0..8).map(|i| (image.clone(), i % 2)).collect();
        let config = FineTuneConfig::new().with_steps(1);
        group.bench_function("fine-tuning step, head + last 3 blocks, batch 8", |b| {
            b.iter(|| {
                let head = PersonalHeadConfig::new(2).init(&device);
                let top = TunableTop::from_model(&model, config.tuned_blocks, head);
                block_on(fine_tune(&model, top, &photos, 2, &config, |_, _| async {
                    true
                }))
            })
        });
        group.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, native::benches);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
