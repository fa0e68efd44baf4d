//! How sure a held-out accuracy is: the Wilson score interval of a proportion, and how many
//! held-out photos would make it narrow enough to go by.

/// The normal quantile of a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// A 95% interval around a proportion, both ends within 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn width(&self) -> f64 {
        self.high - self.low
    }

    pub fn contains(&self, p: f64) -> bool {
        (self.low..=self.high).contains(&p)
    }
}

/// The Wilson score interval of `successes` out of `trials` (all of 0..=1 when there are none):
/// unlike the textbook p ± 1.96·se it stays inside 0..=1 and keeps close to its stated coverage
/// at the handful of photos a person holds out, and at 0% or 100%.
pub fn wilson(successes: u32, trials: u32) -> Interval {
    if trials == 0 {
        return Interval {
            low: 0.0,
            high: 1.0,
        };
    }
    let n = f64::from(trials);
    let p = f64::from(successes.min(trials)) / n;
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    // At 0% and 100% an end is exactly 0 or 1; computed, it would be off by a rounding error.
    let successes = successes.min(trials);
    Interval {
        low: if successes == 0 {
            0.0
        } else {
            (centre - half).max(0.0)
        },
        high: if successes == trials {
            1.0
        } else {
            (centre + half).min(1.0)
        },
    }
}

/// The fewest trials at which an accuracy like `accuracy` would have a Wilson interval narrower
/// than `width` (capped at 100,000).
pub fn trials_for_width(accuracy: f64, width: f64) -> u32 {
    let accuracy = accuracy.clamp(0.0, 1.0);
    let narrow = |n: u32| wilson((accuracy * f64::from(n)).round() as u32, n).width() < width;
    // The width shrinks with n (up to rounding of the successes): find the first narrow n by
    // doubling, then bisect.
    let (mut low, mut high) = (1, 2);
    while !narrow(high) && high < 100_000 {
        (low, high) = (high, high * 2);
    }
    while low + 1 < high {
        let mid = (low + high) / 2;
        if narrow(mid) { high = mid } else { low = mid }
    }
    high.min(100_000)
}

/// Held-out photos per class that would make an accuracy like `accuracy` this sure (a 95%
/// interval narrower than `width`), when `held_out` of the `photos` were held out of training
/// (all of them under k-fold) across `classes` classes.
pub fn photos_per_class_for_width(
    accuracy: f64,
    width: f64,
    held_out: usize,
    photos: usize,
    classes: usize,
) -> usize {
    let trials = trials_for_width(accuracy, width) as usize;
    // Photos in all, of which the same share would be held out.
    let photos_needed = if held_out > 0 && held_out < photos {
        (trials * photos).div_ceil(held_out)
    } else {
        trials
    };
    photos_needed.div_ceil(classes.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook case: 8 of 10 is 49-94% (Wilson's own example values).
    #[test]
    fn eight_of_ten() {
        let i = wilson(8, 10);
        assert!(
            (i.low - 0.4902).abs() < 1e-3 && (i.high - 0.9433).abs() < 1e-3,
            "{i:?}"
        );
    }

    #[test]
    fn stays_within_zero_and_one_and_holds_the_estimate() {
        for n in 1..60 {
            for k in 0..=n {
                let i = wilson(k, n);
                let p = f64::from(k) / f64::from(n);
                assert!(
                    0.0 <= i.low && i.high <= 1.0 && i.contains(p),
                    "{k}/{n}: {i:?}"
                );
            }
        }
        assert_eq!(
            wilson(0, 0),
            Interval {
                low: 0.0,
                high: 1.0
            }
        );
    }

    /// Over 2,000 draws of held-out sets, the interval covers the true accuracy about 95% of
    /// the time (Wilson's coverage swings a little with n and p; 2,000 draws add about ±1%).
    #[test]
    fn covers_the_true_accuracy_95_percent_of_the_time() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for (truth, n) in [(0.75, 40), (0.9, 100), (0.6, 25)] {
            let draws = 2_000;
            let covered = (0..draws)
                .filter(|_| {
                    let k = (0..n).filter(|_| uniform() < truth).count() as u32;
                    wilson(k, n).contains(truth)
                })
                .count();
            let coverage = covered as f64 / f64::from(draws);
            assert!(
                (coverage - 0.95).abs() <= 0.02,
                "p {truth}, n {n}: {coverage}"
            );
        }
    }

    #[test]
    fn photos_per_class_count_only_the_held_out_share() {
        let trials = trials_for_width(0.75, 0.15) as usize;
        // A fifth held out of 3 classes: five times the trials, shared by the classes.
        let per_class = photos_per_class_for_width(0.75, 0.15, 12, 60, 3);
        assert_eq!(per_class, (trials * 5).div_ceil(3));
        // k-fold predicts every photo once: the trials themselves.
        assert_eq!(
            photos_per_class_for_width(0.75, 0.15, 30, 30, 3),
            trials.div_ceil(3)
        );
    }

    #[test]
    fn more_trials_narrow_the_interval_to_the_asked_width() {
        let n = trials_for_width(0.75, 0.15);
        assert!(wilson((0.75 * f64::from(n)).round() as u32, n).width() < 0.15);
        assert!(wilson((0.75 * f64::from(n - 1)).round() as u32, n - 1).width() >= 0.15);
        // About (2 · 1.96)² · p(1-p) / w² = 128 for the normal interval.
        assert!((120..=135).contains(&n), "{n}");
    }
}
