//! Teaching outside the browser (`examples/teach.rs`): a project file with photos, or a labelled
//! folder of photos, trained by the same engine with the same settings and metrics as in the
//! page, into a project file the page imports. For datasets too large for a browser tab.

use std::future::Future;

use super::{TrainProgress, TrainSettings};
use crate::engine::Engine;
use crate::formats::folder_import::{FolderImport, ImportReport, Skip};
use crate::formats::project_file::{Project, ProjectExample, ProjectFileError};
use crate::protocol::{EngineError, PhotoError};

/// Trains the engine on a project's photos (their stored embeddings, as the page does after a
/// reload) with `settings`, and gives the project back with the model and the settings in it.
pub async fn teach_project<F: Future<Output = bool>>(
    engine: &mut Engine,
    mut project: Project,
    settings: &TrainSettings,
    progress: impl FnMut(TrainProgress) -> F,
) -> Result<Project, EngineError> {
    engine.reset();
    let mut labelled = Vec::with_capacity(project.photos.len());
    for (i, photo) in project.photos.iter().enumerate() {
        let id = i as u32;
        engine
            .restore_example(id, photo.jpeg.clone(), &photo.embeddings)
            .map_err(|error| unusable(i, &photo.name, error))?;
        labelled.push((id, photo.class));
    }
    let saved = engine
        .train(project.classes.clone(), &labelled, settings, progress)
        .await?;
    project.model = Some(saved);
    project.settings = settings.clone();
    Ok(project)
}

fn unusable(index: usize, name: &str, error: PhotoError) -> EngineError {
    match error {
        PhotoError::Decode(reason) => EngineError::UnusablePhoto {
            number: index + 1,
            name: name.to_string(),
            reason,
        },
        other => EngineError::ProjectFile(ProjectFileError::Invalid(format!(
            "photo {} (\"{name}\"): {other}",
            index + 1
        ))),
    }
}

/// A labelled folder (or zip) as a project without a model and with the default settings: each
/// photo embedded in turn, as the page embeds a photo dropped on a class. `files` yields each file's path and bytes (or why
/// they could not be read) one at a time, so a large folder is never in memory whole.
pub async fn project_from_folder(
    engine: &mut Engine,
    name: &str,
    paths: &[String],
    files: impl IntoIterator<Item = (String, Result<Vec<u8>, Skip>)>,
) -> (Project, ImportReport) {
    let mut import = FolderImport::new(name, paths.iter().map(String::as_str), [], []);
    let mut project = Project {
        backbone: engine.backbone(),
        classes: Vec::new(),
        photos: Vec::new(),
        model: None,
        settings: TrainSettings::default(),
    };
    for (id, (path, bytes)) in files.into_iter().enumerate() {
        let Some(class) = import.class_of(&path) else {
            continue;
        };
        let bytes = match bytes {
            Ok(bytes) => bytes,
            Err(reason) => {
                import.skip(&path, reason);
                continue;
            }
        };
        let Ok(admitted) = import.admit(&path, &class, &bytes) else {
            continue;
        };
        let class_name = admitted.class.clone();
        match engine.add_example(id as u32, &bytes, false).await {
            Ok(kept) => {
                let class = match project.classes.iter().position(|c| *c == admitted.class) {
                    Some(index) => index,
                    None => {
                        project.classes.push(admitted.class);
                        project.classes.len() - 1
                    }
                };
                project.photos.push(ProjectExample {
                    class,
                    name: crate::formats::folder_import::file_name(&path).to_string(),
                    jpeg: kept.photo,
                    embeddings: kept.embeddings,
                });
            }
            Err(error) => import.refuse(&path, &class_name, Skip::Unreadable(error.to_string())),
        }
    }
    (project, import.into_report())
}
