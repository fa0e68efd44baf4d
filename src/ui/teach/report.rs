//! How good the personal model is, on photos it did not train on: accuracy with its 95% interval
//! (and how many more photos would make it sure enough), per-class precision / recall / F1 with
//! their counts, a confusion matrix whose cells show their photos, one-vs-rest ROC curves with
//! AUC (`chart.rs`); how its confidence was calibrated (the reliability diagram, the expected
//! calibration error before and after) and how it tells a stranger from its classes.

use leptos::prelude::*;

use super::chart::{PALETTE, ReliabilityChart, RocChart};
use super::worth_labelling::WorthLabelling;
use crate::formats::calibration::Calibration;
use crate::formats::interval::photos_per_class_for_width;
use crate::formats::metrics::Evaluation;
use crate::formats::open_set::KnownRule;
use crate::formats::records::HeadSearch;
use crate::protocol::TrainingSummary;
use crate::ui::client::use_client;

fn pct(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// An interval wider than this (in accuracy points) is too wide to go by; more photos are
/// suggested, enough to bring it under `NARROW_ENOUGH`.
const TOO_WIDE: f64 = 0.30;
const NARROW_ENOUGH: f64 = 0.15;

/// "75% (47-91%, 12 photos)": the held-out accuracy with its 95% interval and what it rests on.
fn accuracy_text(evaluation: &Evaluation) -> String {
    let interval = evaluation.accuracy_interval();
    let photos = evaluation.confusion.total();
    format!(
        "{} ({:.0}-{}, {photos} photo{})",
        pct(evaluation.accuracy),
        interval.low * 100.0,
        pct(interval.high),
        if photos == 1 { "" } else { "s" }
    )
}

/// What to do about an interval too wide to go by, in words; none when it is narrow enough.
fn more_photos_advice(summary: &TrainingSummary) -> Option<String> {
    let evaluation = &summary.evaluation;
    let interval = evaluation.accuracy_interval();
    if interval.width() <= TOO_WIDE {
        return None;
    }
    let photos: usize = summary.trained_per_class.iter().sum();
    let per_class = photos_per_class_for_width(
        evaluation.accuracy,
        NARROW_ENOUGH,
        evaluation.confusion.total() as usize,
        photos.max(evaluation.confusion.total() as usize),
        summary.classes.len(),
    );
    Some(format!(
        "On photos like these the model could be right anywhere from {} to {} of the time: too \
         few photos were held out to say closer. About {per_class} photos per class would narrow \
         that to under {:.0} points.",
        pct(interval.low),
        pct(interval.high),
        NARROW_ENOUGH * 100.0
    ))
}

/// The expected calibration error before and after scaling, and what the temperature did.
fn calibration_text(c: &Calibration) -> String {
    let effect = if c.temperature > 1.05 {
        "it was too sure of itself, so its confidence was softened"
    } else if c.temperature < 0.95 {
        "it was less sure than it had reason to be, so its confidence was sharpened"
    } else {
        "it was about as sure as it had reason to be"
    };
    format!(
        "Calibration error {:.1}% before, {:.1}% after (temperature {:.2}, fitted on {} held-out \
         photo{}; \"after\" scores each half with the temperature fitted on the other): {effect}.",
        c.ece_before * 100.0,
        c.ece_after * 100.0,
        c.temperature,
        c.photos,
        if c.photos == 1 { "" } else { "s" }
    )
}

/// How "None of your classes" is decided, in words.
fn known_rule_text(rule: &KnownRule) -> String {
    format!(
        "A photo counts as one of your classes when it looks at least {:.2} alike (cosine \
         similarity of the network's embedding) to one of {} kept photos; below that it shows as \
         \"None of your classes\". The bar was set so that {:.0}% of your own photos, each \
         compared with the others, clear it: {} of {} do.",
        rule.threshold,
        rule.prototypes,
        rule.share * 100.0,
        rule.passed,
        rule.photos
    )
}

/// The "Auto" search's trials, the winner marked.
fn search_table(search: &HeadSearch) -> impl IntoView + use<> {
    let caption = format!(
        "Auto: {} settings tried, each by {}-fold on {} photos; the marked one won and trained the model.",
        search.trials.len(),
        search.folds,
        search.photos
    );
    let winner = search.winner;
    let rows = search
        .trials
        .iter()
        .enumerate()
        .map(|(i, t)| {
            view! {
                <tr data-testid="search-trial" data-winner=(i == winner).to_string() data-accuracy=t.accuracy.to_string()
                    class:winner=i == winner>
                    <td>{if i == 0 { "start".to_string() } else { (i + 1).to_string() }}</td>
                    <td>{format!("{:.1e}", t.learning_rate)}</td><td>{format!("{:.0e}", t.weight_decay)}</td>
                    <td>{t.epochs}</td><td>{format!("{:.1}", t.dropout)}</td>
                    <td>{pct(t.accuracy)}</td><td>{format!("{:.3}", t.loss)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <details class="search">
            <summary>{format!("Auto search: trial {} won ({} in {}-fold)", if winner == 0 { "start".to_string() } else { (winner + 1).to_string() }, pct(search.trials[winner].accuracy), search.folds)}</summary>
            <table class="scores" data-testid="search-trials">
                <caption>{caption}</caption>
                <thead><tr><th>"Trial"</th><th>"Learning rate"</th><th>"Weight decay"</th><th>"Epochs (at most)"</th><th>"Dropout"</th><th>"k-fold accuracy"</th><th>"Loss"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </details>
    }
}

/// "80% (4/5)": a share with the photos it counts.
fn counted(v: f64, of: u32, total: u32) -> String {
    format!("{} ({of}/{total})", pct(v))
}

#[component]
pub fn TrainingReport(summary: TrainingSummary) -> impl IntoView {
    let client = use_client();
    let selected = RwSignal::new(None::<(usize, usize)>);
    let names = summary.classes.clone();
    let evaluation = summary.evaluation.clone();
    let held_out = summary.held_out.clone();
    let accuracy = evaluation.accuracy;
    let interval = evaluation.accuracy_interval();
    let curves: Vec<Vec<(f64, f64)>> = evaluation.roc.iter().map(|r| r.points.clone()).collect();
    let thumbnails = move |ids: Vec<u32>| {
        ids.into_iter()
            .filter_map(|id| client.with_value(|c| c.teach.photo(id)))
            .map(|p| view! { <img src=p.thumbnail.clone() alt=p.name.clone() title=p.name.clone() /> })
            .collect_view()
    };
    let cell_photos = {
        let held_out = held_out.clone();
        move || {
            selected.get().map(|(actual, predicted)| {
                let ids: Vec<u32> = held_out
                    .iter()
                    .filter(|h| h.actual == actual && h.predicted == predicted)
                    .map(|h| h.example)
                    .collect();
                (actual, predicted, ids)
            })
        }
    };
    view! {
        <div class="report" data-testid="training-report">
            <p class="accuracy">
                "Held-out accuracy: "
                <strong data-testid="metric-accuracy" data-value=accuracy.to_string()
                    data-low=interval.low.to_string() data-high=interval.high.to_string()>{accuracy_text(&evaluation)}</strong>
                <span class="method">{format!(" ({})", summary.evaluation_method)}</span>
                {summary.cancelled.then(|| view! { <span class="method">" · cancelled: best model so far kept"</span> })}
            </p>
            {more_photos_advice(&summary).map(|advice| view! { <p class="advice" data-testid="accuracy-advice">{advice}</p> })}
            <ul class="warnings">
                {summary.warnings.iter().map(|w| view! { <li data-testid="training-warning">{w.clone()}</li> }).collect_view()}
            </ul>
            <div class="report-grid">
                <table class="scores">
                    <thead><tr><th>"Class"</th><th>"Precision"</th><th>"Recall"</th><th>"F1"</th><th>"AUC"</th><th>"Evaluated"</th><th>"Learnt from"</th></tr></thead>
                    <tbody>
                        {names.iter().enumerate().map(|(i, name)| {
                            let s = evaluation.per_class[i];
                            let n = evaluation.confusion.class_counts(i);
                            // Absent from summaries stored before it was recorded.
                            let trained = summary.trained_per_class.get(i).copied();
                            view! {
                                <tr data-testid="class-scores" data-class-name=name.clone()
                                    data-trained=trained.map(|n| n.to_string())>
                                    <th><span class="swatch" style:background=PALETTE[i % PALETTE.len()]></span>{name.clone()}</th>
                                    <td>{counted(s.precision, n.hits, n.predicted)}</td><td>{counted(s.recall, n.hits, n.actual)}</td><td>{pct(s.f1)}</td>
                                    <td>{format!("{:.2}", evaluation.roc[i].auc)}</td><td>{s.support}</td>
                                    <td>{trained.map_or("-".to_string(), |n| n.to_string())}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <RocChart names=names.clone() curves=curves />
                {summary.calibration.clone().map(|c| view! { <ReliabilityChart calibration=c /> })}
            </div>
            {summary.calibration.as_ref().map(|c| view! {
                <p class="trust" data-testid="metric-ece" data-value=c.ece_after.to_string()
                    data-before=c.ece_before.to_string() data-temperature=c.temperature.to_string()>{calibration_text(c)}</p>
            })}
            {summary.search.as_ref().map(search_table)}
            {summary.known.map(|rule| view! {
                <p class="trust" data-testid="known-rule" data-threshold=rule.threshold.to_string()
                    data-photos=rule.photos.to_string() data-passed=rule.passed.to_string()>{known_rule_text(&rule)}</p>
            })}
            <table class="confusion" data-testid="confusion-matrix">
                <caption>"Confusion matrix: rows are the true class, columns the predicted one. Click a cell to see its photos."</caption>
                <thead><tr><th></th>{names.iter().map(|n| view! { <th scope="col">{n.clone()}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {evaluation.confusion.counts.iter().enumerate().map(|(a, row)| {
                        let total: u32 = row.iter().sum();
                        view! {
                            <tr>
                                <th scope="row">{names[a].clone()}</th>
                                {row.iter().enumerate().map(|(p, &n)| {
                                    let share = if total > 0 { f64::from(n) / f64::from(total) } else { 0.0 };
                                    let tone = if a == p { "hit" } else { "miss" };
                                    view! {
                                        <td class=tone data-testid="confusion-cell" data-actual=a.to_string() data-predicted=p.to_string()
                                            data-count=n.to_string() style:--share=format!("{share:.3}")
                                            class:selected=move || selected.get() == Some((a, p))>
                                            <button type="button" on:click=move |_| selected.set(Some((a, p)))>{n}</button>
                                        </td>
                                    }
                                }).collect_view()}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <WorthLabelling held_out=held_out.clone() classes=names.clone() />
            {move || cell_photos().map(|(a, p, ids)| view! {
                <div class="cell-photos" data-testid="confusion-photos">
                    <p>{format!("{} photo{} of \"{}\" predicted as \"{}\"", ids.len(), if ids.len() == 1 { "" } else { "s" }, names_for(&summary.classes, a), names_for(&summary.classes, p))}</p>
                    <div class="thumbs">{thumbnails(ids)}</div>
                </div>
            })}
        </div>
    }
}

fn names_for(names: &[String], i: usize) -> String {
    names.get(i).cloned().unwrap_or_default()
}
