//! The backend race: which engine answers the person's photos is decided by measurement, not by
//! the adapter's name. On a small network a laptop's integrated GPU is often slower than wasm
//! SIMD, and a driver can compute wrong numbers; both are only found by trying.
//!
//! The page starts on the CPU engine (ready in about a second) and warms a WebGPU engine up
//! behind it. Both run the same probe input (`probe_pixels`) and report a `Probe`: the median
//! time of a forward pass and its logits. `judge` turns the two into a `Verdict`, which the page
//! keeps per adapter (`Verdicts`), so that a machine where the CPU won is not measured again.
//! Plain data and numbers: natively tested, no browser in it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::protocol::BackendKind;

pub use crate::formats::records::Probe;

/// Forward passes timed per probe, after one untimed pass: the median of 5 is steady on a
/// shared machine, and on a slow software adapter the probe still ends within seconds.
pub const PROBE_RUNS: usize = 5;

/// The largest logit difference tolerated between WebGPU and the CPU. Our kernels agree with the
/// CPU within 1e-5 (Mesa's lavapipe) and the bound we hold them to is 1e-3; a GPU sums in other
/// orders, so the race allows ten times that. A broken driver misses by whole units.
pub const LOGIT_TOLERANCE: f32 = 1e-2;

/// WebGPU is chosen only when its pass takes at most this share of the CPU's: a tie is not
/// worth a second engine's memory, nor a switch.
pub const FASTER_BY: f64 = 0.9;

/// A GPU this many times slower than the CPU for one photo is not timed at training: a batch of
/// 8 with a backward pass narrows the gap, but not by that much (SwiftShader here: 41x for a
/// photo, 22x for a training step), and the step costs seconds on a slow adapter.
const HOPELESS: f64 = 3.0;

/// Whether the training step is worth timing on both engines, after their forward passes.
pub fn worth_timing_training(cpu: &Probe, gpu: &Probe, preference: Preference) -> bool {
    preference.webgpu_trains || gpu.ms < cpu.ms * HOPELESS
}

/// A verdict older than this is measured again: browsers and drivers change.
pub const VERDICT_DAYS: f64 = 30.0;

/// The side of the probe image (the model's input size).
const SIDE: usize = 224;

/// A fixed, busy input in the model's normalised range: smooth waves of different frequency in
/// each channel, so that every layer sees structure (a blank image would leave most activations
/// at zero, where a wrong kernel can still look right).
pub fn probe_pixels() -> Vec<f32> {
    let mut pixels = Vec::with_capacity(3 * SIDE * SIDE);
    for channel in 0..3 {
        let f = 1.0 + channel as f32;
        for y in 0..SIDE {
            for x in 0..SIDE {
                let (u, v) = (x as f32 / SIDE as f32, y as f32 / SIDE as f32);
                let wave = (f * 7.0 * u + 3.0 * v).sin() * (f * 5.0 * v - 2.0 * u).cos();
                pixels.push(wave.clamp(-1.0, 1.0));
            }
        }
    }
    pixels
}

/// The probe input as a photo (for the fine-tuning step, which draws augmented views of photos):
/// the same waves, as 8-bit RGB.
pub fn probe_photo() -> image::RgbImage {
    let pixels = probe_pixels();
    let plane = SIDE * SIDE;
    image::RgbImage::from_fn(SIDE as u32, SIDE as u32, |x, y| {
        let at = y as usize * SIDE + x as usize;
        image::Rgb(std::array::from_fn(|c| {
            ((pixels[c * plane + at] + 1.0) * 127.5).round() as u8
        }))
    })
}

/// The median of a set of timings (0 when there are none).
pub fn median(times_ms: &[f64]) -> f64 {
    let mut sorted = times_ms.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// The largest absolute difference between two logit vectors (infinite when their lengths or
/// values cannot be compared).
pub fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return f32::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, |worst, d| {
            if d.is_nan() {
                f32::INFINITY
            } else {
                worst.max(d)
            }
        })
}

