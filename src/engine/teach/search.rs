//! "Auto": a random search for the head's settings (learning rate, weight decay, epochs, dropout)
//! by stratified k-fold on the photos the model learns from, before the real run trains the
//! winner. The head trains on cached embeddings, so a trial costs a fraction of a second; the
//! search is bounded however many photos there are by judging on at most
//! `SEARCH_PER_CLASS` photos per class, their clean views.
//!
//! The first trial is the settings as they were, and a later one wins only with a higher k-fold
//! accuracy (or the same and a lower loss), so the search never picks a setting worse in k-fold
//! than the one it started from. The draws come from the run's seed: the same photos and seed
//! give the same trials and winner.

use crate::formats::records::{HeadSearch, SearchTrial};
use crate::ml::personal_head::{Examples, HeadTrainingConfig, logits_of, train_head};
use crate::ml::readback::ReadbackError;
use crate::ml::split::{SplitMix64, stratified_k_fold};
use burn::prelude::*;

/// Trials in a search: Bergstra and Bengio (2012) find that a few dozen random trials match a
/// grid many times their size when few of the settings matter.
pub const TRIALS: usize = 24;
/// Folds per trial.
pub const FOLDS: usize = 3;
/// Photos per class the search judges by.
pub const SEARCH_PER_CLASS: usize = 50;

/// Whether trial `a` beats trial `b`.
fn beats(a: &SearchTrial, b: &SearchTrial) -> bool {
    a.accuracy > b.accuracy || (a.accuracy == b.accuracy && a.loss < b.loss)
}

/// A uniform draw between `low` and `high` on a log scale.
fn log_uniform(rng: &mut SplitMix64, low: f64, high: f64) -> f64 {
    (low.ln() + rng.unit() * (high.ln() - low.ln())).exp()
}

/// The settings of the search's trials: `start` first, then draws around the ranges that suit
/// a linear head on 1280 embedding features.
pub fn trial_configs(start: &HeadTrainingConfig, seed: u64) -> Vec<HeadTrainingConfig> {
    let mut rng = SplitMix64::new(seed ^ 0x5EA5_C4ED);
    let mut configs = vec![start.clone()];
    while configs.len() < TRIALS {
        let epochs = [20, 40, 60, 100, 150][rng.below(5)];
        let dropout = [0.0, 0.1, 0.2, 0.3, 0.5][rng.below(5)];
        configs.push(HeadTrainingConfig {
            learning_rate: log_uniform(&mut rng, 1e-4, 3e-2),
            weight_decay: log_uniform(&mut rng, 1e-6, 1e-2) as f32,
            epochs,
            dropout,
            ..start.clone()
        });
    }
    configs
}

/// Embeddings and classes of the photos a search judges by.
pub struct SearchSet<'a> {
    pub embeddings: &'a [Vec<f32>],
    pub labels: &'a [usize],
    pub classes: usize,
}

/// One trial: k-fold heads with `config`, each judged on its held-out fold.
async fn run_trial(
    set: &SearchSet<'_>,
    config: &HeadTrainingConfig,
    folds: usize,
    device: &Device,
) -> Result<SearchTrial, ReadbackError> {
    let (mut right, mut judged, mut loss) = (0usize, 0usize, 0.0);
    let splits = stratified_k_fold(set.labels, set.classes, folds, config.seed);
    for fold in &splits {
        let pick = |idx: &[usize]| -> (Vec<Vec<f32>>, Vec<usize>) {
            (
                idx.iter().map(|&i| set.embeddings[i].clone()).collect(),
                idx.iter().map(|&i| set.labels[i]).collect(),
            )
        };
        let (tx, ty) = pick(&fold.train);
        let (vx, vy) = pick(&fold.validation);
        let trained = train_head(
            device,
            set.classes,
            Examples {
                embeddings: &tx,
                labels: &ty,
            },
            Some(Examples {
                embeddings: &vx,
                labels: &vy,
            }),
            config,
            |_| async { true },
        )
        .await?;
        let best = trained
            .history
            .iter()
            .find(|r| r.epoch == trained.best_epoch)
            .and_then(|r| r.validation_loss)
            .unwrap_or(f64::INFINITY);
        loss += best / splits.len() as f64;
        for (row, &label) in logits_of(&trained.head, &vx, device).await?.iter().zip(&vy) {
            let predicted = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(c, _)| c);
            right += usize::from(predicted == Some(label));
        }
        judged += vy.len();
    }
    Ok(SearchTrial {
        learning_rate: config.learning_rate,
        weight_decay: config.weight_decay,
        epochs: config.epochs,
        dropout: config.dropout,
        accuracy: right as f64 / judged.max(1) as f64,
        loss,
    })
}

/// Runs the search from `start`; `go(trial)` is told before each trial and resolves to false to
/// stop (the best so far wins). None when some class has under two photos (no k-fold).
pub async fn search<F: Future<Output = bool>>(
    set: &SearchSet<'_>,
    start: &HeadTrainingConfig,
    device: &Device,
    mut go: impl FnMut(usize) -> F,
) -> Result<Option<(HeadTrainingConfig, HeadSearch)>, ReadbackError> {
    let smallest = (0..set.classes)
        .map(|c| set.labels.iter().filter(|&&l| l == c).count())
        .min()
        .unwrap_or(0);
    if smallest < 2 {
        return Ok(None);
    }
    let folds = FOLDS.min(smallest);
    let configs = trial_configs(start, start.seed);
    let mut trials: Vec<SearchTrial> = Vec::new();
    let mut winner = 0;
    for (t, config) in configs.iter().enumerate() {
        if !go(t).await {
            break;
        }
        let trial = run_trial(set, config, folds, device).await?;
        if t > 0 && beats(&trial, &trials[winner]) {
            winner = t;
        }
        trials.push(trial);
    }
    if trials.is_empty() {
        return Ok(None);
    }
    let search = HeadSearch {
        trials,
        winner,
        folds,
        photos: set.labels.len(),
    };
    Ok(Some((configs[winner].clone(), search)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_trial_is_the_start_and_the_draws_repeat_with_the_seed() {
        let start = HeadTrainingConfig::new();
        let a = trial_configs(&start, 7);
        assert_eq!(a.len(), TRIALS);
        assert_eq!(a[0], start);
        assert_eq!(a, trial_configs(&start, 7));
        assert_ne!(a[1..], trial_configs(&start, 8)[1..]);
        for c in &a[1..] {
            assert!((1e-4..=3e-2).contains(&c.learning_rate), "{c:?}");
            assert!((1e-6..=1e-2).contains(&f64::from(c.weight_decay)), "{c:?}");
        }
    }

    #[test]
    fn a_tie_goes_to_the_lower_loss() {
        let t = |accuracy, loss| SearchTrial {
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            epochs: 60,
            dropout: 0.2,
            accuracy,
            loss,
        };
        assert!(beats(&t(0.9, 1.0), &t(0.8, 0.1)));
        assert!(beats(&t(0.9, 0.2), &t(0.9, 0.3)));
        assert!(!beats(&t(0.9, 0.3), &t(0.9, 0.3)));
    }
}
