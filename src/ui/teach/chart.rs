//! The report's charts, plain SVG with axes a person can read: the loss and accuracy per epoch
//! (the best epoch marked), the one-vs-rest ROC curves and the reliability diagram. Each has ticks with numbers, axis
//! titles and a legend in words; colours come from the page's theme, light or dark.

use leptos::prelude::*;

use crate::formats::calibration::{Calibration, ReliabilityBin};
use crate::protocol::EpochReport;

pub const PALETTE: [&str; 8] = [
    "#5b4cf0", "#17a7a9", "#e0672b", "#c2398a", "#3f9b3a", "#b58900", "#2f6fd6", "#8a5a44",
];

/// Room around a plot for tick numbers and axis titles, in SVG units.
const LEFT: f64 = 40.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 34.0;

/// Tick values from 0 to at least `max`, a round step apart (1, 2 or 5 times a power of ten),
/// at most `at_most + 1` of them.
fn ticks(max: f64, at_most: usize) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let rough = max / at_most.max(1) as f64;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| step * at_most as f64 >= max)
        .unwrap_or(10.0 * power);
    let count = (max / step - 1e-9).ceil() as usize;
    (0..=count).map(|i| i as f64 * step).collect()
}

/// Whole epochs to mark, from the first: 1, 2, 3 for three, 20, 40, 60 for sixty.
fn epoch_ticks(epochs: usize) -> Vec<f64> {
    ticks(epochs.max(5) as f64, 5)
        .into_iter()
        .filter(|&t| t >= 1.0 && t <= epochs as f64)
        .collect()
}

