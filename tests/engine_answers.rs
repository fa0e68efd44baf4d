//! The engine driven as the worker drives it: `Request` values in through `Engine::answer`,
//! `Response` values out, on the CPU backend. Each request gets the answers the page counts on
//! (`Request::answers`), and failures come back typed.

use std::cell::{Cell, RefCell};

use burn::prelude::*;
use futures::executor::block_on;
use glimpse::engine::{Engine, Respond};
use glimpse::formats::project_file::ProjectFileError;
use glimpse::protocol::{
    EngineError, PhotoError, Request, Response, SaliencyMethod, TeachError, TrainSettings,
};

mod common;

use common::{CLASSES, FIXTURES, WEIGHTS, crops};

/// The page's side: every response, and a cancel after `cancel_after` progress reports.
#[derive(Default)]
struct Page {
    responses: RefCell<Vec<Response>>,
    cancel_after: Option<usize>,
    progress_seen: Cell<usize>,
}

impl Respond for Page {
    fn send(&self, response: Response) {
        if matches!(response, Response::TrainProgress(_)) {
            self.progress_seen.set(self.progress_seen.get() + 1);
        }
        self.responses.borrow_mut().push(response);
    }

    fn go_on(&self) -> impl Future<Output = bool> {
        let go = self
            .cancel_after
            .is_none_or(|after| self.progress_seen.get() < after);
        async move { go }
    }
}

impl Page {
    /// Sends `request` and takes what came back, checking it settles what the request is owed.
    fn ask(&self, engine: &mut Engine, request: Request) -> Vec<Response> {
        let owed = request.answers();
        block_on(engine.answer(request, self)).expect("an engine request");
        let responses = self.responses.take();
        let settled: u32 = responses.iter().map(Response::settles).sum();
        assert_eq!(settled, owed, "{responses:?}");
        responses
    }
}

fn engine() -> Engine {
    Engine::new(Device::flex(), &std::fs::read(WEIGHTS).expect("weights")).expect("engine")
}

