//! The engine itself: the device, the ImageNet model, the personal model and the training
//! examples, and an answer for every request.

use std::cell::RefCell;
use std::collections::HashMap;

use burn::prelude::*;
use burn::tensor::activation::softmax;
use web_time::Instant;

use super::answer::Respond;
use super::photo_cache::PhotoCache;
use super::teach::{
    Example, KeptExample, KeptPhoto, PersonalClassifier, PersonalModel, TrainProgress,
    TrainSettings, thumbnail_jpeg,
};
use crate::backend_race::{PROBE_RUNS, Probe, median, probe_photo, probe_pixels};
use crate::formats::project_file::{Project, SavedModel};
use crate::formats::records::BenchmarkRun;
use crate::ml::fine_tune::{FineTuneConfig, TunableTop, fine_tune};
use crate::ml::labels::{self, ClassName};
use crate::ml::model::{Backbone, EfficientNetLite, images};
use crate::ml::personal_head::PersonalHeadConfig;
use crate::ml::predict::top_k;
use crate::ml::preprocess::{Preprocessed, decode, preprocess};
use crate::ml::readback::{ReadbackError, read_floats};
use crate::ml::saliency::{
    Classifier, SMOOTHGRAD_SAMPLES, SaliencyMap, SaliencyMethod, grad_cam, smooth_grad,
};
use crate::ml::weights::{WeightsError, load_imagenet};
use crate::protocol::{Classification, EngineError, Heatmap, PhotoError, Prediction, Request};

/// Profiled passes behind each layer's median in a batch-1 benchmark.
const PROFILE_PASSES: usize = 5;

/// How many classes each photo's card lists.
pub const TOP_K: usize = 5;

pub struct Engine {
    device: Device,
    /// Which network `model` is; photos are cropped and sized for it.
    backbone: Backbone,
    model: EfficientNetLite,
    /// The ImageNet class names, read once.
    labels: Vec<ClassName>,
    photos: PhotoCache,
    /// Features of the last classified photo under the active model, for its Grad-CAM.
    last_features: RefCell<Option<(u32, Tensor<4>)>>,
    examples: HashMap<u32, Example>,
    personal: Option<Personal>,
    use_personal: bool,
}

/// The person's model and its classes as predictions name them (no synonyms).
struct Personal {
    model: PersonalModel,
    labels: Vec<ClassName>,
}

impl Personal {
    fn new(model: PersonalModel) -> Self {
        let labels = model
            .classes
            .iter()
            .map(|name| ClassName {
                name: name.clone(),
                synonyms: Vec::new(),
            })
            .collect();
        Self { model, labels }
    }
}

/// The model photos go through now: the ImageNet one, or the person's own on top of it.
enum ActiveModel<'a> {
    ImageNet(&'a EfficientNetLite),
    Personal(PersonalClassifier<'a>),
}

impl Classifier for ActiveModel<'_> {
    fn features(&self, images: Tensor<4>) -> Tensor<4> {
        match self {
            ActiveModel::ImageNet(model) => model.features(images),
            ActiveModel::Personal(personal) => personal.features(images),
        }
    }

    fn head(&self, pooled: Tensor<2>) -> Tensor<2> {
        match self {
            ActiveModel::ImageNet(model) => model.head(pooled),
            ActiveModel::Personal(personal) => personal.head(pooled),
        }
    }
}

fn inference(e: ReadbackError) -> PhotoError {
    PhotoError::Inference(e.to_string())
}

impl From<ReadbackError> for EngineError {
    fn from(e: ReadbackError) -> Self {
        EngineError::Device(e.to_string())
    }
}