fn number(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// SVG polyline points of `(x, y)` values scaled into a `w` x `h` box.
fn points(
    values: impl Iterator<Item = (f64, f64)>,
    x_max: f64,
    y_max: f64,
    w: f64,
    h: f64,
) -> String {
    values
        .map(|(x, y)| {
            format!(
                "{:.1},{:.1}",
                (x / x_max).clamp(0.0, 1.0) * w,
                h - (y / y_max).clamp(0.0, 1.0) * h
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One legend entry: a line sample in the series' style and its name.
fn legend_item(class: &'static str, colour: Option<&'static str>, name: String) -> impl IntoView {
    view! {
        <li data-testid="chart-legend-item">
            <svg viewBox="0 0 24 8" aria-hidden="true" class="sample">
                <line x1="0" y1="4" x2="24" y2="4" class=class style:stroke={colour.unwrap_or_default()} />
            </svg>
            {name}
        </li>
    }
}

/// Loss (left axis) and accuracy (right axis) per epoch, training solid and validation dashed;
/// `best_epoch` (the epoch whose model was kept) marked once training is done.
#[component]
pub fn EpochChart(
    #[prop(into)] history: Signal<Vec<EpochReport>>,
    #[prop(into)] best_epoch: Signal<Option<usize>>,
) -> impl IntoView {
    let (w, h) = (300.0, 130.0);
    let epochs = move || history.with(|hist| hist.last().map_or(1, |r| r.epoch.max(1)));
    let loss_ticks = move || {
        let max = history.with(|hist| {
            hist.iter()
                .flat_map(|r| [Some(r.train_loss), r.validation_loss])
                .flatten()
                .fold(0.1f64, f64::max)
        });
        ticks(max, 4)
    };
    let loss_max = move || loss_ticks().last().copied().unwrap_or(1.0);
    let line = move |value: fn(&EpochReport) -> Option<f64>, of_loss: bool| {
        let y_max = if of_loss { loss_max() } else { 1.0 };
        let x_max = epochs() as f64;
        history.with(|hist| {
            let values = hist
                .iter()
                .filter_map(|r| value(r).map(|v| (r.epoch as f64, v)));
            points(values, x_max, y_max, w, h)
        })
    };
    let validated = move || history.with(|hist| hist.iter().any(|r| r.validation_loss.is_some()));
    let x = move |epoch: f64| epoch / epochs() as f64 * w;
    view! {
        <figure class="chart" data-testid="training-chart" data-epochs=move || history.with(Vec::len).to_string()>
            <svg viewBox=format!("{} {} {} {}", -LEFT, -TOP, w + LEFT + RIGHT, h + TOP + BOTTOM) role="img"
                aria-label="Loss and accuracy per epoch">
                <rect x="0" y="0" width=w height=h class="chart-frame" />
                // Loss ticks on the left, accuracy on the right, epochs below.
                {move || loss_ticks().into_iter().map(|t| {
                    let y = h - t / loss_max() * h;
                    view! {
                        <line x1="0" x2=w y1={y} y2={y} class="grid" />
                        <text x="-4" y={y} class="tick" text-anchor="end" dominant-baseline="middle">{number(t)}</text>
                    }
                }).collect_view()}
                {[0.0, 0.5, 1.0].into_iter().map(|t| view! {
                    <text x={w + 4.0} y={h - t * h} class="tick" text-anchor="start" dominant-baseline="middle">{format!("{:.0}%", t * 100.0)}</text>
                }).collect_view()}
                {move || epoch_ticks(epochs()).into_iter().map(|t| view! {
                    <text x={x(t)} y={h + 12.0} class="tick" data-testid="epoch-tick" text-anchor="middle">{number(t)}</text>
                }).collect_view()}
                <text x={w / 2.0} y={h + 28.0} class="axis-title" text-anchor="middle">"epoch"</text>
                <text class="axis-title" text-anchor="middle" transform=format!("translate({}, {}) rotate(-90)", -30.0, h / 2.0)>"loss"</text>
                <text class="axis-title" text-anchor="middle" transform=format!("translate({}, {}) rotate(90)", w + 32.0, h / 2.0)>"accuracy"</text>
                {move || best_epoch.get().map(|best| view! {
                    <g data-testid="best-epoch" data-epoch=best.to_string()>
                        <line x1={x(best as f64)} x2={x(best as f64)} y1="0" y2=h class="best" />
                        <text x={x(best as f64) + 3.0} y="10" class="tick best-label">{format!("best: {best}")}</text>
                    </g>
                })}
                <polyline class="loss" points=move || line(|r| Some(r.train_loss), true) />
                <polyline class="loss dashed" points=move || line(|r| r.validation_loss, true) />
                <polyline class="acc" points=move || line(|r| Some(r.train_accuracy), false) />
                <polyline class="acc dashed" points=move || line(|r| r.validation_accuracy, false) />
            </svg>
            <figcaption>
                <ul class="legend" data-testid="chart-legend">
                    {legend_item("loss", None, "training loss".into())}
                    {move || validated().then(|| legend_item("loss dashed", None, "validation loss".into()))}
                    {legend_item("acc", None, "training accuracy".into())}
                    {move || validated().then(|| legend_item("acc dashed", None, "validation accuracy".into()))}
                    {move || best_epoch.get().map(|_| legend_item("best", None, "the epoch whose model was kept".into()))}
                </ul>
            </figcaption>
        </figure>
    }
}

/// One-vs-rest ROC curve of each class: false positive rate across, true positive rate up, the
/// diagonal a guess would give.
#[component]
pub fn RocChart(names: Vec<String>, curves: Vec<Vec<(f64, f64)>>) -> impl IntoView {
    let (w, h) = (160.0, 160.0);
    let axis = [0.0, 0.5, 1.0];
    view! {
        <figure class="roc" data-testid="roc-chart">
            <svg viewBox=format!("{} {} {} {}", -LEFT, -TOP, w + LEFT + 8.0, h + TOP + BOTTOM) role="img"
                aria-label="ROC curves, one class against the rest">
                <rect x="0" y="0" width=w height=h class="chart-frame" />
                <line x1="0" y1=h x2=w y2="0" class="chance" />
                {axis.into_iter().map(|t| view! {
                    <text x={t * w} y={h + 12.0} class="tick" text-anchor="middle">{number(t)}</text>
                    <text x="-4" y={h - t * h} class="tick" text-anchor="end" dominant-baseline="middle">{number(t)}</text>
                }).collect_view()}
                <text x={w / 2.0} y={h + 28.0} class="axis-title" text-anchor="middle">"false positive rate"</text>
                <text class="axis-title" text-anchor="middle" transform=format!("translate({}, {}) rotate(-90)", -28.0, h / 2.0)>"true positive rate"</text>
                {curves.iter().enumerate().map(|(i, curve)| view! {
                    <polyline points=points(curve.iter().copied(), 1.0, 1.0, w, h) style:stroke=PALETTE[i % PALETTE.len()] class="roc-line" />
                }).collect_view()}
            </svg>
            <figcaption>
                <ul class="legend" data-testid="chart-legend">
                    {names.into_iter().enumerate().map(|(i, name)| legend_item("roc-line", Some(PALETTE[i % PALETTE.len()]), name)).collect_view()}
                    {legend_item("chance", None, "a guess".into())}
                </ul>
                "One class against the rest"
            </figcaption>
        </figure>
    }
}

/// Calibration bins as `(mean confidence, accuracy)` points, leaving out empty bins.
fn calibration_points(bins: &[ReliabilityBin]) -> Vec<(f64, f64)> {
    bins.iter()
        .filter(|b| b.photos > 0)
        .map(|b| (b.confidence, b.accuracy))
        .collect()
}

/// How often the model was right against how sure it said it was, per confidence bin, before
/// and after temperature scaling; on the diagonal a model says exactly how often it is right.
#[component]
pub fn ReliabilityChart(calibration: Calibration) -> impl IntoView {
    let (w, h) = (160.0, 160.0);
    let axis = [0.0, 0.5, 1.0];
    let before = calibration_points(&calibration.before);
    let after = calibration_points(&calibration.after);
    let dots = |values: &[(f64, f64)], class: &'static str| {
        values
            .iter()
            .map(|&(x, y)| view! { <circle cx={x * w} cy={h - y * h} r="2.5" class=class /> })
            .collect_view()
    };
    view! {
        <figure class="roc" data-testid="reliability-diagram" data-bins=after.len().to_string()>
            <svg viewBox=format!("{} {} {} {}", -LEFT, -TOP, w + LEFT + 8.0, h + TOP + BOTTOM) role="img"
                aria-label="Reliability diagram: accuracy against confidence">
                <rect x="0" y="0" width=w height=h class="chart-frame" />
                <line x1="0" y1=h x2=w y2="0" class="chance" />
                {axis.into_iter().map(|t| view! {
                    <text x={t * w} y={h + 12.0} class="tick" text-anchor="middle">{format!("{:.0}%", t * 100.0)}</text>
                    <text x="-4" y={h - t * h} class="tick" text-anchor="end" dominant-baseline="middle">{format!("{:.0}%", t * 100.0)}</text>
                }).collect_view()}
                <text x={w / 2.0} y={h + 28.0} class="axis-title" text-anchor="middle">"confidence"</text>
                <text class="axis-title" text-anchor="middle" transform=format!("translate({}, {}) rotate(-90)", -28.0, h / 2.0)>"accuracy"</text>
                <polyline points=points(before.iter().copied(), 1.0, 1.0, w, h) class="before" />
                {dots(&before, "before")}
                <polyline points=points(after.iter().copied(), 1.0, 1.0, w, h) class="after" />
                {dots(&after, "after")}
            </svg>
            <figcaption>
                <ul class="legend" data-testid="chart-legend">
                    {legend_item("before", None, "before scaling".into())}
                    {legend_item("after", None, format!("after (temperature {:.2})", calibration.temperature))}
                    {legend_item("chance", None, "says exactly how often it is right".into())}
                </ul>
                {format!("Held-out photos in bins of confidence ({} photos)", calibration.photos)}
            </figcaption>
        </figure>
    }
}
