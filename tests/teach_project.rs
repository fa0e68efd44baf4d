//! Teaching outside the browser (`examples/teach.rs` on `engine::teach::project`): a labelled
//! folder embedded and trained natively becomes a project file that the page's checks accept and
//! whose model knows the classes; a project file trained again keeps its photos and settings.

use burn::prelude::*;
use futures::executor::block_on;
use glimpse::engine::Engine;
use glimpse::engine::teach::project::{project_from_folder, teach_project};
use glimpse::engine::teach::{TrainMode, TrainSettings};
use glimpse::formats::folder_import::{ImportReport, Skip};
use glimpse::formats::project_file::{self, Project};

mod common;

use common::{CLASSES, WEIGHTS, crops};

/// Training seeds the CPU backend's one random generator (dropout draws from it): two runs at
/// once in this binary's test threads would draw from each other's sequence, and a run would no
/// longer repeat. Each test trains while holding this.
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn new_engine() -> Engine {
    Engine::new(Device::flex(), &std::fs::read(WEIGHTS).expect("weights")).expect("engine")
}

/// Twelve crops of each texture's left half as a folder `textures/<class>/<n>.png`, with litter,
/// a text file and one photo twice.
fn labelled_folder() -> Vec<(String, Result<Vec<u8>, Skip>)> {
    let mut files: Vec<(String, Result<Vec<u8>, Skip>)> = crops(0, 12, 3)
        .into_iter()
        .enumerate()
        .map(|(i, (label, png))| (format!("textures/{}/{i}.png", CLASSES[label]), Ok(png)))
        .collect();
    let again = files[0].1.clone();
    files.push(("textures/brick/again.png".into(), again));
    files.push((
        "textures/grass/notes.txt".into(),
        Ok(b"field notes".to_vec()),
    ));
    files.push((
        "textures/__MACOSX/brick/._0.png".into(),
        Ok(vec![0, 5, 22, 7]),
    ));
    files.push((
        "textures/gravel/unreadable.png".into(),
        Err(Skip::Unreadable("permission denied".into())),
    ));
    files
}

/// The labelled folder embedded as a project, with the import's report.
fn embedded_folder(engine: &mut Engine) -> (Project, ImportReport) {
    let files = labelled_folder();
    let paths: Vec<String> = files.iter().map(|(path, _)| path.clone()).collect();
    block_on(project_from_folder(engine, "textures", &paths, files))
}

fn unseen_right(engine: &Engine) -> usize {
    crops(1, 3, 11)
        .iter()
        .enumerate()
        .filter(|(i, (label, bytes))| {
            let answer = block_on(engine.classify(*i as u32, bytes)).expect("classify");
            answer.predictions[0].label == CLASSES[*label]
        })
        .count()
}

#[test]
fn a_labelled_folder_trained_natively_is_a_project_the_page_imports_with_a_model_that_knows_it() {
    let _alone = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut engine = new_engine();
    let (project, report) = embedded_folder(&mut engine);
    assert_eq!(project.classes, CLASSES);
    assert_eq!(project.photos.len(), 36);
    assert_eq!(report.added(), 36);
    assert_eq!(report.ignored, 1);
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        skipped,
        [
            "textures/brick/again.png",
            "textures/grass/notes.txt",
            "textures/gravel/unreadable.png"
        ]
    );

    let settings = TrainSettings {
        seed: 5,
        ..TrainSettings::default()
    };
    let taught = block_on(teach_project(&mut engine, project, &settings, |_| async {
        true
    }))
    .expect("teach");
    let summary = &taught.model.as_ref().expect("a model").summary;
    assert_eq!(summary.trained_per_class, [12, 12, 12]);
    assert!(
        summary.evaluation.accuracy >= 0.9,
        "held-out accuracy {}",
        summary.evaluation.accuracy
    );
    assert_eq!(taught.settings, settings);

    // As the page imports it: read, checked by a fresh engine, loaded and used.
    let bytes = project_file::write(&taught, "2026-12-01T00:00:00Z", true);
    let mut page_engine = new_engine();
    let (imported, thumbnails) = page_engine
        .check_project_file(&bytes)
        .expect("the page's checks");
    assert_eq!(thumbnails.len(), 36);
    assert_eq!(imported.classes, CLASSES);
    page_engine
        .load_model(imported.model.as_ref().unwrap())
        .expect("load");
    page_engine.use_personal_model(true).expect("use");
    let right = unseen_right(&page_engine);
    assert!(right >= 8, "{right} of 9 unseen crops right");
}

#[test]
fn a_project_file_trained_again_keeps_its_photos_and_takes_the_settings_given() {
    let _alone = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut engine = new_engine();
    let (project, _) = embedded_folder(&mut engine);
    let bytes = project_file::write(&project, "2026-12-01T00:00:00Z", true);
    let read = project_file::read(&bytes).expect("read");
    assert!(read.model.is_none());
    let settings = TrainSettings {
        mode: TrainMode::HeadOnly,
        epochs: 12,
        seed: 9,
        ..TrainSettings::default()
    };
    let mut fresh = new_engine();
    let taught = block_on(teach_project(
        &mut fresh,
        read.clone(),
        &settings,
        |_| async { true },
    ))
    .expect("teach");
    assert_eq!(taught.photos, read.photos);
    let summary = &taught.model.as_ref().unwrap().summary;
    assert_eq!(summary.mode, TrainMode::HeadOnly);
    assert!(summary.history.len() <= 12);
    // The same settings on the same photos give the same model: the run is repeatable.
    let again = block_on(teach_project(&mut fresh, read, &settings, |_| async {
        true
    }))
    .expect("teach");
    assert_eq!(again.model.unwrap().weights, taught.model.unwrap().weights);
}
