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

/// One engine's answer to the probe input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Median of the timed forward passes (upload, network, logits read back), in milliseconds.
    pub ms: f64,
    /// The ImageNet logits of the probe input.
    pub logits: Vec<f32>,
}

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
    pub winner: BackendKind,
    pub cpu_ms: f64,
    /// None when WebGPU failed before it could be timed.
    pub webgpu_ms: Option<f64>,
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

/// The race's decision. The logits are checked first: a GPU that computes other numbers is
/// never used, however fast. `prefer_webgpu` makes WebGPU win on speed whatever the times (a
/// test's knob, to reach the switch on a software adapter); it never overrides the check.
pub fn judge(
    adapter: &str,
    software: bool,
    cpu: &Probe,
    contender: Contender<'_>,
    prefer_webgpu: bool,
    now_ms: f64,
) -> Verdict {
    let (winner, webgpu_ms, reason) = match contender {
        Contender::Failed(message) => (
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
                (
                    BackendKind::Cpu,
                    Some(gpu.ms),
                    Some(format!(
                        "WebGPU's answers differ from the CPU's ({by}), so this GPU is not used"
                    )),
                )
            } else if prefer_webgpu || gpu.ms <= cpu.ms * FASTER_BY {
                (BackendKind::WebGpu, Some(gpu.ms), None)
            } else {
                let kind = if software { "software adapter" } else { "GPU" };
                (
                    BackendKind::Cpu,
                    Some(gpu.ms),
                    Some(format!(
                        "the CPU is faster than this {kind}, so it is passed over"
                    )),
                )
            }
        }
    };
    Verdict {
        adapter: adapter.to_string(),
        software,
        winner,
        cpu_ms: cpu.ms,
        webgpu_ms,
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

    /// Whether it should be trusted without measuring again at `now_ms`. Only a CPU verdict is
    /// kept: where WebGPU won, the page checks it again on every visit (the CPU engine answers
    /// first anyway, and the check catches a driver update that breaks its numbers).
    pub fn settles(&self, now_ms: f64) -> bool {
        self.winner == BackendKind::Cpu
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
            logits: logits.to_vec(),
        }
    }

    const NOW: f64 = 1_764_547_200_000.0;

    #[test]
    fn a_faster_gpu_that_agrees_wins() {
        let cpu = probe(45.0, &[1.0, -2.0, 3.0]);
        let gpu = probe(6.0, &[1.0005, -2.0, 2.999]);
        let verdict = judge("Intel Xe", false, &cpu, Contender::Probed(&gpu), false, NOW);
        assert_eq!(verdict.winner, BackendKind::WebGpu);
        assert_eq!(verdict.reason, None);
        assert_eq!(verdict.line(), "WebGPU (Intel Xe): 6.0 ms, CPU: 45.0 ms");
    }

    #[test]
    fn a_gpu_about_as_fast_as_the_cpu_is_passed_over() {
        let cpu = probe(50.0, &[1.0, 2.0]);
        let verdict = judge(
            "Intel UHD",
            false,
            &cpu,
            Contender::Probed(&probe(47.0, &[1.0, 2.0])),
            false,
            NOW,
        );
        assert_eq!(verdict.winner, BackendKind::Cpu);
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
            false,
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
            true,
            NOW,
        );
        assert_eq!(verdict.winner, BackendKind::Cpu);
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
                true,
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
            judge("A", false, &cpu, Contender::Probed(&inside), false, NOW).winner,
            BackendKind::WebGpu
        );
        assert_eq!(
            judge("A", false, &cpu, Contender::Probed(&outside), false, NOW).winner,
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
            true,
            NOW,
        );
        assert_eq!(verdict.winner, BackendKind::Cpu);
        assert_eq!(verdict.webgpu_ms, None);
        assert_eq!(
            verdict.reason.as_deref(),
            Some("WebGPU could not be used: device lost")
        );
        assert_eq!(verdict.line(), "WebGPU (A): failed, CPU: 45.0 ms");
    }

    #[test]
    fn the_preference_knob_makes_an_agreeing_slow_gpu_win() {
        let cpu = probe(45.0, &[1.0]);
        let slow = probe(1700.0, &[1.0]);
        let verdict = judge("S", true, &cpu, Contender::Probed(&slow), true, NOW);
        assert_eq!(verdict.winner, BackendKind::WebGpu);
    }

    #[test]
    fn only_a_recent_cpu_verdict_settles_the_choice() {
        let cpu = probe(45.0, &[1.0]);
        let passed_over = judge(
            "S",
            true,
            &cpu,
            Contender::Probed(&probe(900.0, &[1.0])),
            false,
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
            false,
            NOW,
        );
        assert!(!won.settles(NOW + 1.0));
    }

    #[test]
    fn verdicts_round_trip_by_adapter_and_garbage_reads_as_none() {
        let cpu = probe(45.0, &[1.0]);
        let mut verdicts = Verdicts::default();
        verdicts.insert(judge("S", true, &cpu, Contender::Failed("x"), false, NOW));
        verdicts.insert(judge(
            "G",
            false,
            &cpu,
            Contender::Probed(&probe(5.0, &[1.0])),
            false,
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
    }

    #[test]
    fn median_of_odd_even_and_none() {
        assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
