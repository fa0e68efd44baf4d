//! Confidence that means what it says: temperature scaling (Guo et al. 2017, "On Calibration of
//! Modern Neural Networks") fitted on a model's held-out logits, and the expected calibration
//! error and reliability diagram that show whether "90% sure" comes true nine times in ten.
//!
//! One temperature divides every logit: the ranking of the classes (and so the accuracy) stays as
//! it is, only how sure the model says it is changes. It is fitted by the held-out negative
//! log-likelihood with a standard normal prior on ln T (a MAP estimate): on the tens of photos a
//! person holds out, often all classified right, the likelihood alone keeps growing as T shrinks
//! and would make every answer "100%"; the prior is outweighed as soon as there are photos enough
//! to say otherwise. A golden-section search over a bracket finds the minimum.
//! The "after" figures a person reads are cross-fitted (each half of the held-out photos scored
//! with the temperature fitted on the other half): fitted and judged on the same photos, the
//! improvement would flatter itself.

use serde::{Deserialize, Serialize};

/// Equal-width confidence bins of the reliability diagram and the ECE (Guo et al. use 15; ten
/// suits the tens of photos a person holds out).
pub const BINS: usize = 10;
/// The temperatures searched: ten times sharper or blunter is beyond what a head trained on
/// cached embeddings ever needs.
const TEMPERATURES: (f64, f64) = (0.1, 10.0);

