//! Keeping and carrying a personal model: what the page stores comes back identical, the export
//! file round-trips with and without photos, the whole-network export loads with plain Burn, and
//! damaged or hostile files are refused with a message that says what is wrong.

use std::io::{Cursor, Read, Write};

use burn::prelude::*;
use burn::tensor::activation::softmax;
use futures::executor::block_on;
use glimpse::engine::Engine;
use glimpse::engine::teach::{KeptExample, TrainMode, TrainSettings};
use glimpse::formats::project_file::{
    self as project_file, Project, ProjectExample, ProjectFileError, SavedModel,
};
use glimpse::formats::standalone;
use glimpse::ml::model::{Backbone, images};
use glimpse::ml::preprocess::{decode, preprocess};
use glimpse::ml::weights::load_network;
use glimpse::protocol::EngineError;
use zip::write::SimpleFileOptions;

mod common;

use common::{CLASSES, WEIGHTS, crops};

fn engine() -> Engine {
    Engine::new(Device::flex(), &std::fs::read(WEIGHTS).expect("weights")).expect("engine")
}

fn names() -> Vec<String> {
    CLASSES.iter().map(|s| s.to_string()).collect()
}

/// An engine taught `per_class` crops of each texture, the stored copies of its photos and the
/// saved model.
fn taught(
    per_class: usize,
    settings: &TrainSettings,
) -> (Engine, Vec<(usize, KeptExample)>, SavedModel) {
    let mut engine = engine();
    let mut labelled = Vec::new();
    let mut kept = Vec::new();
    for (i, (label, bytes)) in crops(0, per_class, 1).into_iter().enumerate() {
        let id = 100 + i as u32;
        kept.push((
            label,
            block_on(engine.add_example(id, &bytes, true)).expect("example"),
        ));
        labelled.push((id, label));
    }
    let saved =
        block_on(engine.train(names(), &labelled, settings, |_| async { true })).expect("train");
    (engine, kept, saved)
}

/// Top-5 (label, confidence) of each unseen crop under the engine's active model.
fn predictions(engine: &Engine) -> Vec<Vec<(String, f32)>> {
    crops(1, 2, 7)
        .iter()
        .enumerate()
        .map(|(i, (_, bytes))| {
            block_on(engine.classify(i as u32, bytes))
                .expect("classify")
                .predictions
                .into_iter()
                .map(|p| (p.label, p.confidence))
                .collect()
        })
        .collect()
}

fn assert_same(a: &[Vec<(String, f32)>], b: &[Vec<(String, f32)>]) {
    for (x, y) in a.iter().zip(b) {
        for ((lx, cx), (ly, cy)) in x.iter().zip(y) {
            assert_eq!(lx, ly);
            assert!((cx - cy).abs() < 1e-5, "{lx}: {cx} vs {cy}");
        }
    }
}

fn project(kept: &[(usize, KeptExample)], saved: &SavedModel) -> Project {
    Project {
        backbone: saved.backbone,
        classes: names(),
        photos: kept
            .iter()
            .enumerate()
            .map(|(i, (class, k))| ProjectExample {
                class: *class,
                name: format!("crop {i}.png"),
                jpeg: k.photo.clone(),
                embeddings: k.embeddings.clone(),
            })
            .collect(),
        model: Some(saved.clone()),
        settings: TrainSettings::default(),
    }
}

#[test]
fn a_stored_head_and_photos_come_back_with_identical_predictions() {
    let (mut trained, kept, saved) = taught(6, &TrainSettings::default());
    assert_eq!(saved.tuned_blocks, 0);
    let before = predictions(&trained);

    // What the page stores of each photo: a small upright JPEG, a thumbnail, 4 embeddings.
    let (_, first) = &kept[0];
    let photo = decode(&first.photo).expect("stored photo decodes");
    let thumbnail = decode(&first.thumbnail).expect("thumbnail decodes");
    assert!(photo.width().max(photo.height()) <= 320);
    assert!(thumbnail.width().max(thumbnail.height()) <= 128);
    assert_eq!(first.embeddings.len(), 4 * 1280);

    // A reload: a fresh engine gets the stored photos and model back.
    let mut restored = engine();
    for (i, (_, k)) in kept.iter().enumerate() {
        restored
            .restore_example(100 + i as u32, k.photo.clone(), &k.embeddings)
            .expect("restore");
    }
    restored.load_model(&saved).expect("load");
    restored.use_personal_model(true).expect("use");
    let after = predictions(&restored);
    assert_same(&before, &after);
    // And they are the right answers: the restored model knows the textures it was taught.
    let right = crops(1, 2, 7)
        .iter()
        .zip(&after)
        .filter(|((label, _), p)| p[0].0 == CLASSES[*label])
        .count();
    println!(
        "restored model: {right} of {} unseen crops right",
        after.len()
    );
    assert!(right >= after.len() - 1, "{right} of {}", after.len());

    // A damaged stored copy is refused, not half-used.
    let mut short = kept[0].1.embeddings.clone();
    short.pop();
    assert!(
        restored
            .restore_example(1, kept[0].1.photo.clone(), &short)
            .is_err()
    );
    trained.reset();
    assert!(trained.use_personal_model(true).is_err());
}

