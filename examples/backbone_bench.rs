//! The three backbones side by side, natively on the CPU (the engine the page's CPU path runs):
//! held-out accuracy of a personal model taught a dozen photos per class of the textures, the easy
//! Fashion-MNIST triple (trouser, sneaker, bag) and the hard one (shirt, pullover, coat), with
//! the default settings and with Auto; then ImageNet latency at batch 1 and 8, the backbones
//! taking turns (A, B, C, A, B, C) so that drift on a shared machine hits them alike.
//!
//! ```text
//! cargo run --release --example backbone_bench -- [--json bench/results/backbones-native-cpu.json]
//! ```
//!
//! Each model is judged twice: by the split the page holds out (what its report shows, with the
//! interval) and by 20 photos per class it never saw (right-half texture crops, the next items of
//! the Fashion-MNIST file), the figure a person can expect.

#[cfg(not(target_arch = "wasm32"))]
#[path = "../tests/common/mod.rs"]
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::time::Instant;

    use futures::executor::block_on;
    use glimpse::engine::Engine;
    use glimpse::engine::teach::TrainSettings;
    use glimpse::formats::interval::wilson;
    use glimpse::ml::model::Backbone;
    use glimpse::ml::preprocess::preprocess;
    use serde_json::{Value, json};

    use super::common::{
        CLASSES, FIXTURES, accuracy_on, crops, engine_on, fashion_items, hard_fashion_items,
        split_per_class,
    };

    const BACKBONES: [Backbone; 3] = [Backbone::Lite0, Backbone::Lite1, Backbone::Lite2];
    const PER_CLASS: usize = 12;
    const UNSEEN_PER_CLASS: usize = 20;
    const ROUNDS: usize = 3;

    struct Set {
        name: &'static str,
        classes: [&'static str; 3],
        learnt: Vec<(usize, Vec<u8>)>,
        unseen: Vec<(usize, Vec<u8>)>,
    }

    fn sets() -> Vec<Set> {
        let fashion = |name, classes, items| {
            let (learnt, mut unseen) = split_per_class(items, PER_CLASS);
            unseen = split_per_class(unseen, UNSEEN_PER_CLASS).0;
            Set {
                name,
                classes,
                learnt,
                unseen,
            }
        };
        vec![
            Set {
                name: "textures",
                classes: CLASSES,
                learnt: crops(0, PER_CLASS, 1),
                unseen: crops(1, UNSEEN_PER_CLASS, 4),
            },
            fashion(
                "fashion-easy",
                ["trouser", "sneaker", "bag"],
                fashion_items(),
            ),
            fashion(
                "fashion-hard",
                ["shirt", "pullover", "coat"],
                hard_fashion_items(),
            ),
        ]
    }

    /// Trains with the defaults or Auto and judges the model both ways.
    fn taught(engine: &mut Engine, labelled: &[(u32, usize)], set: &Set, auto: bool) -> Value {
        let settings = TrainSettings {
            auto,
            ..TrainSettings::default()
        };
        let names = set.classes.iter().map(|c| c.to_string()).collect();
        let started = Instant::now();
        let summary = block_on(engine.train(names, labelled, &settings, |_| async { true }))
            .expect("train")
            .summary;
        let train_ms = started.elapsed().as_secs_f64() * 1000.0;
        let evaluation = &summary.evaluation;
        let held_out = evaluation.accuracy_interval();
        let unseen = accuracy_on(engine, &set.unseen, &set.classes);
        let n = set.unseen.len() as u32;
        let unseen_interval = wilson((unseen * f64::from(n)).round() as u32, n);
        let search = summary.search.as_ref().map(|s| {
            json!({
                "trials": s.trials.len(),
                "folds": s.folds,
                "startKFold": s.trials[0].accuracy,
                "winnerKFold": s.trials[s.winner].accuracy,
                "winner": s.trials[s.winner],
            })
        });
        json!({
            "heldOut": {
                "accuracy": evaluation.accuracy,
                "low": held_out.low,
                "high": held_out.high,
                "photos": evaluation.confusion.total(),
            },
            "unseen": {
                "accuracy": unseen,
                "low": unseen_interval.low,
                "high": unseen_interval.high,
                "photos": n,
            },
            "trainMs": train_ms,
            "search": search,
        })
    }

    fn accuracy(sets: &[Set]) -> Vec<Value> {
        let mut rows = Vec::new();
        for backbone in BACKBONES {
            for set in sets {
                let started = Instant::now();
                let (mut engine, labelled) = engine_on(backbone, set.learnt.clone());
                // The engine's start (the weights parsed into the model) is in it too.
                let start_and_embed_ms =
                    started.elapsed().as_secs_f64() * 1000.0 / labelled.len() as f64;
                let default = taught(&mut engine, &labelled, set, false);
                let auto = taught(&mut engine, &labelled, set, true);
                println!(
                    "{backbone} {:<13} held out {:>5.1}% / {:>5.1}% (default / Auto), \
                     {} unseen {:>5.1}% / {:>5.1}%",
                    set.name,
                    100.0 * default["heldOut"]["accuracy"].as_f64().unwrap_or(0.0),
                    100.0 * auto["heldOut"]["accuracy"].as_f64().unwrap_or(0.0),
                    set.unseen.len(),
                    100.0 * default["unseen"]["accuracy"].as_f64().unwrap_or(0.0),
                    100.0 * auto["unseen"]["accuracy"].as_f64().unwrap_or(0.0),
                );
                rows.push(json!({
                    "backbone": backbone.id(),
                    "set": set.name,
                    "learnt": labelled.len(),
                    "startAndEmbedMsPerPhoto": start_and_embed_ms,
                    "default": default,
                    "auto": auto,
                }));
            }
        }
        rows
    }

    fn quantile(times: &[f64], q: f64) -> f64 {
        let mut sorted = times.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[((q * sorted.len() as f64) as usize).min(sorted.len() - 1)]
    }

    fn latency(runs: usize, warmup: usize) -> Vec<Value> {
        let cat = std::fs::read(format!("{FIXTURES}/photos/cat.jpg")).expect("photo");
        let engines: Vec<(Engine, Vec<f32>)> = BACKBONES
            .iter()
            .map(|&backbone| {
                let (engine, _) = engine_on(backbone, Vec::new());
                let pixels = preprocess(&cat, backbone).expect("preprocess").pixels;
                (engine, pixels)
            })
            .collect();
        let mut rows = Vec::new();
        for batch in [1, 8] {
            let mut times = vec![Vec::new(); engines.len()];
            for round in 0..ROUNDS {
                for ((engine, pixels), times) in engines.iter().zip(&mut times) {
                    let warm = if round == 0 { warmup } else { 0 };
                    let run =
                        block_on(engine.benchmark(pixels, batch, runs.div_ceil(ROUNDS), warm))
                            .expect("benchmark");
                    times.extend(run.times_ms);
                }
            }
            let lite0 = quantile(&times[0], 0.5);
            for (backbone, times) in BACKBONES.iter().zip(&times) {
                let median = quantile(times, 0.5);
                println!(
                    "{backbone} batch {batch}: {median:.1} ms median ({:.1}-{:.1} p10-p90, {} runs), \
                     {:.2}x Lite0",
                    quantile(times, 0.1),
                    quantile(times, 0.9),
                    times.len(),
                    median / lite0
                );
                rows.push(json!({
                    "backbone": backbone.id(),
                    "batch": batch,
                    "median": median,
                    "p10": quantile(times, 0.1),
                    "p90": quantile(times, 0.9),
                    "runs": times.len(),
                    "ratioToLite0": median / lite0,
                }));
            }
        }
        rows
    }

    fn backbones() -> Vec<Value> {
        BACKBONES
            .iter()
            .map(|b| {
                json!({
                    "backbone": b.id(),
                    "side": b.input_size(),
                    "weightsBytes": b.weights_bytes(),
                })
            })
            .collect()
    }

    fn machine() -> Value {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string());
        let commit = std::process::Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        let date = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .ok();
        json!({
            "date": date,
            "commit": commit,
            "cpu": model,
            "cores": std::thread::available_parallelism().map_or(0, |n| n.get()),
            "backend": "Burn Flex (CPU), native release build",
        })
    }

    pub fn run() {
        let args: Vec<String> = std::env::args().collect();
        let json_path = args.iter().skip_while(|a| *a != "--json").nth(1).cloned();
        let runs = std::env::var("BENCH_RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(30);
        let sets = sets();
        let accuracy = accuracy(&sets);
        let latency = latency(runs, 3);
        let report = json!({
            "machine": machine(),
            "perClass": PER_CLASS,
            "unseenPerClass": UNSEEN_PER_CLASS,
            "backbones": backbones(),
            "accuracy": accuracy,
            "latency": latency,
        });
        if let Some(path) = json_path {
            std::fs::write(
                &path,
                serde_json::to_string_pretty(&report).expect("json") + "\n",
            )
            .expect("write the results");
            println!("wrote {path}");
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::run();
}

#[cfg(target_arch = "wasm32")]
fn main() {}
