//! "None of your classes": whether a photo looks like any of the person's classes at all. A
//! softmax head answers one of its classes for every photo, a cat shown to a brick/grass/gravel
//! model included; the embedding says more. A photo's score is its cosine similarity to the
//! nearest of the model's prototypes (clean embeddings of training photos, L2-normalised): the
//! nearest-neighbour rule of Sun et al. 2022, "Out-of-Distribution Detection with Deep Nearest
//! Neighbors", which needs no training and no assumption about the classes' shapes.
//!
//! The threshold is set on photos compared with prototypes other than themselves (each photo
//! against the others, as the backbone's embedding learns nothing from them; the held-out ones
//! when the last blocks were tuned) so that a stated share of the person's own photos pass:
//! how many strangers pass then depends on how unlike the classes they are, which is the part a
//! person can read in the report.

use serde::{Deserialize, Serialize};

/// The share of the person's own held-out photos the threshold lets through.
pub const KNOWN_SHARE: f64 = 0.95;
/// Prototypes kept per class: enough neighbours for the rule (Sun et al. keep far fewer than a
/// class's photos with little loss) while a 10-class model's prototypes stay near 2.5 MB.
pub const PROTOTYPES_PER_CLASS: usize = 50;

/// Unit-length copies of some embeddings, one per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Prototypes {
    pub rows: Vec<Vec<f32>>,
}

/// `v` scaled to unit length (left as it is when it is all zeros).
pub fn unit(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        return v.to_vec();
    }
    v.iter().map(|x| x / norm).collect()
}

impl Prototypes {
    /// Unit-length copies of `embeddings`, rounded to f16: they are kept with the model, where
    /// f16 halves their size (a cosine similarity moves by about 1e-3), and the model answers
    /// with the same values before it is kept and after it is loaded.
    pub fn new(embeddings: &[Vec<f32>]) -> Self {
        let to_f16 = |v: f32| half::f16::from_f32(v).to_f32();
        Self {
            rows: embeddings
                .iter()
                .map(|e| unit(e).into_iter().map(to_f16).collect())
                .collect(),
        }
    }

    /// Prototypes as a kept model holds them (already unit length).
    pub fn kept(rows: Vec<Vec<f32>>) -> Self {
        Self { rows }
    }

    /// Cosine similarity of `embedding` to its nearest prototype, leaving out row `skip` (the
    /// photo itself, when it is one of them); -1 when there is no other.
    pub fn similarity(&self, embedding: &[f32], skip: Option<usize>) -> f32 {
        let e = unit(embedding);
        self.rows
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .map(|(_, row)| row.iter().zip(&e).map(|(a, b)| a * b).sum::<f32>())
            .fold(-1.0, f32::max)
    }
}

/// The similarity below which only `1 - share` of `scores` fall: the lowest score among the
/// highest `ceil(share * n)`.
pub fn threshold_for(scores: &[f32], share: f64) -> f32 {
    if scores.is_empty() {
        return -1.0;
    }
    let mut sorted = scores.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let keep = ((share * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[keep - 1]
}

/// How the "one of your classes" threshold was set, for the model and the training report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KnownRule {
    /// A photo is one of the person's classes when its similarity is at least this.
    pub threshold: f32,
    /// The share of the person's photos it was set to let through.
    pub share: f64,
    /// Photos it was set on (each compared with prototypes other than itself), and how many of
    /// them pass.
    pub photos: usize,
    pub passed: usize,
    /// Training photos kept as prototypes.
    pub prototypes: usize,
}

impl KnownRule {
    /// Sets the threshold on the similarities of photos to prototypes other than themselves.
    pub fn set(scores: &[f32], share: f64, prototypes: usize) -> Self {
        let threshold = threshold_for(scores, share);
        Self {
            threshold,
            share,
            photos: scores.len(),
            passed: scores.iter().filter(|&&s| s >= threshold).count(),
            prototypes,
        }
    }
}

/// What the model thinks of one photo: its similarity and the threshold it is held to.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Familiarity {
    pub similarity: f32,
    pub threshold: f32,
}