#[test]
fn the_export_file_round_trips_with_and_without_photos() {
    let (trained, kept, saved) = taught(5, &TrainSettings::default());
    let project = project(&kept, &saved);
    let with = project_file::write(&project, "2026-11-25T12:00:00Z", true);
    let without = project_file::write(&project, "2026-11-25T12:00:00Z", false);
    println!(
        "export of 3 classes x 5 photos: {} bytes with photos, {} without",
        with.len(),
        without.len()
    );
    // The model and its open-set prototypes (one f16 embedding per kept photo, 2,560 bytes).
    assert!(without.len() < 40_000 + 15 * 2_560, "{}", without.len());

    let read = project_file::read(&with).expect("read with photos");
    assert_eq!(read.classes, project.classes);
    assert!(read.photos == project.photos, "photos differ");
    assert!(read.model == project.model, "model differs");
    assert!(read.settings == project.settings, "settings differ");
    let thumbnails = trained.check_project(&read).expect("checks");
    assert_eq!(thumbnails.len(), project.photos.len());

    let read = project_file::read(&without).expect("read without photos");
    assert!(read.photos.is_empty());
    assert_eq!(read.model, project.model);
    assert_eq!(read.classes, project.classes);

    // The imported model predicts as the trained one did.
    let mut imported = engine();
    imported
        .load_model(read.model.as_ref().expect("model"))
        .expect("load");
    imported.use_personal_model(true).expect("use");
    assert_same(&predictions(&trained), &predictions(&imported));
}

#[test]
fn fine_tuned_blocks_round_trip_and_the_whole_network_loads_in_plain_burn() {
    let settings = TrainSettings {
        mode: TrainMode::HeadAndBlocks,
        epochs: 5,
        ..TrainSettings::default()
    };
    let (trained, _, saved) = taught(4, &settings);
    assert_eq!(saved.tuned_blocks, 3);
    let before = predictions(&trained);

    let mut restored = engine();
    restored.load_model(&saved).expect("load");
    restored.use_personal_model(true).expect("use");
    assert_same(&before, &predictions(&restored));

    // Other tools: one safetensors with every tensor, and a config naming classes and inputs.
    let zip = block_on(trained.export_network("2026-11-25T12:00:00Z")).expect("export");
    println!("whole-network export: {} bytes", zip.len());
    let (config, weights) = standalone::read(&zip).expect("read back");
    assert_eq!(config.classes, names());
    assert_eq!(config.preprocessing.input_size, 224);
    let device = Device::flex();
    let network = load_network(&weights, config.classes.len(), &device).expect("plain Burn load");
    let (_, bytes) = &crops(1, 1, 7)[0];
    let input = preprocess(bytes, Backbone::Lite0).expect("photo");
    let x = images(input.pixels, 1, &device);
    let probs: Vec<f32> = softmax(network.forward(x), 1)
        .into_data()
        .try_to_vec::<f32>()
        .expect("floats");
    for (label, confidence) in &before[0] {
        let class = CLASSES.iter().position(|c| c == label).expect("class");
        assert!(
            (probs[class] - confidence).abs() < 1e-4,
            "{label}: {} vs {confidence}",
            probs[class]
        );
    }
}

/// Rewrites an export file, changing or dropping entries.
fn rezip(bytes: &[u8], change: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("zip");
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("entry");
        let name = file.name().expect("name").to_string();
        let mut data = Vec::new();
        file.read_to_end(&mut data).expect("read");
        if let Some(data) = change(&name, data) {
            out.start_file(name, SimpleFileOptions::default())
                .expect("start");
            out.write_all(&data).expect("write");
        }
    }
    out.finish().expect("finish").into_inner()
}

fn edit_manifest(bytes: &[u8], edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    rezip(bytes, |name, data| {
        if name != project_file::MANIFEST {
            return Some(data);
        }
        let mut json: serde_json::Value = serde_json::from_slice(&data).expect("json");
        edit(&mut json);
        Some(serde_json::to_vec(&json).expect("json"))
    })
}