/// What the race decided on one adapter, and the figures it decided on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The WebGPU adapter's description, as the browser names it.
    pub adapter: String,
    pub software: bool,
    /// The engine that answers photos.
    pub winner: BackendKind,
    /// The engine that runs "head + last blocks" training (the faster at one step of it).
    pub trainer: BackendKind,
    pub cpu_ms: f64,
    /// None when WebGPU failed before it could be timed.
    pub webgpu_ms: Option<f64>,
    /// None when the step was not timed (`worth_timing_training`).
    pub cpu_train_ms: Option<f64>,
    pub webgpu_train_ms: Option<f64>,
    /// Why WebGPU was passed over, for the person; None when it won.
    pub reason: Option<String>,
    /// When it was measured (ms since the Unix epoch).
    pub measured_at_ms: f64,
}

/// How the WebGPU engine came out of its warm-up.
pub enum Contender<'a> {
    Probed(&'a Probe),
    /// It failed to start, crashed or lost its device: the message says how.
    Failed(&'a str),
}

/// A test's knobs: WebGPU wins on speed whatever the times (to reach the switch, or training on
/// the other engine, on a software adapter). They never override the logit check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Preference {
    pub webgpu_answers: bool,
    pub webgpu_trains: bool,
}

/// The race's decision. The logits are checked first: a GPU that computes other numbers is
/// never used, however fast. Answering and training are decided apart: on some machines the GPU
/// is slower for one photo but faster for a training step (batch 8, with a backward pass).
pub fn judge(
    adapter: &str,
    software: bool,
    cpu: &Probe,
    contender: Contender<'_>,
    preference: Preference,
    now_ms: f64,
) -> Verdict {
    let faster = |gpu: f64, cpu: f64, preferred: bool| {
        if preferred || gpu <= cpu * FASTER_BY {
            BackendKind::WebGpu
        } else {
            BackendKind::Cpu
        }
    };
    let (winner, trainer, gpu, reason) = match contender {
        Contender::Failed(message) => (
            BackendKind::Cpu,
            BackendKind::Cpu,
            None,
            Some(format!("WebGPU could not be used: {message}")),
        ),
        Contender::Probed(gpu) => {
            let difference = largest_difference(&cpu.logits, &gpu.logits);
            if difference > LOGIT_TOLERANCE {
                let by = if difference.is_finite() {
                    format!("by up to {difference:.3}")
                } else {
                    "completely".to_string()
                };
                let reason = format!(
                    "WebGPU's answers differ from the CPU's ({by}), so this GPU is not used"
                );
                (BackendKind::Cpu, BackendKind::Cpu, Some(gpu), Some(reason))
            } else {
                let winner = faster(gpu.ms, cpu.ms, preference.webgpu_answers);
                // Untimed, training stays with the engine that answers.
                let trainer = match (gpu.train_step_ms, cpu.train_step_ms) {
                    (Some(gpu), Some(cpu)) => faster(gpu, cpu, preference.webgpu_trains),
                    _ => winner,
                };
                let kind = if software { "software adapter" } else { "GPU" };
                let reason = (winner == BackendKind::Cpu)
                    .then(|| format!("the CPU is faster than this {kind}, so it is passed over"));
                (winner, trainer, Some(gpu), reason)
            }
        }
    };
    Verdict {
        adapter: adapter.to_string(),
        software,
        winner,
        trainer,
        cpu_ms: cpu.ms,
        webgpu_ms: gpu.map(|g| g.ms),
        cpu_train_ms: cpu.train_step_ms,
        webgpu_train_ms: gpu.and_then(|g| g.train_step_ms),
        reason,
        measured_at_ms: now_ms,
    }
}