impl Familiarity {
    /// Whether the photo looks like one of the person's classes.
    pub fn known(&self) -> bool {
        self.similarity >= self.threshold
    }
}

/// Which of `photos` (indices into a class list) to keep as prototypes: every photo of a class
/// with at most `per_class`, else `per_class` of them spread evenly over the class's photos.
pub fn pick_prototypes(labels: &[usize], classes: usize, per_class: usize) -> Vec<usize> {
    let mut picked = Vec::new();
    for class in 0..classes {
        let members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        let step = members.len() as f64 / per_class.max(1) as f64;
        if members.len() <= per_class {
            picked.extend(members);
        } else {
            picked.extend((0..per_class).map(|k| members[(k as f64 * step) as usize]));
        }
    }
    picked.sort_unstable();
    picked
}

/// Area under the ROC curve of telling `known` scores from `unknown` ones (higher = known): the
/// chance that a random known photo scores above a random stranger, ties counted half.
pub fn separation_auc(known: &[f32], unknown: &[f32]) -> f64 {
    if known.is_empty() || unknown.is_empty() {
        return 0.5;
    }
    let wins: f64 = known
        .iter()
        .map(|k| {
            unknown
                .iter()
                .map(|u| match k.total_cmp(u) {
                    std::cmp::Ordering::Greater => 1.0,
                    std::cmp::Ordering::Equal => 0.5,
                    std::cmp::Ordering::Less => 0.0,
                })
                .sum::<f64>()
        })
        .sum();
    wins / (known.len() * unknown.len()) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_prototype_decides_and_the_photo_itself_is_left_out() {
        let prototypes = Prototypes::new(&[vec![2.0, 0.0], vec![0.0, 3.0]]);
        assert!((prototypes.similarity(&[1.0, 0.0], None) - 1.0).abs() < 1e-6);
        // Without itself, row 0's nearest is row 1: orthogonal.
        assert!(prototypes.similarity(&[2.0, 0.0], Some(0)).abs() < 1e-6);
        let diagonal = prototypes.similarity(&[1.0, 1.0], None);
        assert!((diagonal - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(Prototypes::new(&[]).similarity(&[1.0, 0.0], None), -1.0);
    }

    #[test]
    fn the_threshold_lets_the_stated_share_through() {
        let scores: Vec<f32> = (1..=100).map(|i| i as f32 / 100.0).collect();
        let rule = KnownRule::set(&scores, 0.95, 10);
        assert_eq!(rule.threshold, 0.06);
        assert_eq!((rule.photos, rule.passed), (100, 95));
        // With a handful of photos, every one of them passes.
        let few = KnownRule::set(&[0.9, 0.7, 0.8], 0.95, 3);
        assert_eq!((few.threshold, few.passed), (0.7, 3));
        assert_eq!(threshold_for(&[], 0.95), -1.0);
    }

    #[test]
    fn familiarity_is_known_at_the_threshold_and_above() {
        let at = Familiarity {
            similarity: 0.5,
            threshold: 0.5,
        };
        assert!(at.known());
        assert!(
            !Familiarity {
                similarity: 0.49,
                ..at
            }
            .known()
        );
    }

    #[test]
    fn prototypes_spread_over_a_large_class_and_keep_a_small_one_whole() {
        let labels: Vec<usize> = (0..10).map(|i| if i < 8 { 0 } else { 1 }).collect();
        assert_eq!(pick_prototypes(&labels, 2, 4), vec![0, 2, 4, 6, 8, 9]);
        assert_eq!(pick_prototypes(&labels, 2, 50).len(), 10);
    }

    #[test]
    fn separation_auc_counts_pairs_in_order() {
        assert_eq!(separation_auc(&[0.9, 0.8], &[0.1, 0.2]), 1.0);
        assert_eq!(separation_auc(&[0.1], &[0.9]), 0.0);
        assert_eq!(separation_auc(&[0.5, 0.9], &[0.5]), 0.75);
    }
}