fn refusal(bytes: &[u8]) -> String {
    match project_file::read(bytes) {
        Ok(_) => panic!("a bad file was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn damaged_and_hostile_files_are_refused_with_what_is_wrong() {
    let (trained, kept, saved) = taught(3, &TrainSettings::default());
    let good = project_file::write(&project(&kept, &saved), "2026-11-25T12:00:00Z", true);
    assert!(project_file::read(&good).is_ok());

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty", Vec::new(), "empty"),
        (
            "text",
            b"hello, I am a text file".to_vec(),
            "not a zip archive",
        ),
        ("truncated", good[..good.len() / 2].to_vec(), "cut short"),
        (
            "no manifest",
            rezip(&good, |n, d| (n != project_file::MANIFEST).then_some(d)),
            "no manifest.json",
        ),
        (
            "no model",
            rezip(&good, |n, d| (n != project_file::MODEL).then_some(d)),
            "model.safetensors is missing",
        ),
        (
            "other format",
            edit_manifest(&good, |m| m["format"] = "something-else".into()),
            "names the format \"something-else\"",
        ),
        (
            "newer version",
            edit_manifest(&good, |m| m["format_version"] = 99.into()),
            "format version 99",
        ),
        (
            "two classes alike",
            edit_manifest(&good, |m| m["classes"][1]["name"] = "Brick".into()),
            "two classes are named",
        ),
        (
            "empty class name",
            edit_manifest(&good, |m| m["classes"][0]["name"] = "  ".into()),
            "class 1 has no name",
        ),
        (
            "counts disagree",
            edit_manifest(&good, |m| m["classes"][0]["photos"] = 7.into()),
            "should have 7 photos",
        ),
        (
            "photo in no class",
            edit_manifest(&good, |m| m["photos"][0]["class"] = 9.into()),
            "should have",
        ),
        (
            "too many tuned blocks",
            edit_manifest(&good, |m| m["model"]["tuned_blocks"] = 40.into()),
            "tunes 40 blocks",
        ),
        (
            "not a jpeg",
            rezip(&good, |n, d| {
                Some(if n.starts_with("photos/") {
                    b"GIF89a".to_vec()
                } else {
                    d
                })
            }),
            "is not a JPEG",
        ),
        (
            "garbage manifest",
            rezip(&good, |n, d| {
                Some(if n == project_file::MANIFEST {
                    b"{not json".to_vec()
                } else {
                    d
                })
            }),
            "manifest.json is not as expected",
        ),
    ];
    for (what, bytes, expected) in &cases {
        let message = refusal(bytes);
        println!("{what}: {message}");
        assert!(message.contains(expected), "{what}: {message}");
    }

    // Non-finite embeddings: overwrite the first float of the embeddings file with NaN.
    let nan = rezip(&good, |n, mut d| {
        if n == project_file::EMBEDDINGS {
            let header = u64::from_le_bytes(d[..8].try_into().expect("len")) as usize;
            d[8 + header..8 + header + 4].copy_from_slice(&f32::NAN.to_le_bytes());
        }
        Some(d)
    });
    assert!(refusal(&nan).contains("not a finite number"));

    // Shapes are the engine's check: a model for 2 classes in a file that names 3.
    let (_, _, two) = {
        let mut engine = engine();
        let mut labelled = Vec::new();
        for (i, (label, bytes)) in crops(0, 3, 2)
            .into_iter()
            .filter(|(l, _)| *l < 2)
            .enumerate()
        {
            block_on(engine.add_example(i as u32, &bytes, true)).expect("example");
            labelled.push((i as u32, label));
        }
        let saved = block_on(engine.train(
            names()[..2].to_vec(),
            &labelled,
            &TrainSettings::default(),
            |_| async { true },
        ))
        .expect("train");
        ((), (), saved)
    };
    let mut mismatched = project_file::read(&good).expect("read");
    mismatched.model.as_mut().expect("model").weights = two.weights;
    let error = trained.check_project(&mismatched).expect_err("refused");
    println!("wrong shape: {error}");
    assert!(
        matches!(&error, EngineError::UnusableModel(why) if why.contains("shape")),
        "{error:?}"
    );

    // A photo that claims to be a JPEG but is not one.
    let mut broken = project_file::read(&good).expect("read");
    broken.photos[1].jpeg.truncate(40);
    let error = trained.check_project(&broken).expect_err("refused");
    println!("broken photo: {error}");
    assert!(
        matches!(&error, EngineError::UnusablePhoto { number: 2, .. }),
        "{error:?}"
    );
    assert!(error.to_string().starts_with("photo 2 (\""), "{error}");

    assert!(matches!(
        project_file::read(&edit_manifest(&good, |m| m["format_version"] = 2.into())),
        Err(ProjectFileError::TooNew(2))
    ));
}