impl Engine {
    /// Builds the ImageNet classifier on `device` from a weight file's bytes (any of the
    /// backbones).
    pub fn new(device: Device, weights: &[u8]) -> Result<Self, WeightsError> {
        let model = load_imagenet(weights, &device)?;
        Ok(Self {
            device,
            backbone: model.backbone(),
            model,
            labels: labels::imagenet(),
            photos: PhotoCache::default(),
            last_features: RefCell::new(None),
            examples: HashMap::new(),
            personal: None,
            use_personal: false,
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn model(&self) -> &EfficientNetLite {
        &self.model
    }

    pub fn backbone(&self) -> Backbone {
        self.backbone
    }

    /// Runs the model once on a blank image so that shader compilation and kernel selection
    /// happen at load time, not on the person's first photo; the Grad-CAM path too.
    pub async fn warm_up(&self) -> Result<(), ReadbackError> {
        let size = self.backbone.input_size();
        let blank = Tensor::<4>::zeros([1, 3, size, size], &self.device);
        let features = self.model.features(blank);
        read_floats(self.model.head(EfficientNetLite::pool(features.clone()))).await?;
        grad_cam(&self.model, features, 0, size).await.map(|_| ())
    }

    fn input(&self, photo: &Preprocessed) -> Tensor<4> {
        images(photo.pixels.clone(), 1, &self.device)
    }

    fn photo(&self, id: u32, bytes: &[u8]) -> Result<std::rc::Rc<Preprocessed>, PhotoError> {
        if let Some(photo) = self.photos.get(id) {
            return Ok(photo);
        }
        let photo = std::rc::Rc::new(preprocess(bytes, self.backbone)?);
        self.photos.put(id, photo.clone());
        Ok(photo)
    }

    /// The model photos go through now, and its class names.
    fn active(&self) -> (ActiveModel<'_>, &[ClassName]) {
        match (&self.personal, self.use_personal) {
            (Some(personal), true) => (
                ActiveModel::Personal(PersonalClassifier {
                    base: &self.model,
                    personal: &personal.model,
                }),
                &personal.labels,
            ),
            _ => (ActiveModel::ImageNet(&self.model), &self.labels),
        }
    }

    /// Decodes a photo and ranks the active model's classes for it.
    pub async fn classify(&self, id: u32, bytes: &[u8]) -> Result<Classification, PhotoError> {
        let started = Instant::now();
        let photo = self.photo(id, bytes)?;
        let (classifier, names) = self.active();
        let features = classifier.features(self.input(&photo));
        let pooled = EfficientNetLite::pool(features.clone());
        let probabilities = softmax(classifier.head(pooled.clone()), 1);
        let known = match &classifier {
            ActiveModel::Personal(p) => p.personal.known.as_ref(),
            ActiveModel::ImageNet(_) => None,
        };
        // The embedding comes back in the same read as the probabilities: on a GPU each
        // read-back waits for the queue.
        let (probs, familiarity) = match known {
            None => (read_floats(probabilities).await.map_err(inference)?, None),
            Some(known) => {
                let classes = names.len();
                let both = read_floats(Tensor::cat(vec![probabilities, pooled], 1))
                    .await
                    .map_err(inference)?;
                let (probs, embedding) = both.split_at(classes);
                (probs.to_vec(), Some(known.familiarity(embedding)))
            }
        };
        let predictions: Vec<Prediction> = top_k(&probs, TOP_K)
            .into_iter()
            .map(|score| {
                let name = &names[score.class];
                Prediction {
                    class_index: score.class as u32,
                    label: name.name.clone(),
                    synonyms: name.synonyms.clone(),
                    confidence: score.confidence,
                }
            })
            .collect();
        // Kept for the Grad-CAM of this photo, which the worker asks for right after.
        *self.last_features.borrow_mut() = Some((id, features));
        Ok(Classification {
            predictions,
            width: photo.width,
            height: photo.height,
            crop: photo.crop,
            personal: matches!(classifier, ActiveModel::Personal(_)),
            familiarity,
            elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }

    /// A saliency map of `class_index` of the active model for a photo.
    pub async fn explain(
        &self,
        id: u32,
        class_index: u32,
        method: SaliencyMethod,
        bytes: &[u8],
    ) -> Result<Heatmap, PhotoError> {
        let started = Instant::now();
        let (classifier, names) = self.active();
        let class = class_index as usize;
        if class >= names.len() {
            return Err(PhotoError::NoSuchClass(class_index));
        }
        let photo = self.photo(id, bytes)?;
        let map = match method {
            SaliencyMethod::GradCam => {
                let cached = match self.last_features.borrow().as_ref() {
                    Some((last, features)) if *last == id => Some(features.clone()),
                    _ => None,
                };
                let features = cached.unwrap_or_else(|| classifier.features(self.input(&photo)));
                grad_cam(&classifier, features, class, self.backbone.input_size()).await
            }
            SaliencyMethod::SmoothGrad => {
                smooth_grad(&classifier, self.input(&photo), class, SMOOTHGRAD_SAMPLES).await
            }
        }
        .map_err(inference)?;
        Ok(heatmap(method, class_index, &map, started))
    }

    /// Decodes and embeds a training photo (clean and augmented views); answers with what the
    /// page stores of it. `keep`: the engine keeps it to train on (a helper of the page's pool
    /// does not: the page hands the photo to the engine that trains).
    pub async fn add_example(
        &mut self,
        id: u32,
        bytes: &[u8],
        keep: bool,
    ) -> Result<KeptExample, PhotoError> {
        let image = decode(bytes)?;
        let (example, kept) =
            super::teach::make_example(&self.model, &image, u64::from(id), &self.device)
                .await
                .map_err(inference)?;
        if keep {
            self.examples.insert(id, example);
        }
        Ok(kept)
    }

    /// Takes back a stored training photo without embedding it again.
    pub fn restore_example(
        &mut self,
        id: u32,
        photo: Vec<u8>,
        embeddings: &[f32],
    ) -> Result<(), PhotoError> {
        let photo = KeptPhoto::new(photo)?;
        let example = Example::from_kept(photo, embeddings).map_err(PhotoError::Stored)?;
        self.examples.insert(id, example);
        Ok(())
    }

    pub fn remove_example(&mut self, id: u32) {
        self.examples.remove(&id);
    }

    /// Forgets every example and the personal model (the page cleared or replaced its work).
    pub fn reset(&mut self) {
        self.examples.clear();
        self.personal = None;
        self.use_personal = false;
        self.last_features.replace(None);
    }

    /// Trains a personal model on the kept examples and makes it the active model; answers with
    /// it as the page stores it.
    pub async fn train<F: Future<Output = bool>>(
        &mut self,
        classes: Vec<String>,
        labelled: &[(u32, usize)],
        settings: &TrainSettings,
        progress: impl FnMut(TrainProgress) -> F,
    ) -> Result<SavedModel, EngineError> {
        let (personal, summary) = super::teach::train(
            &self.model,
            &self.device,
            classes,
            labelled,
            &self.examples,
            settings,
            progress,
        )
        .await?;
        let tensors = super::model_file::kept_tensors(&personal).await?;
        let saved = SavedModel {
            backbone: self.backbone,
            weights: super::model_file::to_safetensors(&tensors, HashMap::new()),
            tuned_blocks: personal.top.as_ref().map_or(0, |t| t.blocks.len()),
            summary,
        };
        self.personal = Some(Personal::new(personal));
        self.use_personal = true;
        self.last_features.replace(None);
        Ok(saved)
    }

    /// Builds a stored or imported personal model (checking every tensor) without using it yet.
    pub fn load_model(&mut self, saved: &SavedModel) -> Result<(), EngineError> {
        self.personal = Some(Personal::new(self.check_model(saved)?));
        self.use_personal = false;
        self.last_features.replace(None);
        Ok(())
    }

    fn check_model(&self, saved: &SavedModel) -> Result<PersonalModel, EngineError> {
        if saved.backbone != self.backbone {
            return Err(EngineError::WrongBackbone {
                model: saved.backbone,
                running: self.backbone,
            });
        }
        super::model_file::load_personal(
            &saved.weights,
            saved.classes(),
            saved.tuned_blocks,
            &self.model,
            &self.device,
        )
        .map_err(|e| EngineError::UnusableModel(e.to_string()))
    }

    /// Answers one request through `to` (some get several responses: progress, then the
    /// answer), and hands back the requests only a worker can answer (`answer.rs`).
    pub async fn answer(&mut self, request: Request, to: &impl Respond) -> Result<(), Request> {
        super::answer::answer(self, request, to).await
    }

    /// Reads a project file and checks it (`check_project`): the project and its thumbnails.
    pub fn check_project_file(&self, bytes: &[u8]) -> Result<(Project, Vec<Vec<u8>>), EngineError> {
        let project = crate::formats::project_file::read(bytes)?;
        let thumbnails = self.check_project(&project)?;
        Ok((project, thumbnails))
    }

    /// Checks what an export file's checks cannot: that the model fits the network and every
    /// photo decodes. Answers with the photos' thumbnails; changes nothing. A project of another
    /// backbone is the page's to switch to: its model is checked by that backbone's engine when
    /// it loads.
    pub fn check_project(&self, project: &Project) -> Result<Vec<Vec<u8>>, EngineError> {
        if let Some(saved) = project
            .model
            .as_ref()
            .filter(|m| m.backbone == self.backbone)
        {
            self.check_model(saved)?;
        }
        project
            .photos
            .iter()
            .enumerate()
            .map(|(i, photo)| {
                let image = decode(&photo.jpeg).map_err(|reason| EngineError::UnusablePhoto {
                    number: i + 1,
                    name: photo.name.clone(),
                    reason,
                })?;
                Ok(thumbnail_jpeg(&image))
            })
            .collect()
    }

    /// The personal model as a whole network with its config, zipped, for other tools.
    pub async fn export_network(&self, created: &str) -> Result<Vec<u8>, EngineError> {
        let (personal, tensors) = self.whole_network().await?;
        let config = crate::formats::standalone::NetworkConfig::new(
            self.backbone,
            personal.classes.clone(),
            created,
        );
        Ok(crate::formats::standalone::write(&config, &tensors))
    }

    /// The personal model and the tensors of its whole network (the exports' contents).
    async fn whole_network(
        &self,
    ) -> Result<
        (
            &PersonalModel,
            Vec<crate::formats::tensor_file::NamedTensor>,
        ),
        EngineError,
    > {
        let personal = &self
            .personal
            .as_ref()
            .ok_or(EngineError::NoPersonalModel)?
            .model;
        let tensors = super::model_file::network_tensors(&self.model, personal).await?;
        Ok((personal, tensors))
    }

    /// The personal model as one ONNX file (the whole network, softmax last), for other runtimes.
    pub async fn export_onnx(&self, created: &str) -> Result<Vec<u8>, EngineError> {
        let (personal, tensors) = self.whole_network().await?;
        crate::formats::onnx_model::write(self.backbone, &tensors, &personal.classes, created)
            .map_err(|e| EngineError::UnusableModel(e.to_string()))
    }

    /// `batch` copies of one preprocessed model input, as a tensor on the engine's device.
    fn repeated_input(&self, pixels: &[f32], batch: usize) -> Result<Tensor<4>, EngineError> {
        let size = 3 * self.backbone.input_size().pow(2);
        if pixels.len() != size || batch == 0 {
            return Err(EngineError::BadInput { expected: size });
        }
        Ok(crate::ml::model::repeated_input(
            pixels,
            batch,
            &self.device,
        ))
    }

    /// One ImageNet forward pass of `batch` copies of one model input, its logits read back
    /// (upload, network, read-back: what a benchmark times and what GPU work is counted over).
    pub async fn forward_pass(
        &self,
        pixels: &[f32],
        batch: usize,
    ) -> Result<Vec<f32>, EngineError> {
        let x = self.repeated_input(pixels, batch)?;
        Ok(read_floats(self.model.forward(x)).await?)
    }

    /// The backend race's probe (`backend_race`): one untimed forward pass of its input (any
    /// kernel compiled late compiles there), then `PROBE_RUNS` timed ones.
    pub async fn probe(&self) -> Result<Probe, EngineError> {
        let pixels = probe_pixels();
        let mut logits = self.forward_pass(&pixels, 1).await?;
        let mut times_ms = Vec::with_capacity(PROBE_RUNS);
        for _ in 0..PROBE_RUNS {
            let started = Instant::now();
            logits = self.forward_pass(&pixels, 1).await?;
            times_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        Ok(Probe {
            ms: median(&times_ms),
            train_step_ms: None,
            logits,
        })
    }

    /// The race's training probe: one fine-tuning step of the head and last blocks (batch 8)
    /// untimed, then the time of one more, in milliseconds.
    pub async fn probe_training(&self) -> Result<f64, EngineError> {
        self.fine_tuning_step().await?;
        let started = Instant::now();
        self.fine_tuning_step().await?;
        Ok(started.elapsed().as_secs_f64() * 1000.0)
    }

    /// One step of "head + last blocks" on the probe photo and its mirror image: what a step of
    /// the heavy training mode costs on this device.
    async fn fine_tuning_step(&self) -> Result<(), EngineError> {
        let photo = probe_photo();
        let mirror = image::imageops::flip_horizontal(&photo);
        let photos: Vec<_> = (0..8)
            .map(|i| {
                if i % 2 == 0 {
                    (photo.clone(), 0)
                } else {
                    (mirror.clone(), 1)
                }
            })
            .collect();
        let config = FineTuneConfig::new().with_steps(1);
        let head = PersonalHeadConfig::new(2).init(&self.device);
        let top = TunableTop::from_model(&self.model, config.tuned_blocks, head);
        fine_tune(&self.model, top, &photos, 2, &config, |_, _| async { true }).await?;
        Ok(())
    }

    /// Times `runs` ImageNet forward passes of `batch` copies of one model input (upload, network,
    /// logits read back), after `warmup` untimed ones, for the side-by-side benchmark. Answers the
    /// times and the logits of the first copy, to check the other runtime got the same answer.
    pub async fn benchmark(
        &self,
        pixels: &[f32],
        batch: usize,
        runs: usize,
        warmup: usize,
    ) -> Result<BenchmarkRun, EngineError> {
        let mut times_ms = Vec::with_capacity(runs);
        let mut logits = Vec::new();
        for run in 0..warmup + runs {
            let started = Instant::now();
            logits = self.forward_pass(pixels, batch).await?;
            if run >= warmup {
                times_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            }
        }
        logits.truncate(logits.len() / batch.max(1));
        let layers = if batch == 1 {
            let x = self.repeated_input(pixels, batch)?;
            super::profile::layer_times(&self.model, x, PROFILE_PASSES).await?
        } else {
            Vec::new()
        };
        Ok(BenchmarkRun {
            times_ms,
            logits,
            layers,
        })
    }

    pub fn use_personal_model(&mut self, personal: bool) -> Result<(), EngineError> {
        if personal && self.personal.is_none() {
            return Err(EngineError::NoPersonalModel);
        }
        self.use_personal = personal;
        self.last_features.replace(None);
        Ok(())
    }
}

impl Classifier for &EfficientNetLite {
    fn features(&self, images: Tensor<4>) -> Tensor<4> {
        EfficientNetLite::features(self, images)
    }

    fn head(&self, pooled: Tensor<2>) -> Tensor<2> {
        EfficientNetLite::head(self, pooled)
    }
}

fn heatmap(
    method: SaliencyMethod,
    class_index: u32,
    map: &SaliencyMap,
    started: Instant,
) -> Heatmap {
    Heatmap {
        method,
        class_index,
        side: map.side as u32,
        values: map.to_bytes(),
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}
