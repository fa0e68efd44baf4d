//! Saliency maps that mean something, checked on the sample photos (tests/fixtures/photos):
//! - sanity (Adebayo et al. 2018): randomising the head and the last blocks changes the map;
//! - localisation: a photo pasted into one quadrant of a grey canvas draws the Grad-CAM mass there;
//! - faithfulness: deleting the most salient 20% of pixels lowers the class probability more than
//!   deleting a random 20%.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use futures::executor::block_on;
use glimpse::ml::model::{Backbone, ConvUnit, EfficientNetLite};

/// Lite0, the backbone these maps are checked on.
const INPUT_SIZE: usize = 224;
use glimpse::ml::predict::probabilities;
use glimpse::ml::preprocess::{decode, model_view, normalise};
use glimpse::ml::saliency::{SaliencyMap, grad_cam, smooth_grad};
use glimpse::ml::weights::load_imagenet;
use image::{Rgb, RgbImage};

const WEIGHTS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/weights/efficientnet-lite0.f16.safetensors"
);
const PHOTOS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/photos");
const FILES: [&str; 5] = [
    "cat.jpg",
    "bridge.jpg",
    "coyote.jpg",
    "flamingo.jpg",
    "torch.jpg",
];

fn model(device: &Device) -> EfficientNetLite {
    load_imagenet(
        &std::fs::read(WEIGHTS).expect("run scripts/weights.sh first"),
        device,
    )
    .expect("weights")
}

/// The 224 x 224 view the model sees of a sample photo.
fn view(file: &str) -> RgbImage {
    let bytes = std::fs::read(format!("{PHOTOS}/{file}")).expect("photo");
    model_view(&decode(&bytes).expect("decode"), Backbone::Lite0).0
}

fn tensor(image: &RgbImage, device: &Device) -> Tensor<4> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    Tensor::from_data(TensorData::new(normalise(image), [1, 3, h, w]), device)
}

fn top1(model: &EfficientNetLite, input: Tensor<4>) -> (usize, f32) {
    let probs = block_on(probabilities(model, input))
        .expect("forward")
        .remove(0);
    let (class, p) = probs
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .expect("classes");
    (class, *p)
}

fn probability(model: &EfficientNetLite, input: Tensor<4>, class: usize) -> f32 {
    block_on(probabilities(model, input)).expect("forward")[0][class]
}

fn cam(model: &EfficientNetLite, input: Tensor<4>, class: usize) -> SaliencyMap {
    block_on(grad_cam(model, model.features(input), class, INPUT_SIZE)).expect("grad-cam")
}