fn milliseconds(ms: f64) -> String {
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

impl Verdict {
    /// The figures for the person: "WebGPU (Intel Xe): 6.1 ms, CPU: 45.2 ms".
    pub fn line(&self) -> String {
        let software = if self.software { ", software" } else { "" };
        let webgpu = match self.webgpu_ms {
            Some(ms) => milliseconds(ms),
            None => "failed".to_string(),
        };
        format!(
            "WebGPU ({}{software}): {webgpu}, CPU: {}",
            self.adapter,
            milliseconds(self.cpu_ms)
        )
    }

    /// The training step's figures: "a training step: WebGPU 310 ms, CPU 620 ms".
    pub fn training_line(&self) -> Option<String> {
        let (webgpu, cpu) = (self.webgpu_train_ms?, self.cpu_train_ms?);
        let trains = match self.trainer {
            BackendKind::WebGpu => "WebGPU trains",
            BackendKind::Cpu => "the CPU trains",
        };
        Some(format!(
            "a training step: WebGPU {}, CPU {} ({trains})",
            milliseconds(webgpu),
            milliseconds(cpu)
        ))
    }

    /// Whether it should be trusted without measuring again at `now_ms`. Only a verdict where
    /// the CPU does everything is kept: where WebGPU won anything, the page checks it again on
    /// every visit (the CPU engine answers first anyway, and the check catches a driver update
    /// that breaks its numbers).
    pub fn settles(&self, now_ms: f64) -> bool {
        self.winner == BackendKind::Cpu
            && self.trainer == BackendKind::Cpu
            && now_ms - self.measured_at_ms < VERDICT_DAYS * 86_400_000.0
            && now_ms >= self.measured_at_ms
    }
}

/// The verdicts kept on this browser, by adapter description.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Verdicts(BTreeMap<String, Verdict>);

impl Verdicts {
    /// Reads what was stored; anything unreadable counts as nothing measured yet.
    pub fn parse(stored: Option<&str>) -> Self {
        stored
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn get(&self, adapter: &str) -> Option<&Verdict> {
        self.0.get(adapter)
    }

    pub fn insert(&mut self, verdict: Verdict) {
        self.0.insert(verdict.adapter.clone(), verdict);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(ms: f64, logits: &[f32]) -> Probe {
        Probe {
            ms,
            train_step_ms: Some(ms * 10.0),
            logits: logits.to_vec(),
        }
    }

    const NOW: f64 = 1_764_547_200_000.0;
    const NONE: Preference = Preference {
        webgpu_answers: false,
        webgpu_trains: false,
    };
    const BOTH: Preference = Preference {
        webgpu_answers: true,
        webgpu_trains: true,
    };

    #[test]
    fn a_faster_gpu_that_agrees_wins() {
        let cpu = probe(45.0, &[1.0, -2.0, 3.0]);
        let gpu = probe(6.0, &[1.0005, -2.0, 2.999]);
        let verdict = judge("Intel Xe", false, &cpu, Contender::Probed(&gpu), NONE, NOW);
        assert_eq!(verdict.winner, BackendKind::WebGpu);
        assert_eq!(verdict.trainer, BackendKind::WebGpu);
        assert_eq!(verdict.reason, None);
        assert_eq!(verdict.line(), "WebGPU (Intel Xe): 6.0 ms, CPU: 45.0 ms");
        assert_eq!(
            verdict.training_line().as_deref(),
            Some("a training step: WebGPU 60.0 ms, CPU 450 ms (WebGPU trains)")
        );
    }

    #[test]
    fn answering_and_training_are_decided_apart() {
        let cpu = probe(20.0, &[1.0]);
        let gpu = Probe {
            ms: 30.0,
            train_step_ms: Some(100.0),
            logits: vec![1.0],
        };
        let verdict = judge("iGPU", false, &cpu, Contender::Probed(&gpu), NONE, NOW);
        assert_eq!(verdict.winner, BackendKind::Cpu);
        assert_eq!(verdict.trainer, BackendKind::WebGpu);
        // WebGPU still trains: the next visit measures again.
        assert!(!verdict.settles(NOW + 1.0));
        let knob = Preference {
            webgpu_answers: false,
            webgpu_trains: true,
        };
        let slow = probe(1700.0, &[1.0]);
        let verdict = judge("S", true, &cpu, Contender::Probed(&slow), knob, NOW);
        assert_eq!(
            (verdict.winner, verdict.trainer),
            (BackendKind::Cpu, BackendKind::WebGpu)
        );
        // Both knobs: an agreeing slow GPU does everything.
        let verdict = judge("S", true, &cpu, Contender::Probed(&slow), BOTH, NOW);
        assert_eq!(
            (verdict.winner, verdict.trainer),
            (BackendKind::WebGpu, BackendKind::WebGpu)
        );
    }

    #[test]
    fn training_is_timed_only_where_the_gpu_is_not_hopeless() {
        let cpu = probe(40.0, &[1.0]);
        let close = probe(100.0, &[1.0]);
        let software = probe(1700.0, &[1.0]);
        assert!(worth_timing_training(&cpu, &close, NONE));
        assert!(!worth_timing_training(&cpu, &software, NONE));
        assert!(worth_timing_training(&cpu, &software, BOTH));
        // Untimed: training stays with the engine that answers, and nothing is shown of it.
        let untimed = Probe {
            train_step_ms: None,
            ..software.clone()
        };
        let verdict = judge("S", true, &cpu, Contender::Probed(&untimed), NONE, NOW);
        assert_eq!(
            (verdict.winner, verdict.trainer),
            (BackendKind::Cpu, BackendKind::Cpu)
        );
        assert_eq!(verdict.training_line(), None);
        assert!(verdict.settles(NOW + 1.0));
    }

    #[test]
    fn a_gpu_about_as_fast_as_the_cpu_is_passed_over() {
        let cpu = probe(50.0, &[1.0, 2.0]);
        let verdict = judge(
            "Intel UHD",
            false,
            &cpu,
            Contender::Probed(&probe(47.0, &[1.0, 2.0])),
            NONE,
            NOW,
        );
        assert_eq!(verdict.winner, BackendKind::Cpu);
        assert_eq!(verdict.trainer, BackendKind::Cpu);
        assert!(
            verdict
                .reason
                .unwrap()
                .contains("CPU is faster than this GPU")
        );
        let software = judge(
            "Google SwiftShader",
            true,
            &cpu,
            Contender::Probed(&probe(1735.0, &[1.0, 2.0])),
            NONE,
            NOW,
        );
        assert_eq!(software.winner, BackendKind::Cpu);
        assert_eq!(
            software.line(),
            "WebGPU (Google SwiftShader, software): 1735 ms, CPU: 50.0 ms"
        );
        assert!(software.reason.unwrap().contains("software adapter"));
    }

    #[test]
    fn a_gpu_with_other_numbers_is_refused_however_fast_and_whatever_is_preferred() {
        let cpu = probe(45.0, &[1.0, -2.0, 3.0]);
        let wrong = probe(1.0, &[3.0, -2.0, 1.0]);
        let verdict = judge(
            "Bad Driver",
            false,
            &cpu,
            Contender::Probed(&wrong),
            BOTH,
            NOW,
        );
        assert_eq!(
            (verdict.winner, verdict.trainer),
            (BackendKind::Cpu, BackendKind::Cpu)
        );
        assert_eq!(verdict.webgpu_ms, Some(1.0));
        let reason = verdict.reason.unwrap();
        assert!(
            reason.contains("differ from the CPU's (by up to 2.000)"),
            "{reason}"
        );
        // Logits that cannot be compared (NaN, another length) are refused too.
        for logits in [vec![1.0, f32::NAN, 3.0], vec![1.0, -2.0]] {
            let verdict = judge(
                "X",
                false,
                &cpu,
                Contender::Probed(&probe(1.0, &logits)),
                BOTH,
                NOW,
            );
            assert_eq!(verdict.winner, BackendKind::Cpu);
            assert!(verdict.reason.unwrap().contains("completely"));
        }
    }

    #[test]
    fn just_inside_the_tolerance_is_accepted_just_outside_is_not() {
        let cpu = probe(45.0, &[10.0]);
        let inside = probe(5.0, &[10.0 + LOGIT_TOLERANCE * 0.9]);
        let outside = probe(5.0, &[10.0 + LOGIT_TOLERANCE * 1.5]);
        assert_eq!(
            judge("A", false, &cpu, Contender::Probed(&inside), NONE, NOW).winner,
            BackendKind::WebGpu
        );
        assert_eq!(
            judge("A", false, &cpu, Contender::Probed(&outside), NONE, NOW).winner,
            BackendKind::Cpu
        );
    }

    #[test]
    fn a_failed_start_keeps_the_cpu_and_says_why() {
        let cpu = probe(45.0, &[1.0]);
        let verdict = judge(
            "A",
            false,
            &cpu,
            Contender::Failed("device lost"),
            BOTH,
            NOW,
        );
        assert_eq!(
            (verdict.winner, verdict.trainer),
            (BackendKind::Cpu, BackendKind::Cpu)
        );
        assert_eq!(verdict.webgpu_ms, None);
        assert_eq!(
            verdict.reason.as_deref(),
            Some("WebGPU could not be used: device lost")
        );
        assert_eq!(verdict.line(), "WebGPU (A): failed, CPU: 45.0 ms");
        assert_eq!(verdict.training_line(), None);
    }

    #[test]
    fn only_a_recent_all_cpu_verdict_settles_the_choice() {
        let cpu = probe(45.0, &[1.0]);
        let passed_over = judge(
            "S",
            true,
            &cpu,
            Contender::Probed(&probe(900.0, &[1.0])),
            NONE,
            NOW,
        );
        assert!(passed_over.settles(NOW + 86_400_000.0));
        assert!(!passed_over.settles(NOW + 31.0 * 86_400_000.0));
        // A clock set back is not trusted either.
        assert!(!passed_over.settles(NOW - 1.0));
        let won = judge(
            "G",
            false,
            &cpu,
            Contender::Probed(&probe(5.0, &[1.0])),
            NONE,
            NOW,
        );
        assert!(!won.settles(NOW + 1.0));
    }

    #[test]
    fn verdicts_round_trip_by_adapter_and_garbage_reads_as_none() {
        let cpu = probe(45.0, &[1.0]);
        let mut verdicts = Verdicts::default();
        verdicts.insert(judge("S", true, &cpu, Contender::Failed("x"), NONE, NOW));
        verdicts.insert(judge(
            "G",
            false,
            &cpu,
            Contender::Probed(&probe(5.0, &[1.0])),
            NONE,
            NOW,
        ));
        let again = Verdicts::parse(Some(&verdicts.to_json()));
        assert_eq!(again, verdicts);
        assert_eq!(again.get("G").unwrap().winner, BackendKind::WebGpu);
        assert!(again.get("other").is_none());
        assert_eq!(Verdicts::parse(Some("{not json")), Verdicts::default());
        assert_eq!(Verdicts::parse(None), Verdicts::default());
    }

    #[test]
    fn the_probe_input_is_busy_and_in_range() {
        let pixels = probe_pixels();
        assert_eq!(pixels.len(), 3 * 224 * 224);
        assert!(pixels.iter().all(|p| (-1.0..=1.0).contains(p)));
        let mean = pixels.iter().sum::<f32>() / pixels.len() as f32;
        let spread = pixels.iter().map(|p| (p - mean).powi(2)).sum::<f32>() / pixels.len() as f32;
        assert!(spread > 0.1, "the probe must not be nearly flat: {spread}");
        assert_eq!(pixels, probe_pixels());
        let photo = probe_photo();
        assert_eq!(photo.dimensions(), (224, 224));
        // The photo is the same waves: its first pixel maps back to the first values.
        let back = f32::from(photo.get_pixel(0, 0)[0]) / 127.5 - 1.0;
        assert!((back - pixels[0]).abs() < 0.01);
    }

    #[test]
    fn median_of_odd_even_and_none() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
