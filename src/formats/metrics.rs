//! How good a classifier is on held-out photos: accuracy, a confusion matrix, per-class
//! precision / recall / F1 and one-vs-rest ROC curves with their AUC. Plain numbers in, plain
//! numbers out, so the page, the export and the tests share one definition.

use serde::{Deserialize, Serialize};

use super::interval::{Interval, wilson};

/// `counts[actual][predicted]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusionMatrix {
    pub counts: Vec<Vec<u32>>,
}

impl ConfusionMatrix {
    pub fn new(classes: usize, actual: &[usize], predicted: &[usize]) -> Self {
        let mut counts = vec![vec![0; classes]; classes];
        for (&a, &p) in actual.iter().zip(predicted) {
            counts[a][p] += 1;
        }
        Self { counts }
    }

    pub fn total(&self) -> u32 {
        self.counts.iter().flatten().sum()
    }

    /// Photos predicted as their own class.
    pub fn correct(&self) -> u32 {
        (0..self.counts.len()).map(|i| self.counts[i][i]).sum()
    }

    pub fn accuracy(&self) -> f64 {
        ratio(f64::from(self.correct()), f64::from(self.total()))
    }

    /// The counts behind a class's precision (`hits` of `predicted`) and recall (`hits` of
    /// `actual`).
    pub fn class_counts(&self, class: usize) -> ClassCounts {
        ClassCounts {
            hits: self.counts[class][class],
            predicted: self.counts.iter().map(|row| row[class]).sum(),
            actual: self.counts[class].iter().sum(),
        }
    }

    /// Precision, recall and F1 of each class (0 where undefined: no photo predicted or present).
    pub fn per_class(&self) -> Vec<ClassScores> {
        let k = self.counts.len();
        (0..k)
            .map(|c| {
                let counts = self.class_counts(c);
                let tp = f64::from(counts.hits);
                let precision = ratio(tp, f64::from(counts.predicted));
                let recall = ratio(tp, f64::from(counts.actual));
                let f1 = ratio(2.0 * precision * recall, precision + recall);
                ClassScores {
                    precision,
                    recall,
                    f1,
                    support: counts.actual,
                }
            })
            .collect()
    }
}

/// One class's held-out photos: predicted as it and right (`hits`), predicted as it, and of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassCounts {
    pub hits: u32,
    pub predicted: u32,
    pub actual: u32,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassScores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Held-out photos of this class.
    pub support: u32,
}

/// One-vs-rest ROC curve of a class: (false positive rate, true positive rate) points from the
/// strictest threshold to the loosest, and the area under it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RocCurve {
    pub points: Vec<(f64, f64)>,
    pub auc: f64,
}

/// ROC of "is `class`" scored by `scores[i][class]`; ties are stepped through together, so the
/// AUC equals the probability that a positive outscores a negative (ties count half).
pub fn roc_curve(scores: &[Vec<f32>], actual: &[usize], class: usize) -> RocCurve {
    let mut ranked: Vec<(f32, bool)> = scores
        .iter()
        .zip(actual)
        .map(|(s, &a)| (s[class], a == class))
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = ranked.iter().filter(|(_, p)| *p).count() as f64;
    let negatives = ranked.len() as f64 - positives;
    let mut points = vec![(0.0, 0.0)];
    let (mut tp, mut fp, mut auc) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < ranked.len() {
        let (mut step_tp, mut step_fp) = (0.0, 0.0);
        let threshold = ranked[i].0;
        while i < ranked.len() && ranked[i].0 == threshold {
            if ranked[i].1 {
                step_tp += 1.0
            } else {
                step_fp += 1.0
            }
            i += 1;
        }
        // Trapezoid over this step: a tie block moves diagonally.
        auc += step_fp * (tp + step_tp / 2.0);
        tp += step_tp;
        fp += step_fp;
        points.push((ratio(fp, negatives), ratio(tp, positives)));
    }
    let auc = if positives > 0.0 && negatives > 0.0 {
        auc / (positives * negatives)
    } else {
        0.0
    };
    RocCurve { points, auc }
}

/// Everything the page shows after training, from the held-out predictions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub accuracy: f64,
    pub confusion: ConfusionMatrix,
    pub per_class: Vec<ClassScores>,
    pub roc: Vec<RocCurve>,
}

