//! Which photos train and which are held out. Stratified (each class keeps its share in both
//! parts) and seeded, so a run is repeatable; classes with under 10 photos are evaluated with
//! stratified k-fold instead, since one held-out photo says little.

/// A small, seedable generator (SplitMix64): splits must be repeatable on every target.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Indices of training and validation photos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<usize>,
    pub validation: Vec<usize>,
}

/// Stratified split: about `validation_share` of each class is held out, at least one photo of a
/// class with two or more, never all of them.
pub fn stratified(labels: &[usize], classes: usize, validation_share: f64, seed: u64) -> Split {
    let mut rng = SplitMix64::new(seed);
    let (mut train, mut validation) = (Vec::new(), Vec::new());
    for class in 0..classes {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut members);
        let n = members.len();
        let held = if n < 2 {
            0
        } else {
            ((n as f64 * validation_share).round() as usize).clamp(1, n - 1)
        };
        validation.extend_from_slice(&members[..held]);
        train.extend_from_slice(&members[held..]);
    }
    train.sort_unstable();
    validation.sort_unstable();
    Split { train, validation }
}

/// Stratified k-fold: each photo is held out exactly once; class members are dealt round-robin
/// over the folds after a seeded shuffle.
pub fn stratified_k_fold(labels: &[usize], classes: usize, folds: usize, seed: u64) -> Vec<Split> {
    let folds = folds.max(2);
    let mut rng = SplitMix64::new(seed);
    let mut fold_of = vec![0; labels.len()];
    for class in 0..classes {
        let mut members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == class).collect();
        rng.shuffle(&mut members);
        for (j, &i) in members.iter().enumerate() {
            fold_of[i] = j % folds;
        }
    }
    (0..folds)
        .map(|f| Split {
            train: (0..labels.len()).filter(|&i| fold_of[i] != f).collect(),
            validation: (0..labels.len()).filter(|&i| fold_of[i] == f).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(indices: &[usize], labels: &[usize], class: usize) -> usize {
        indices.iter().filter(|&&i| labels[i] == class).count()
    }

    #[test]
    fn split_is_stratified_disjoint_and_repeatable() {
        let labels: Vec<usize> = (0..30).map(|i| if i < 20 { 0 } else { 1 }).collect();
        let split = stratified(&labels, 2, 0.2, 42);
        assert_eq!(count(&split.validation, &labels, 0), 4);
        assert_eq!(count(&split.validation, &labels, 1), 2);
        assert_eq!(split.train.len() + split.validation.len(), 30);
        assert!(split.train.iter().all(|i| !split.validation.contains(i)));
        assert_eq!(split, stratified(&labels, 2, 0.2, 42));
        assert_ne!(split, stratified(&labels, 2, 0.2, 43));
    }

    #[test]
    fn every_class_keeps_training_photos() {
        let labels = vec![0, 0, 1, 1, 1, 2];
        let split = stratified(&labels, 3, 0.9, 1);
        for class in 0..3 {
            assert!(count(&split.train, &labels, class) >= 1, "class {class}");
        }
        assert_eq!(count(&split.validation, &labels, 2), 0);
    }

    #[test]
    fn k_fold_holds_each_photo_out_once_and_stays_stratified() {
        let labels: Vec<usize> = (0..15).map(|i| i % 3).collect();
        let folds = stratified_k_fold(&labels, 3, 5, 9);
        assert_eq!(folds.len(), 5);
        let mut seen = vec![0; labels.len()];
        for fold in &folds {
            for &i in &fold.validation {
                seen[i] += 1;
            }
            for class in 0..3 {
                assert_eq!(count(&fold.validation, &labels, class), 1);
            }
        }
        assert!(seen.iter().all(|&n| n == 1));
    }
}
