//! The personal model as ONNX (`Engine::export_onnx`, `formats::onnx_model`), checked by
//! onnxruntime: the same top-1 class as Glimpse and every probability within 1e-3, on unseen
//! texture crops and the sample photos, for a head-only model and a fine-tuned one
//! (`scripts/check_onnx_export.py`, run with the Python of `scripts/onnx-venv.sh`).

use std::path::{Path, PathBuf};
use std::process::Command;

use futures::executor::block_on;
use glimpse::engine::Engine;
use glimpse::engine::teach::{TrainMode, TrainSettings};
use glimpse::ml::preprocess::preprocess;
use glimpse::protocol::EngineError;

mod common;

use common::{CLASSES, FIXTURES, crops, engine_on, engine_with_examples};
use glimpse::ml::model::Backbone;

/// The Python with onnxruntime: `GLIMPSE_ONNX_PYTHON` (scripts/test.sh sets it), else the
/// environment `scripts/onnx-venv.sh` makes. The test fails, never skips, without it.
fn onnx_python() -> PathBuf {
    if let Some(python) = std::env::var_os("GLIMPSE_ONNX_PYTHON") {
        return python.into();
    }
    let cache = std::env::var_os("GLIMPSE_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    Path::new(&std::env::var_os("HOME").expect("HOME")).join(".cache")
                })
                .join("glimpse")
        });
    let python = cache.join("onnx-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/onnx-venv.sh",
        python.display()
    );
    python
}

fn little_endian(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes the model, its classes and, per photo, the input Glimpse feeds the model and the
/// probabilities it answers with; then has onnxruntime check them all.
fn check_with_onnxruntime(engine: &Engine, bytes: &[u8], name: &str) -> String {
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("onnx-export-{name}"));
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("model.onnx"), bytes).unwrap();
    std::fs::write(folder.join("backbone.txt"), engine.backbone().id()).unwrap();
    std::fs::write(
        folder.join("classes.json"),
        serde_json::to_vec(&CLASSES).unwrap(),
    )
    .unwrap();
    let mut photos: Vec<(String, Vec<u8>)> = crops(1, 2, 23)
        .into_iter()
        .enumerate()
        .map(|(i, (label, png))| (format!("{}-{i}", CLASSES[label]), png))
        .collect();
    for sample in ["cat", "flamingo", "torch"] {
        photos.push((
            sample.into(),
            std::fs::read(format!("{FIXTURES}/photos/{sample}.jpg")).unwrap(),
        ));
    }
    for (i, (stem, photo)) in photos.iter().enumerate() {
        let answer = block_on(engine.classify(i as u32, photo)).expect("classify");
        assert!(answer.personal);
        let mut probabilities = vec![0.0f32; CLASSES.len()];
        for p in &answer.predictions {
            probabilities[p.class_index as usize] = p.confidence;
        }
        let input = preprocess(photo, engine.backbone())
            .expect("preprocess")
            .pixels;
        std::fs::write(
            folder.join(format!("{stem}.input.f32")),
            little_endian(&input),
        )
        .unwrap();
        std::fs::write(
            folder.join(format!("{stem}.probabilities.f32")),
            little_endian(&probabilities),
        )
        .unwrap();
    }
    let run = Command::new(onnx_python())
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/check_onnx_export.py"
        ))
        .arg(&folder)
        .output()
        .expect("run the onnxruntime check");
    let report = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        report.contains(&format!(
            "onnxruntime agrees with Glimpse on {} photos of {} at {} px",
            photos.len(),
            engine.backbone().id(),
            engine.backbone().input_size()
        )),
        "{report}"
    );
    report
}

fn trained(settings: &TrainSettings) -> Engine {
    trained_on(Backbone::Lite0, settings)
}

fn trained_on(backbone: Backbone, settings: &TrainSettings) -> Engine {
    let (mut engine, labelled) = engine_on(backbone, crops(0, 10, 1));
    let names = CLASSES.iter().map(|s| s.to_string()).collect();
    block_on(engine.train(names, &labelled, settings, |_| async { true })).expect("train");
    engine
}

#[test]
fn onnxruntime_gives_the_head_only_model_s_answers() {
    let engine = trained(&TrainSettings {
        mode: TrainMode::HeadOnly,
        ..TrainSettings::default()
    });
    let bytes = block_on(engine.export_onnx("2026-12-01T00:00:00Z")).expect("export");
    let report = check_with_onnxruntime(&engine, &bytes, "head");
    println!("{report}");
    // And the answers are right: each unseen crop lands in its own class.
    let right = report
        .lines()
        .filter(|line| {
            CLASSES.iter().any(|c| {
                line.starts_with(&format!("{c}-")) && line.contains(&format!("top-1 {c},"))
            })
        })
        .count();
    assert_eq!(right, 6, "{report}");
}

#[test]
fn onnxruntime_gives_the_fine_tuned_model_s_answers() {
    let settings = TrainSettings {
        mode: TrainMode::HeadAndBlocks,
        epochs: 3,
        ..TrainSettings::default()
    };
    let engine = trained(&settings);
    let bytes = block_on(engine.export_onnx("2026-12-01T00:00:00Z")).expect("export");
    println!("{}", check_with_onnxruntime(&engine, &bytes, "blocks"));
}

/// Lite2: 21 blocks at 260 px, its last three fine-tuned; the ONNX graph and its input follow.
#[test]
fn onnxruntime_gives_a_lite2_fine_tuned_model_s_answers() {
    let settings = TrainSettings {
        mode: TrainMode::HeadAndBlocks,
        epochs: 3,
        ..TrainSettings::default()
    };
    let engine = trained_on(Backbone::Lite2, &settings);
    let bytes = block_on(engine.export_onnx("2026-12-04T00:00:00Z")).expect("export");
    println!("{}", check_with_onnxruntime(&engine, &bytes, "lite2"));
}

#[test]
fn no_onnx_without_a_personal_model() {
    let (engine, _) = engine_with_examples(1);
    assert_eq!(
        block_on(engine.export_onnx("")).err(),
        Some(EngineError::NoPersonalModel)
    );
}
