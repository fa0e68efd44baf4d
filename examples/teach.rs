//! Trains a personal model natively, for datasets too large for a browser tab: the same engine,
//! settings and metrics as the page, on the CPU (Burn's Flex backend) or a GPU (wgpu):
//!
//! ```text
//! cargo run --release --example teach -- INPUT out.zip [--mode head|blocks] [--epochs N]
//!     [--seed N] [--device cpu|wgpu] [--backbone lite0|lite1|lite2]
//! ```
//!
//! INPUT is a project file exported from the page *with photos* (its settings and its backbone
//! are used unless overridden; its embeddings are its backbone's), a labelled folder (one
//! subfolder of photos per class), or a zip laid out the same way (embedded on `--backbone`,
//! Lite0 unless given). `out.zip` is a project file with the photos and the trained model: import it in the page
//! (Your work > Import…).

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Err(message) = native::run(std::env::args().skip(1).collect()) {
        eprintln!("teach: {message}");
        std::process::exit(1);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::{Path, PathBuf};

    use burn::prelude::Device;
    use futures::executor::block_on;
    use glimpse::engine::Engine;
    use glimpse::engine::teach::TrainMode;
    use glimpse::engine::teach::project::{project_from_folder, teach_project};
    use glimpse::formats::backbone::Backbone;
    use glimpse::formats::folder_import::{ImportReport, MAX_PHOTO_FILE_BYTES, Skip};
    use glimpse::formats::project_file::{self, Project};
    use glimpse::formats::zip_folder::{ZipFolder, ZipFolderError};

    const USAGE: &str = "usage: teach INPUT out.zip [--mode head|blocks] [--epochs N] [--seed N] \
                         [--device cpu|wgpu] [--backbone lite0|lite1|lite2]\n  INPUT: a project \
                         file with photos, a labelled folder, or a zip of one";

    struct Options {
        input: PathBuf,
        output: PathBuf,
        mode: Option<TrainMode>,
        epochs: Option<usize>,
        seed: Option<u64>,
        gpu: bool,
        backbone: Option<Backbone>,
    }

    fn options(args: Vec<String>) -> Result<Options, String> {
        let mut positional = Vec::new();
        let mut options = Options {
            input: PathBuf::new(),
            output: PathBuf::new(),
            mode: None,
            epochs: None,
            seed: None,
            gpu: false,
            backbone: None,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
            match arg.as_str() {
                "--mode" => {
                    options.mode = Some(match value()?.as_str() {
                        "head" => TrainMode::HeadOnly,
                        "blocks" => TrainMode::HeadAndBlocks,
                        other => return Err(format!("--mode is head or blocks, not {other}")),
                    })
                }
                "--epochs" => options.epochs = Some(number(&value()?)?),
                "--seed" => options.seed = Some(number(&value()?)?),
                "--backbone" => {
                    let id = value()?;
                    options.backbone = Some(
                        Backbone::parse(&id)
                            .ok_or(format!("--backbone is lite0, lite1 or lite2, not {id}"))?,
                    )
                }
                "--device" => {
                    options.gpu = match value()?.as_str() {
                        "cpu" => false,
                        "wgpu" => true,
                        other => return Err(format!("--device is cpu or wgpu, not {other}")),
                    }
                }
                _ if arg.starts_with("--") => return Err(format!("unknown option {arg}\n{USAGE}")),
                _ => positional.push(PathBuf::from(arg)),
            }
        }
        let [input, output] =
            <[PathBuf; 2]>::try_from(positional).map_err(|_| USAGE.to_string())?;
        options.input = input;
        options.output = output;
        Ok(options)
    }

    fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
        text.parse()
            .map_err(|_| format!("{text} is not a whole number"))
    }

    pub fn run(args: Vec<String>) -> Result<(), String> {
        let options = options(args)?;
        let device = if options.gpu {
            Device::wgpu_options()
                .init()
                .map_err(|e| format!("no GPU through wgpu: {e:?}"))?
        } else {
            Device::flex()
        };
        let (mut engine, project, report) = read_input(device, options.backbone, &options.input)?;
        if let Some(report) = report {
            print_report(&report);
        }
        let mut settings = project.settings.clone();
        settings.mode = options.mode.unwrap_or(settings.mode);
        settings.epochs = options.epochs.unwrap_or(settings.epochs);
        settings.seed = options.seed.unwrap_or(settings.seed);
        let taught = block_on(teach_project(&mut engine, project, &settings, |p| {
            if let Some(report) = &p.report {
                eprintln!(
                    "{}: epoch {}/{}  loss {:.4}  accuracy {:.3}",
                    p.stage, p.epoch, p.epochs, report.train_loss, report.train_accuracy
                );
            }
            async { true }
        }))
        .map_err(|e| e.to_string())?;
        print_summary(&taught);
        let created = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let bytes = project_file::write(&taught, &created, true);
        std::fs::write(&options.output, bytes)
            .map_err(|e| format!("{}: {e}", options.output.display()))?;
        println!("wrote {}", options.output.display());
        Ok(())
    }

    /// An engine of `backbone` on `device`.
    fn engine_on(device: Device, backbone: Backbone) -> Result<Engine, String> {
        let path = format!(
            "{}/weights/{}",
            env!("CARGO_MANIFEST_DIR"),
            backbone.weights_file()
        );
        let weights = std::fs::read(&path)
            .map_err(|e| format!("{path}: {e} (scripts/weights.sh fetches it)"))?;
        Engine::new(device, &weights).map_err(|e| format!("the weights: {e}"))
    }

    /// The engine and the project to train: a project file as it is, on its backbone, or a
    /// labelled folder or zip embedded here on `backbone` (Lite0 unless given).
    fn read_input(
        device: Device,
        backbone: Option<Backbone>,
        input: &Path,
    ) -> Result<(Engine, Project, Option<ImportReport>), String> {
        let name = input
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let folder_backbone = backbone.unwrap_or_default();
        if input.is_dir() {
            let files = folder_files(input)?;
            let paths: Vec<String> = files.iter().map(|(path, _)| path.clone()).collect();
            let reads = files
                .into_iter()
                .map(|(path, file)| (path, read_photo(&file)));
            let mut engine = engine_on(device, folder_backbone)?;
            let (project, report) = embedded(&mut engine, &name, &paths, reads);
            return Ok((engine, project, report));
        }
        let read = || std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()));
        let mut zip = match ZipFolder::open(read()?) {
            Err(ZipFolderError::ProjectFile) => {
                let project = project_file::read(&read()?).map_err(|e| format!("{name}: {e}"))?;
                if project.photos.is_empty() {
                    return Err(format!(
                        "{name} has no photos: export the project with its photos"
                    ));
                }
                if let Some(wanted) = backbone.filter(|b| *b != project.backbone) {
                    return Err(format!(
                        "{name} holds {} embeddings, not {wanted}'s: change the backbone in \
                         the page, or train from a labelled folder",
                        project.backbone
                    ));
                }
                return Ok((engine_on(device, project.backbone)?, project, None));
            }
            other => other.map_err(|e| format!("{name}: {e}"))?,
        };
        let files = zip.files();
        let paths: Vec<String> = files.iter().map(|(_, path)| path.clone()).collect();
        // One file inflated at a time, as the engine takes it.
        let reads = files
            .into_iter()
            .map(|(index, path)| (path, zip.read(index)));
        let mut engine = engine_on(device, folder_backbone)?;
        let (project, report) = embedded(&mut engine, &name, &paths, reads);
        Ok((engine, project, report))
    }

    /// A labelled folder's photos embedded one by one, as a project, with what the import did.
    fn embedded(
        engine: &mut Engine,
        name: &str,
        paths: &[String],
        reads: impl IntoIterator<Item = (String, Result<Vec<u8>, Skip>)>,
    ) -> (Project, Option<ImportReport>) {
        let (project, report) = block_on(project_from_folder(engine, name, paths, reads));
        (project, Some(report))
    }

    /// Every file under `root`, with its path from `root`'s own name down, in name order.
    fn folder_files(root: &Path) -> Result<Vec<(String, PathBuf)>, String> {
        let base = root.parent().unwrap_or(Path::new(""));
        let mut files = Vec::new();
        let mut folders = vec![root.to_path_buf()];
        while let Some(folder) = folders.pop() {
            let entries =
                std::fs::read_dir(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    folders.push(path);
                } else {
                    let relative = path.strip_prefix(base).unwrap_or(&path);
                    files.push((relative.to_string_lossy().replace('\\', "/"), path));
                }
            }
        }
        files.sort();
        Ok(files)
    }

    fn read_photo(path: &Path) -> Result<Vec<u8>, Skip> {
        let size = std::fs::metadata(path)
            .map_err(|e| Skip::Unreadable(e.to_string()))?
            .len();
        if size > MAX_PHOTO_FILE_BYTES {
            return Err(Skip::TooLarge { bytes: size });
        }
        std::fs::read(path).map_err(|e| Skip::Unreadable(e.to_string()))
    }

    fn print_report(report: &ImportReport) {
        for class in &report.classes {
            println!("{}: {} photos", class.name, class.added);
        }
        for skipped in &report.skipped {
            println!("skipped {}: {}", skipped.path, skipped.reason);
        }
        if report.ignored > 0 {
            println!("ignored {} system files", report.ignored);
        }
    }

    fn print_summary(project: &Project) {
        let Some(summary) = project.model.as_ref().map(|m| &m.summary) else {
            return;
        };
        println!(
            "held-out accuracy {:.1}% ({}), best epoch {}",
            summary.evaluation.accuracy * 100.0,
            summary.evaluation_method,
            summary.best_epoch
        );
        for (class, scores) in summary.classes.iter().zip(&summary.evaluation.per_class) {
            println!(
                "  {class}: precision {:.2}, recall {:.2}",
                scores.precision, scores.recall
            );
        }
        for warning in &summary.warnings {
            println!("warning: {warning}");
        }
    }
}
