//! How good the personal model is, on photos it did not train on: accuracy, per-class precision /
//! recall / F1, a confusion matrix whose cells show their photos, one-vs-rest ROC curves with AUC,
//! and the loss / accuracy curves per epoch. Charts are plain SVG.

use leptos::prelude::*;

use crate::protocol::{EpochReport, TrainingSummary};
use crate::ui::client::use_client;

const PALETTE: [&str; 8] = [
    "#5b4cf0", "#17a7a9", "#e0672b", "#c2398a", "#3f9b3a", "#b58900", "#2f6fd6", "#8a5a44",
];

fn pct(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// SVG polyline points of `values` (x = index) scaled into a `w` x `h` box with `max` at the top.
fn polyline(values: &[f64], w: f64, h: f64, max: f64) -> String {
    let n = values.len().max(2) - 1;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                i as f64 / n as f64 * w,
                h - (v / max).clamp(0.0, 1.0) * h
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Loss and accuracy per epoch, training solid and validation dashed.
#[component]
pub fn EpochChart(#[prop(into)] history: Signal<Vec<EpochReport>>) -> impl IntoView {
    let (w, h) = (300.0, 120.0);
    let series = move || {
        let hist = history.get();
        let loss_max = hist
            .iter()
            .flat_map(|r| [Some(r.train_loss), r.validation_loss])
            .flatten()
            .fold(0.1f64, f64::max);
        let train_loss: Vec<f64> = hist.iter().map(|r| r.train_loss).collect();
        let val_loss: Vec<f64> = hist.iter().filter_map(|r| r.validation_loss).collect();
        let train_acc: Vec<f64> = hist.iter().map(|r| r.train_accuracy).collect();
        let val_acc: Vec<f64> = hist.iter().filter_map(|r| r.validation_accuracy).collect();
        (
            polyline(&train_loss, w, h, loss_max),
            polyline(&val_loss, w, h, loss_max),
            polyline(&train_acc, w, h, 1.0),
            polyline(&val_acc, w, h, 1.0),
            hist.len(),
        )
    };
    view! {
        <figure class="chart" data-testid="training-chart" data-epochs=move || series().4.to_string()>
            <svg viewBox=format!("-4 -4 {} {}", w + 8.0, h + 8.0) role="img" aria-label="Loss and accuracy per epoch">
                <rect x="0" y="0" width=w height=h class="chart-frame" />
                <polyline class="loss" points=move || series().0 />
                <polyline class="loss dashed" points=move || series().1 />
                <polyline class="acc" points=move || series().2 />
                <polyline class="acc dashed" points=move || series().3 />
            </svg>
            <figcaption>
                <span class="key loss">"loss"</span>" and "<span class="key acc">"accuracy"</span>
                " per epoch; solid: training, dashed: validation"
            </figcaption>
        </figure>
    }
}

#[component]
pub fn TrainingReport(summary: TrainingSummary) -> impl IntoView {
    let client = use_client();
    let selected = RwSignal::new(None::<(usize, usize)>);
    let names = summary.classes.clone();
    let evaluation = summary.evaluation.clone();
    let held_out = summary.held_out.clone();
    let accuracy = evaluation.accuracy;
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
    let (w, h) = (160.0, 160.0);
    view! {
        <div class="report" data-testid="training-report">
            <p class="accuracy">
                "Held-out accuracy: "
                <strong data-testid="metric-accuracy" data-value=accuracy.to_string()>{pct(accuracy)}</strong>
                <span class="method">{format!(" ({})", summary.evaluation_method)}</span>
                {summary.cancelled.then(|| view! { <span class="method">" · cancelled: best model so far kept"</span> })}
            </p>
            <ul class="warnings">
                {summary.warnings.iter().map(|w| view! { <li data-testid="training-warning">{w.clone()}</li> }).collect_view()}
            </ul>
            <div class="report-grid">
                <table class="scores">
                    <thead><tr><th>"Class"</th><th>"Precision"</th><th>"Recall"</th><th>"F1"</th><th>"AUC"</th><th>"Evaluated"</th><th>"Learnt from"</th></tr></thead>
                    <tbody>
                        {names.iter().enumerate().map(|(i, name)| {
                            let s = evaluation.per_class[i];
                            // Absent from summaries stored before it was recorded.
                            let trained = summary.trained_per_class.get(i).copied();
                            view! {
                                <tr data-testid="class-scores" data-class-name=name.clone()
                                    data-trained=trained.map(|n| n.to_string())>
                                    <th><span class="swatch" style:background=PALETTE[i % PALETTE.len()]></span>{name.clone()}</th>
                                    <td>{pct(s.precision)}</td><td>{pct(s.recall)}</td><td>{pct(s.f1)}</td>
                                    <td>{format!("{:.2}", evaluation.roc[i].auc)}</td><td>{s.support}</td>
                                    <td>{trained.map_or("-".to_string(), |n| n.to_string())}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <figure class="roc">
                    <svg viewBox=format!("-4 -4 {} {}", w + 8.0, h + 8.0) role="img" aria-label="ROC curves, one class against the rest">
                        <rect x="0" y="0" width=w height=h class="chart-frame" />
                        <line x1="0" y1=h x2=w y2="0" class="chance" />
                        {evaluation.roc.iter().enumerate().map(|(i, roc)| {
                            let points = roc.points.iter().map(|(fpr, tpr)| format!("{:.1},{:.1}", fpr * w, h - tpr * h)).collect::<Vec<_>>().join(" ");
                            view! { <polyline points=points style:stroke=PALETTE[i % PALETTE.len()] class="roc-line" /> }
                        }).collect_view()}
                    </svg>
                    <figcaption>"ROC, one class against the rest (false positive rate → true positive rate)"</figcaption>
                </figure>
            </div>
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