impl Evaluation {
    /// The held-out accuracy's 95% interval (Wilson): how far the accuracy on photos like these
    /// could be from what this handful of held-out photos gave.
    pub fn accuracy_interval(&self) -> Interval {
        wilson(self.confusion.correct(), self.confusion.total())
    }
}

/// Evaluates class probabilities `scores` (one row per photo) against the true classes.
pub fn evaluate(scores: &[Vec<f32>], actual: &[usize], classes: usize) -> Evaluation {
    let predicted: Vec<usize> = scores
        .iter()
        .map(|s| {
            s.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        })
        .collect();
    let confusion = ConfusionMatrix::new(classes, actual, &predicted);
    Evaluation {
        accuracy: confusion.accuracy(),
        per_class: confusion.per_class(),
        roc: (0..classes).map(|c| roc_curve(scores, actual, c)).collect(),
        confusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_precision_recall_f1_by_hand() {
        // actual:    0 0 0 1 1 2
        // predicted: 0 0 1 1 2 2
        let m = ConfusionMatrix::new(3, &[0, 0, 0, 1, 1, 2], &[0, 0, 1, 1, 2, 2]);
        assert_eq!(m.counts, vec![vec![2, 1, 0], vec![0, 1, 1], vec![0, 0, 1]]);
        assert!((m.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        let s = m.per_class();
        // class 0: tp 2, predicted 2, actual 3
        assert!((s[0].precision - 1.0).abs() < 1e-12);
        assert!((s[0].recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((s[0].f1 - 0.8).abs() < 1e-12);
        // class 1: tp 1, predicted 2, actual 2 -> 0.5 / 0.5 / 0.5
        assert!((s[1].precision - 0.5).abs() < 1e-12 && (s[1].recall - 0.5).abs() < 1e-12);
        assert!((s[1].f1 - 0.5).abs() < 1e-12);
        // class 2: tp 1, predicted 2, actual 1 -> 0.5 / 1 / 2/3
        assert!((s[2].f1 - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(s[2].support, 1);
        let counts = m.class_counts(0);
        assert_eq!((counts.hits, counts.predicted, counts.actual), (2, 2, 3));
        assert_eq!(m.correct(), 4);
    }

    #[test]
    fn the_accuracy_interval_is_wilsons_over_the_held_out_photos() {
        let e = evaluate(
            &[
                vec![0.9, 0.1],
                vec![0.8, 0.2],
                vec![0.3, 0.7],
                vec![0.6, 0.4],
            ],
            &[0, 0, 1, 1],
            2,
        );
        assert_eq!(e.accuracy_interval(), wilson(3, 4));
    }

    #[test]
    fn undefined_scores_are_zero_not_nan() {
        let m = ConfusionMatrix::new(2, &[0, 0], &[0, 0]);
        let s = m.per_class();
        assert_eq!((s[1].precision, s[1].recall, s[1].f1), (0.0, 0.0, 0.0));
    }

    #[test]
    fn roc_auc_by_hand() {
        let row = |p: f32| vec![1.0 - p, p];
        // Perfect separation.
        let perfect = roc_curve(&[row(0.9), row(0.8), row(0.2), row(0.1)], &[1, 1, 0, 0], 1);
        assert!((perfect.auc - 1.0).abs() < 1e-12);
        assert_eq!(perfect.points.first(), Some(&(0.0, 0.0)));
        assert_eq!(perfect.points.last(), Some(&(1.0, 1.0)));
        // One swapped pair out of four positive-negative pairs: AUC 3/4.
        let swapped = roc_curve(&[row(0.9), row(0.3), row(0.5), row(0.1)], &[1, 1, 0, 0], 1);
        assert!((swapped.auc - 0.75).abs() < 1e-12);
        // All scores tied: chance.
        let tied = roc_curve(&[row(0.5), row(0.5), row(0.5), row(0.5)], &[1, 0, 1, 0], 1);
        assert!((tied.auc - 0.5).abs() < 1e-12);
    }

    #[test]
    fn evaluation_ties_it_together() {
        let scores = vec![vec![0.9, 0.1], vec![0.4, 0.6], vec![0.2, 0.8]];
        let e = evaluate(&scores, &[0, 0, 1], 2);
        assert!((e.accuracy - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(e.confusion.counts, vec![vec![1, 1], vec![0, 1]]);
        assert_eq!(e.roc.len(), 2);
        assert!((e.roc[1].auc - 1.0).abs() < 1e-12);
    }
}