fn names() -> Vec<String> {
    CLASSES.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_photo_gets_its_ranked_classes_then_the_overlay_of_its_top_class() {
    let mut engine = engine();
    let page = Page::default();
    let bytes = std::fs::read(format!("{FIXTURES}/photos/flamingo.jpg")).expect("photo");
    let answers = page.ask(&mut engine, Request::Classify { id: 7, bytes });
    let [
        Response::Classified {
            id: 7,
            result: Ok(classification),
        },
        Response::Explained {
            id: 7,
            class_index,
            method: SaliencyMethod::GradCam,
            result: Ok(map),
        },
    ] = answers.as_slice()
    else {
        panic!("{answers:?}");
    };
    assert_eq!(classification.predictions[0].label, "flamingo");
    assert_eq!(*class_index, classification.predictions[0].class_index);
    assert_eq!(map.values.len(), (map.side * map.side) as usize);
    assert!(
        map.values.contains(&255),
        "the overlay is normalised to its peak"
    );

    // A file that is not a photo: one answer, typed, and no overlay owed after it.
    let answers = page.ask(
        &mut engine,
        Request::Classify {
            id: 8,
            bytes: b"not a photo".to_vec(),
        },
    );
    assert!(
        matches!(
            answers.as_slice(),
            [Response::Classified {
                id: 8,
                result: Err(PhotoError::Decode(_))
            }]
        ),
        "{answers:?}"
    );
}

#[test]
fn teaching_through_requests_learns_every_photo_and_switches_models() {
    let mut engine = engine();
    let page = Page::default();
    // No personal model yet: using one is refused, typed.
    let answers = page.ask(&mut engine, Request::UseModel { personal: true });
    assert!(
        matches!(
            answers.as_slice(),
            [Response::ModelChanged {
                personal: true,
                result: Err(EngineError::NoPersonalModel)
            }]
        ),
        "{answers:?}"
    );

    let mut examples = Vec::new();
    for (i, (label, bytes)) in crops(0, 5, 1).into_iter().enumerate() {
        let id = 100 + i as u32;
        let answers = page.ask(
            &mut engine,
            Request::AddExample {
                id,
                bytes,
                keep: true,
            },
        );
        let [
            Response::ExampleAdded {
                id: got,
                result: Ok(kept),
            },
        ] = answers.as_slice()
        else {
            panic!("{answers:?}");
        };
        assert_eq!((*got, kept.embeddings.len()), (id, 4 * 1280));
        examples.push((id, label as u32));
    }

    // A photo the engine never embedded is named, not silently left out.
    let mut with_stranger = examples.clone();
    with_stranger.push((999, 0));
    let answers = page.ask(
        &mut engine,
        Request::Train {
            classes: names(),
            examples: with_stranger,
            settings: TrainSettings::default(),
        },
    );
    assert!(
        matches!(
            answers.as_slice(),
            [Response::Trained(Err(EngineError::Teach(
                TeachError::NotReady(999)
            )))]
        ),
        "{answers:?}"
    );

    let answers = page.ask(
        &mut engine,
        Request::Train {
            classes: names(),
            examples: examples.clone(),
            settings: TrainSettings::default(),
        },
    );
    let progress = answers
        .iter()
        .filter(|r| matches!(r, Response::TrainProgress(_)))
        .count();
    let Some(Response::Trained(Ok(saved))) = answers.last() else {
        panic!("{:?}", answers.last());
    };
    assert!(progress >= 10, "{progress} progress reports");
    assert_eq!(saved.summary.trained_per_class, vec![5, 5, 5]);
    assert!(!saved.summary.cancelled);

    // Trained means in use: unseen crops get the person's classes, mostly right.
    let unseen = crops(1, 2, 9);
    let mut right = 0;
    for (i, (label, bytes)) in unseen.iter().enumerate() {
        let answers = page.ask(
            &mut engine,
            Request::Classify {
                id: i as u32,
                bytes: bytes.clone(),
            },
        );
        let Response::Classified {
            result: Ok(classification),
            ..
        } = &answers[0]
        else {
            panic!("{answers:?}");
        };
        assert_eq!(classification.predictions.len(), 3);
        right += usize::from(classification.predictions[0].label == CLASSES[*label]);
    }
    assert!(right >= 5, "{right} of {}", unseen.len());

    // Back to ImageNet: 1000 classes again, the top five listed.
    let answers = page.ask(&mut engine, Request::UseModel { personal: false });
    assert!(matches!(
        answers.as_slice(),
        [Response::ModelChanged {
            personal: false,
            result: Ok(())
        }]
    ));
    let bytes = std::fs::read(format!("{FIXTURES}/photos/coyote.jpg")).expect("photo");
    let answers = page.ask(&mut engine, Request::Classify { id: 50, bytes });
    let Response::Classified {
        result: Ok(classification),
        ..
    } = &answers[0]
    else {
        panic!("{answers:?}");
    };
    assert_eq!(classification.predictions[0].label, "coyote");
    assert_eq!(classification.predictions.len(), 5);
}

/// The page's pool: a helper embeds and keeps nothing; the engine that trains takes the helper's
/// answer back as a restored photo and learns exactly what it would from embedding it itself.
#[test]
fn a_helper_embeds_without_keeping_and_the_trainer_learns_the_same_from_its_answers() {
    let (mut helper, mut trainer, mut alone) = (engine(), engine(), engine());
    let page = Page::default();
    let mut examples = Vec::new();
    for (i, (label, bytes)) in crops(0, 3, 3).into_iter().enumerate() {
        let id = 10 + i as u32;
        let embed = |engine: &mut Engine, keep| {
            let request = Request::AddExample {
                id,
                bytes: bytes.clone(),
                keep,
            };
            match page.ask(engine, request).pop() {
                Some(Response::ExampleAdded {
                    result: Ok(kept), ..
                }) => kept,
                other => panic!("photo {id} (keep: {keep}): {other:?}"),
            }
        };
        let kept = embed(&mut helper, false);
        let own = embed(&mut alone, true);
        assert_eq!(kept.embeddings, own.embeddings, "photo {id}");
        assert_eq!(kept.photo, own.photo, "photo {id}");
        let restored = page.ask(
            &mut trainer,
            Request::RestoreExample {
                id,
                photo: kept.photo.clone(),
                embeddings: kept.embeddings.clone(),
            },
        );
        assert!(
            matches!(
                restored.as_slice(),
                [Response::ExampleRestored { result: Ok(()), .. }]
            ),
            "{restored:?}"
        );
        examples.push((id, label as u32));
    }
    let train = || Request::Train {
        classes: names(),
        examples: examples.clone(),
        settings: TrainSettings::default(),
    };
    // The helper kept nothing: it cannot train on the photos it embedded.
    assert!(
        matches!(
            page.ask(&mut helper, train()).as_slice(),
            [Response::Trained(Err(EngineError::Teach(
                TeachError::NotReady(10)
            )))]
        ),
        "the helper kept a photo"
    );
    let summary = |answers: Vec<Response>| match answers.last() {
        Some(Response::Trained(Ok(saved))) => saved.summary.clone(),
        other => panic!("{other:?}"),
    };
    let pooled = summary(page.ask(&mut trainer, train()));
    let single = summary(page.ask(&mut alone, train()));
    assert_eq!(pooled.trained_per_class, vec![3, 3, 3]);
    assert_eq!(pooled.history, single.history);
    assert_eq!(pooled.held_out, single.held_out);
}

#[test]
fn a_cancel_between_epochs_ends_the_run_with_its_best_model() {
    let mut engine = engine();
    let page = Page {
        cancel_after: Some(3),
        ..Page::default()
    };
    let mut examples = Vec::new();
    for (i, (label, bytes)) in crops(0, 3, 2).into_iter().enumerate() {
        page.ask(
            &mut engine,
            Request::AddExample {
                id: i as u32,
                bytes,
                keep: true,
            },
        );
        examples.push((i as u32, label as u32));
    }
    let answers = page.ask(
        &mut engine,
        Request::Train {
            classes: names(),
            examples,
            settings: TrainSettings::default(),
        },
    );
    let Some(Response::Trained(Ok(saved))) = answers.last() else {
        panic!("{:?}", answers.last());
    };
    assert!(saved.summary.cancelled);
    // The first fold stops at the cancel (three reports), no other fold starts, and the final
    // head is built from what the fold got to.
    let stages: Vec<&str> = answers
        .iter()
        .filter_map(|r| match r {
            Response::TrainProgress(p) => Some(p.stage.as_str()),
            _ => None,
        })
        .collect();
    let first_fold = stages.iter().filter(|s| s.starts_with("fold 1 ")).count();
    assert_eq!(first_fold, 3, "{stages:?}");
    assert!(
        !stages.iter().any(|s| s.starts_with("fold 2 ")),
        "{stages:?}"
    );
    assert_eq!(
        stages.last(),
        Some(&"final head on all photos"),
        "{stages:?}"
    );
}

#[test]
fn files_and_requests_the_engine_cannot_take_are_refused_typed() {
    let mut engine = engine();
    let page = Page::default();
    let answers = page.ask(
        &mut engine,
        Request::CheckProject {
            bytes: b"PK\x03\x04 not really a zip".to_vec(),
        },
    );
    assert!(
        matches!(
            answers.as_slice(),
            [Response::ProjectChecked(Err(EngineError::ProjectFile(
                ProjectFileError::NotOurs(_) | ProjectFileError::Damaged(_)
            )))]
        ),
        "{answers:?}"
    );
    let answers = page.ask(
        &mut engine,
        Request::Benchmark {
            pixels: vec![0.0; 10],
            batch: 1,
            runs: 1,
            warmup: 0,
        },
    );
    assert!(
        matches!(
            answers.as_slice(),
            [Response::Benchmarked(Err(EngineError::BadInput {
                expected: 150_528
            }))]
        ),
        "{answers:?}"
    );
    let answers = page.ask(
        &mut engine,
        Request::ExportNetwork {
            created: "2026-12-01T00:00:00Z".into(),
        },
    );
    assert!(matches!(
        answers.as_slice(),
        [Response::NetworkExported(Err(EngineError::NoPersonalModel))]
    ));
    // What only a worker has comes back to the worker, unanswered.
    assert!(matches!(
        block_on(engine.answer(Request::Memory, &page)),
        Err(Request::Memory)
    ));
    assert!(page.responses.borrow().is_empty());
}
