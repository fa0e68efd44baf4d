//! The engine's side of the protocol: every `Request` the engine itself answers, and the
//! `Response`s each one gets. The worker hands requests here and keeps only what only a worker
//! has; the native tests drive the engine through the same door.

use super::Engine;
use crate::protocol::{ByteBuf, Request, Response, SaliencyMethod};

/// Where the engine's answers go, and what it waits for between training epochs.
pub trait Respond {
    fn send(&self, response: Response);

    /// Called between training epochs and steps: lets a cancel arrive, and answers whether to go
    /// on (false ends the run; its best model so far is kept).
    fn go_on(&self) -> impl Future<Output = bool>;
}

/// Answers one request (see `Engine::answer`).
pub(super) async fn answer(
    engine: &mut Engine,
    request: Request,
    to: &impl Respond,
) -> Result<(), Request> {
    match request {
        Request::Classify { id, bytes } => {
            let result = engine.classify(id, &bytes).await;
            let top = result
                .as_ref()
                .ok()
                .and_then(|c| c.predictions.first())
                .map(|p| p.class_index);
            to.send(Response::Classified { id, result });
            // The answer first, then the overlay of its top class.
            if let Some(class_index) = top {
                explain(engine, id, class_index, SaliencyMethod::GradCam, &bytes, to).await;
            }
        }
        Request::Explain {
            id,
            class_index,
            method,
            bytes,
        } => explain(engine, id, class_index, method, &bytes, to).await,
        Request::AddExample { id, bytes, keep } => {
            let result = engine.add_example(id, &bytes, keep).await;
            to.send(Response::ExampleAdded { id, result });
        }
        Request::RestoreExample {
            id,
            photo,
            embeddings,
        } => {
            let result = engine.restore_example(id, photo, &embeddings);
            to.send(Response::ExampleRestored { id, result });
        }
        Request::RemoveExample { id } => engine.remove_example(id),
        Request::Reset => engine.reset(),
        Request::Train {
            classes,
            examples,
            settings,
        } => {
            let labelled: Vec<(u32, usize)> = examples
                .iter()
                .map(|&(id, class)| (id, class as usize))
                .collect();
            let result = engine
                .train(classes, &labelled, &settings, |progress| {
                    to.send(Response::TrainProgress(progress));
                    to.go_on()
                })
                .await;
            to.send(Response::Trained(result));
        }
        Request::LoadModel(saved) => to.send(Response::ModelLoaded(engine.load_model(&saved))),
        Request::UseModel { personal } => {
            let result = engine.use_personal_model(personal);
            to.send(Response::ModelChanged { personal, result });
        }
        Request::CheckProject { bytes } => {
            let result = engine
                .check_project_file(&bytes)
                .map(|(project, thumbnails)| {
                    (project, thumbnails.into_iter().map(ByteBuf::from).collect())
                });
            to.send(Response::ProjectChecked(result));
        }
        Request::ExportNetwork { created } => {
            let result = engine.export_network(&created).await.map(ByteBuf::from);
            to.send(Response::NetworkExported(result));
        }
        Request::ExportOnnx { created } => {
            let result = engine.export_onnx(&created).await.map(ByteBuf::from);
            to.send(Response::OnnxExported(result));
        }
        Request::Benchmark {
            pixels,
            batch,
            runs,
            warmup,
        } => {
            let result = engine
                .benchmark(&pixels, batch as usize, runs as usize, warmup as usize)
                .await;
            to.send(Response::Benchmarked(result));
        }
        Request::Probe => to.send(Response::Probed(engine.probe().await)),
        Request::ProbeTraining => to.send(Response::TrainingProbed(engine.probe_training().await)),
        // Start-up, memory, GPU work counters, faults and cancelling are the worker's.
        request @ (Request::Init { .. }
        | Request::Memory
        | Request::CountGpuWork { .. }
        | Request::InjectFault(_)
        | Request::CancelTraining) => return Err(request),
    }
    Ok(())
}

/// A saliency map of one class of a photo, answered as `Explained`.
async fn explain(
    engine: &Engine,
    id: u32,
    class_index: u32,
    method: SaliencyMethod,
    bytes: &[u8],
    to: &impl Respond,
) {
    let result = engine.explain(id, class_index, method, bytes).await;
    to.send(Response::Explained {
        id,
        class_index,
        method,
        result,
    });
}