/// Spearman's rank correlation, ties given their average rank.
fn rank_correlation(a: &[f32], b: &[f32]) -> f64 {
    fn ranks(v: &[f32]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut ranks = vec![0.0; v.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
                j += 1;
            }
            let average = (i + j) as f64 / 2.0;
            for k in i..=j {
                ranks[order[k]] = average;
            }
            i = j + 1;
        }
        ranks
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

fn randomise_conv(unit: &mut ConvUnit, device: &Device) {
    let shape: [usize; 4] = unit.conv.weight.lazy_shape().dims();
    let fan_in = (shape[1] * shape[2] * shape[3]) as f64;
    unit.conv.weight = Param::from_tensor(Tensor::random(
        shape,
        Distribution::Normal(0.0, (2.0 / fan_in).sqrt()),
        device,
    ));
    unit.conv.bias = Some(Param::from_tensor(Tensor::zeros([shape[0]], device)));
}

/// Cascading randomisation from the top: classifier, head conv and the last three blocks.
fn randomised_top(mut model: EfficientNetLite, device: &Device) -> EfficientNetLite {
    let shape: [usize; 2] = model.classifier.weight.lazy_shape().dims();
    model.classifier.weight = Param::from_tensor(Tensor::random(
        shape,
        Distribution::Normal(0.0, 0.05),
        device,
    ));
    randomise_conv(&mut model.head_conv, device);
    for block in model.blocks.iter_mut().rev().take(3) {
        if let Some(expand) = block.expand.as_mut() {
            randomise_conv(expand, device);
        }
        randomise_conv(&mut block.depthwise, device);
        randomise_conv(&mut block.project, device);
    }
    model
}

#[test]
fn sanity_randomising_the_top_of_the_model_changes_the_map() {
    let device = Device::flex();
    device.seed(7);
    let trained = model(&device);
    let random = randomised_top(model(&device), &device);
    let mut correlations = Vec::new();
    for file in FILES {
        let input = tensor(&view(file), &device);
        let (class, _) = top1(&trained, input.clone());
        let rho_cam = rank_correlation(
            &cam(&trained, input.clone(), class).values,
            &cam(&random, input.clone(), class).values,
        );
        let smooth = |m: &EfficientNetLite| {
            block_on(smooth_grad(m, input.clone(), class, 4))
                .expect("smoothgrad")
                .values
        };
        let rho_smooth = rank_correlation(&smooth(&trained), &smooth(&random));
        println!(
            "{file}: rank correlation trained vs randomised: Grad-CAM {rho_cam:.3}, SmoothGrad {rho_smooth:.3}"
        );
        assert!(rho_cam < 0.5, "{file}: Grad-CAM rank correlation {rho_cam}");
        correlations.push(rho_smooth);
    }
    let mean_smooth = correlations.iter().sum::<f64>() / correlations.len() as f64;
    println!("mean SmoothGrad rank correlation: {mean_smooth:.3}");
    assert!(
        mean_smooth < 0.5,
        "SmoothGrad mean rank correlation {mean_smooth}"
    );
}

#[test]
fn localisation_a_photo_in_one_quadrant_draws_the_grad_cam_mass_there() {
    let device = Device::flex();
    let model = model(&device);
    let half = INPUT_SIZE as u32 / 2;
    for (i, file) in FILES.iter().enumerate() {
        let photo = view(file);
        let (class, _) = top1(&model, tensor(&photo, &device));
        let small =
            image::imageops::resize(&photo, half, half, image::imageops::FilterType::Triangle);
        let (qx, qy) = ((i as u32 % 2) * half, ((i as u32 / 2) % 2) * half);
        let mut canvas =
            RgbImage::from_pixel(INPUT_SIZE as u32, INPUT_SIZE as u32, Rgb([128, 128, 128]));
        image::imageops::replace(&mut canvas, &small, i64::from(qx), i64::from(qy));
        let map = cam(&model, tensor(&canvas, &device), class);
        let total: f32 = map.values.iter().sum();
        let inside: f32 = (qy..qy + half)
            .flat_map(|y| (qx..qx + half).map(move |x| (x, y)))
            .map(|(x, y)| map.values[(y as usize) * INPUT_SIZE + x as usize])
            .sum();
        let share = inside / total;
        println!(
            "{file} in quadrant ({qx},{qy}): {:.0}% of the Grad-CAM mass",
            share * 100.0
        );
        assert!(
            share >= 0.6,
            "{file}: only {share} of the mass in its quadrant"
        );
    }
}

#[test]
fn faithfulness_deleting_salient_pixels_hurts_more_than_deleting_random_ones() {
    let device = Device::flex();
    let model = model(&device);
    let (mut salient_drop, mut random_drop) = (0.0, 0.0);
    let mut seed = 0x2545_f491_u64;
    for file in FILES {
        let photo = view(file);
        let (class, p) = top1(&model, tensor(&photo, &device));
        let map = cam(&model, tensor(&photo, &device), class);
        let n = map.values.len();
        let deleted = n / 5;
        let mut by_salience: Vec<usize> = (0..n).collect();
        by_salience.sort_by(|&a, &b| map.values[b].total_cmp(&map.values[a]));
        let mut shuffled: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            shuffled.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let mean = {
            let mut sum = [0u64; 3];
            photo
                .pixels()
                .for_each(|px| (0..3).for_each(|c| sum[c] += u64::from(px[c])));
            Rgb(sum.map(|s| (s / n as u64) as u8))
        };
        let delete = |pixels: &[usize]| {
            let mut copy = photo.clone();
            for &i in pixels {
                copy.put_pixel((i % INPUT_SIZE) as u32, (i / INPUT_SIZE) as u32, mean);
            }
            probability(&model, tensor(&copy, &device), class)
        };
        let after_salient = delete(&by_salience[..deleted]);
        let after_random = delete(&shuffled[..deleted]);
        println!(
            "{file}: p = {p:.3}; salient 20% deleted {after_salient:.3}; random 20% deleted {after_random:.3}"
        );
        salient_drop += f64::from(p - after_salient) / FILES.len() as f64;
        random_drop += f64::from(p - after_random) / FILES.len() as f64;
    }
    println!("mean probability drop: salient {salient_drop:.3}, random {random_drop:.3}");
    assert!(
        salient_drop > random_drop,
        "salient {salient_drop} vs random {random_drop}"
    );
}