/// Class probabilities of one photo's logits at a temperature.
pub fn softmax(logits: &[f32], temperature: f64) -> Vec<f32> {
    let scaled: Vec<f64> = logits.iter().map(|&z| f64::from(z) / temperature).collect();
    let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scaled.iter().map(|z| (z - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

/// Mean negative log-likelihood of the true classes at a temperature.
fn mean_nll(logits: &[Vec<f32>], labels: &[usize], temperature: f64) -> f64 {
    let total: f64 = logits
        .iter()
        .zip(labels)
        .map(|(row, &label)| {
            let scaled: Vec<f64> = row.iter().map(|&z| f64::from(z) / temperature).collect();
            let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let log_sum = max + scaled.iter().map(|z| (z - max).exp()).sum::<f64>().ln();
            log_sum - scaled[label]
        })
        .sum();
    total / logits.len().max(1) as f64
}

/// The most probable temperature given `logits` and their `labels` (1 when there are none).
pub fn fit_temperature(logits: &[Vec<f32>], labels: &[usize]) -> f64 {
    if logits.is_empty() {
        return 1.0;
    }
    let n = logits.len() as f64;
    // Golden-section search on ln T: the summed NLL is convex in 1/T and the prior in ln T, and
    // their sum has one minimum in the bracket.
    let nll = |ln_t: f64| n * mean_nll(logits, labels, ln_t.exp()) + ln_t * ln_t / 2.0;
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut a, mut b) = (TEMPERATURES.0.ln(), TEMPERATURES.1.ln());
    let mut c = b - ratio * (b - a);
    let mut d = a + ratio * (b - a);
    let (mut fc, mut fd) = (nll(c), nll(d));
    for _ in 0..60 {
        if fc < fd {
            (b, d, fd) = (d, c, fc);
            c = b - ratio * (b - a);
            fc = nll(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + ratio * (b - a);
            fd = nll(d);
        }
    }
    ((a + b) / 2.0).exp()
}

/// One confidence bin of a reliability diagram: the photos whose top probability fell in
/// `low..high`, how sure the model was of them on average, and how often it was right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub low: f64,
    pub high: f64,
    pub photos: usize,
    /// Mean top probability (0 when the bin is empty).
    pub confidence: f64,
    /// Share of them whose top class was right (0 when the bin is empty).
    pub accuracy: f64,
}

/// The reliability diagram of some photos' probabilities: `BINS` equal-width bins of the top
/// probability.
pub fn reliability(probabilities: &[Vec<f32>], labels: &[usize]) -> Vec<ReliabilityBin> {
    let mut sums = [(0usize, 0.0f64, 0usize); BINS];
    for (row, &label) in probabilities.iter().zip(labels) {
        let (class, p) = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or((0, 0.0), |(c, &p)| (c, p));
        // Binned in f32, the probabilities' own precision: 0.9f32 widened to f64 is below 0.9.
        // A confidence of exactly 1 belongs to the last bin.
        let bin = ((p * BINS as f32).floor() as usize).min(BINS - 1);
        sums[bin].0 += 1;
        sums[bin].1 += f64::from(p);
        sums[bin].2 += usize::from(class == label);
    }
    sums.iter()
        .enumerate()
        .map(|(b, &(photos, confidence, right))| ReliabilityBin {
            low: b as f64 / BINS as f64,
            high: (b + 1) as f64 / BINS as f64,
            photos,
            confidence: if photos == 0 {
                0.0
            } else {
                confidence / photos as f64
            },
            accuracy: if photos == 0 {
                0.0
            } else {
                right as f64 / photos as f64
            },
        })
        .collect()
}

/// Expected calibration error: the photo-weighted mean gap between confidence and accuracy over
/// the bins (0 = says exactly how often it is right).
pub fn expected_calibration_error(bins: &[ReliabilityBin]) -> f64 {
    let total: usize = bins.iter().map(|b| b.photos).sum();
    if total == 0 {
        return 0.0;
    }
    bins.iter()
        .map(|b| b.photos as f64 / total as f64 * (b.confidence - b.accuracy).abs())
        .sum()
}

/// How the personal model's confidence was calibrated, for the training report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The temperature the model's logits are divided by (1 = unchanged).
    pub temperature: f64,
    /// On the held-out photos before scaling.
    pub before: Vec<ReliabilityBin>,
    pub ece_before: f64,
    /// On the held-out photos after scaling, each half with the temperature fitted on the other.
    pub after: Vec<ReliabilityBin>,
    pub ece_after: f64,
    /// Held-out photos it was fitted on.
    pub photos: usize,
}

impl Calibration {
    /// Fits a temperature on held-out logits and measures what it does.
    pub fn fit(logits: &[Vec<f32>], labels: &[usize]) -> Self {
        let probabilities = |rows: &[Vec<f32>], t: f64| -> Vec<Vec<f32>> {
            rows.iter().map(|row| softmax(row, t)).collect()
        };
        let before = reliability(&probabilities(logits, 1.0), labels);
        // Alternate photos make the halves, so a hold-out listed class by class splits evenly.
        let half = |parity: usize| -> (Vec<Vec<f32>>, Vec<usize>) {
            logits
                .iter()
                .zip(labels)
                .enumerate()
                .filter(|(i, _)| i % 2 == parity)
                .map(|(_, (row, &label))| (row.clone(), label))
                .unzip()
        };
        let halves = [half(0), half(1)];
        let crossed: Vec<f64> = halves
            .iter()
            .map(|(rows, labels)| fit_temperature(rows, labels))
            .collect();
        let cross_fitted: Vec<Vec<f32>> = logits
            .iter()
            .enumerate()
            .map(|(i, row)| softmax(row, crossed[1 - i % 2]))
            .collect();
        let after = reliability(&cross_fitted, labels);
        Self {
            temperature: fit_temperature(logits, labels),
            ece_before: expected_calibration_error(&before),
            ece_after: expected_calibration_error(&after),
            before,
            after,
            photos: logits.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pseudo-random numbers in 0..1 (SplitMix64), so the tests need no crate.
    struct Draws(u64);

    impl Draws {
        fn unit(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Photos of 3 classes whose true logits are `truth`-calibrated, as a model `sharpness` times
    /// too sure reports them: the labels are drawn from softmax(true logits).
    fn overconfident(photos: usize, sharpness: f32, seed: u64) -> (Vec<Vec<f32>>, Vec<usize>) {
        let mut draws = Draws(seed);
        (0..photos)
            .map(|_| {
                let truth: Vec<f32> = (0..3).map(|_| (draws.unit() * 3.0) as f32).collect();
                let p = softmax(&truth, 1.0);
                let u = draws.unit() as f32;
                let label = if u < p[0] {
                    0
                } else if u < p[0] + p[1] {
                    1
                } else {
                    2
                };
                (truth.iter().map(|z| z * sharpness).collect(), label)
            })
            .unzip()
    }

    #[test]
    fn the_fitted_temperature_undoes_an_overconfident_model() {
        let (logits, labels) = overconfident(4000, 3.0, 7);
        let t = fit_temperature(&logits, &labels);
        assert!((t - 3.0).abs() < 0.3, "fitted {t}, made 3x too sure");
    }

    #[test]
    fn scaling_lowers_the_calibration_error_on_photos_it_was_not_fitted_on() {
        let (logits, labels) = overconfident(600, 4.0, 11);
        let calibration = Calibration::fit(&logits, &labels);
        assert!(calibration.temperature > 2.0, "{}", calibration.temperature);
        assert!(
            calibration.ece_before > 0.15,
            "too sure before: {}",
            calibration.ece_before
        );
        assert!(
            calibration.ece_after < calibration.ece_before / 2.0,
            "{} -> {}",
            calibration.ece_before,
            calibration.ece_after
        );
        assert_eq!(calibration.before.len(), BINS);
        let counted: usize = calibration.after.iter().map(|b| b.photos).sum();
        assert_eq!(counted, 600);
    }

    #[test]
    fn a_calibrated_model_keeps_a_temperature_near_one() {
        let (logits, labels) = overconfident(4000, 1.0, 3);
        let t = fit_temperature(&logits, &labels);
        assert!((t - 1.0).abs() < 0.15, "{t}");
    }

    #[test]
    fn ece_is_the_weighted_gap_between_confidence_and_accuracy() {
        // Two photos at 0.9, one right and one wrong: a gap of 0.4 in one bin.
        let probabilities = vec![vec![0.9, 0.1], vec![0.9, 0.1]];
        let bins = reliability(&probabilities, &[0, 1]);
        let full: Vec<&ReliabilityBin> = bins.iter().filter(|b| b.photos > 0).collect();
        assert_eq!(full.len(), 1);
        assert_eq!((full[0].low, full[0].photos), (0.9, 2));
        assert!((full[0].accuracy - 0.5).abs() < 1e-12);
        assert!((expected_calibration_error(&bins) - 0.4).abs() < 1e-6);
        // Exactly 1 falls in the last bin.
        let sure = reliability(&[vec![1.0, 0.0]], &[0]);
        assert_eq!(sure[BINS - 1].photos, 1);
    }

    #[test]
    fn scaling_never_changes_which_class_wins() {
        let logits = [2.0, -1.0, 0.5];
        for t in [0.1, 0.7, 1.0, 3.0, 10.0] {
            let p = softmax(&logits, t);
            assert!(p[0] > p[2] && p[2] > p[1], "{t}: {p:?}");
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn a_few_photos_all_right_do_not_make_the_model_sure_of_everything() {
        // Six held-out photos, each right at 99%: the likelihood alone would sharpen to T = 0.1.
        let logits: Vec<Vec<f32>> = (0..6)
            .map(|i| {
                if i % 2 == 0 {
                    vec![5.0, 0.0]
                } else {
                    vec![0.0, 5.0]
                }
            })
            .collect();
        let labels: Vec<usize> = (0..6).map(|i| i % 2).collect();
        let t = fit_temperature(&logits, &labels);
        assert!((0.8..=1.0).contains(&t), "{t}");
        assert_eq!(fit_temperature(&[], &[]), 1.0);
    }
}
