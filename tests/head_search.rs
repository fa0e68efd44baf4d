//! "Auto" on real photos: the search for the head's settings runs its trials by k-fold, never
//! picks a setting worse in k-fold than the one it started from, repeats with the seed, and the
//! winner's model still knows the classes on photos it never saw.

use futures::executor::block_on;
use glimpse::engine::Engine;
use glimpse::engine::teach::TrainSettings;
use glimpse::engine::teach::search::TRIALS;
use glimpse::protocol::TrainingSummary;

mod common;

use common::{
    CLASSES, accuracy_on, crops, engine_with_examples, engine_with_photos, fashion_items,
    split_per_class,
};

/// Training seeds the CPU backend's one random generator: runs in this binary's test threads
/// take turns, or a run would not repeat.
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn train(
    engine: &mut Engine,
    labelled: &[(u32, usize)],
    names: &[&str],
    auto: bool,
) -> TrainingSummary {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let settings = TrainSettings {
        auto,
        ..TrainSettings::default()
    };
    block_on(engine.train(names, labelled, &settings, |_| async { true }))
        .expect("train")
        .summary
}

fn describe(name: &str, summary: &TrainingSummary) {
    let search = summary.search.as_ref().expect("the search ran");
    let (start, won) = (&search.trials[0], &search.trials[search.winner]);
    println!(
        "{name}: {} trials, {}-fold on {} photos; start {:.3} k-fold accuracy (loss {:.3}), winner #{} {:.3} (loss {:.3}): \
         learning rate {:.2e}, weight decay {:.1e}, {} epochs, dropout {}",
        search.trials.len(),
        search.folds,
        search.photos,
        start.accuracy,
        start.loss,
        search.winner,
        won.accuracy,
        won.loss,
        won.learning_rate,
        won.weight_decay,
        won.epochs,
        won.dropout
    );
    assert_eq!(search.trials.len(), TRIALS);
    assert!(
        won.accuracy > start.accuracy || (won.accuracy == start.accuracy && won.loss <= start.loss),
        "the winner is worse in k-fold than the start: {won:?} vs {start:?}"
    );
    assert!(
        search.trials.iter().all(
            |t| t.accuracy < won.accuracy || (t.accuracy == won.accuracy && t.loss >= won.loss)
        ),
        "a better trial lost"
    );
}

#[test]
fn auto_on_textures_picks_no_worse_than_the_default_and_repeats_with_the_seed() {
    let _alone = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (mut engine, labelled) = engine_with_examples(10);
    let summary = train(&mut engine, &labelled, &CLASSES, true);
    describe("textures", &summary);
    assert!(
        summary.evaluation.accuracy >= 0.9,
        "{:?}",
        summary.evaluation.confusion
    );
    let unseen = crops(1, 6, 4);
    let auto = accuracy_on(&engine, &unseen, &CLASSES);
    let again = train(&mut engine, &labelled, &CLASSES, true);
    assert_eq!(
        again.search, summary.search,
        "the same photos and seed give the same search"
    );
    let plain = train(&mut engine, &labelled, &CLASSES, false);
    assert!(plain.search.is_none());
    let default = accuracy_on(&engine, &unseen, &CLASSES);
    println!(
        "textures: unseen right-half crops {default:.3} with the default settings, {auto:.3} with Auto"
    );
    assert!(auto >= 0.8, "{auto}");
}

#[test]
fn auto_on_fashion_items_picks_no_worse_than_the_default() {
    let _alone = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let names = ["trouser", "sneaker", "bag"];
    let (learnt, unseen) = split_per_class(fashion_items(), 12);
    let (mut engine, labelled) = engine_with_photos(learnt);
    let summary = train(&mut engine, &labelled, &names, true);
    describe("fashion-mnist", &summary);
    let auto = accuracy_on(&engine, &unseen, &names);
    train(&mut engine, &labelled, &names, false);
    let default = accuracy_on(&engine, &unseen, &names);
    println!(
        "fashion-mnist: {} unseen items {default:.3} with the default settings, {auto:.3} with Auto",
        unseen.len()
    );
    assert!(auto >= 0.9, "{auto}");
}
