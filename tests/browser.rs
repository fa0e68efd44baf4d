//! Browser-only checks, run by wasm-bindgen-test inside a dedicated Web Worker in headless
//! Chromium: the engine's worker session starts WebGPU there (SwiftShader here), loads the
//! weights through fetch with progress, and answers a classify request; the CPU path as well.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;

use glimpse::protocol::{BackendChoice, BackendKind, Request, Response};
use glimpse::worker::Session;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

const WEIGHTS: &[u8] = include_bytes!("../weights/efficientnet-lite0.f16.safetensors");
const FLAMINGO: &[u8] = include_bytes!("fixtures/photos/flamingo.jpg");

/// The weights as a blob: URL, so the session's real fetch path runs without a server.
fn weights_url() -> String {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(WEIGHTS).into());
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts).expect("blob");
    web_sys::Url::create_object_url_with_blob(&blob).expect("object url")
}

async fn start_and_classify(choice: BackendChoice) -> Vec<Response> {
    let responses = RefCell::new(Vec::new());
    let respond = |r: Response| responses.borrow_mut().push(r);
    let mut session = Session::default();
    session
        .handle(
            Request::Init {
                backend: choice,
                weights_url: weights_url(),
            },
            &respond,
        )
        .await;
    session
        .handle(
            Request::Classify {
                id: 7,
                bytes: FLAMINGO.to_vec(),
            },
            &respond,
        )
        .await;
    session
        .handle(
            Request::Classify {
                id: 8,
                bytes: b"not a photo".to_vec(),
            },
            &respond,
        )
        .await;
    responses.into_inner()
}

fn check(responses: &[Response], kind: BackendKind) {
    assert!(
        responses.iter().any(|r| matches!(r, Response::LoadProgress { loaded, .. } if *loaded == WEIGHTS.len() as u64)),
        "progress reaches the full size"
    );
    let ready = responses.iter().find_map(|r| match r {
        Response::Ready { backend, .. } => Some(backend.clone()),
        Response::InitFailed { message } => panic!("init failed: {message}"),
        _ => None,
    });
    let backend = ready.expect("a Ready answer");
    assert_eq!(backend.kind, kind, "{backend:?}");
    let answers: Vec<_> = responses
        .iter()
        .filter_map(|r| match r {
            Response::Classified { id, result } => Some((*id, result.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(answers.len(), 2);
    let (id, flamingo) = &answers[0];
    assert_eq!(*id, 7);
    let flamingo = flamingo.as_ref().expect("flamingo classified");
    assert_eq!(flamingo.predictions[0].label, "flamingo");
    assert!(flamingo.predictions[0].confidence > 0.9);
    assert!(answers[1].1.is_err(), "a bad file gets its own error");
}

#[wasm_bindgen_test]
async fn worker_session_runs_on_webgpu() {
    let responses = start_and_classify(BackendChoice::WebGpu).await;
    check(&responses, BackendKind::WebGpu);
    let software = responses
        .iter()
        .any(|r| matches!(r, Response::Ready { backend, .. } if backend.software));
    // Headless Chromium here only has SwiftShader; the page must say so.
    assert!(software, "SwiftShader is reported as a software adapter");
}

#[wasm_bindgen_test]
async fn worker_session_runs_on_the_cpu() {
    check(
        &start_and_classify(BackendChoice::Cpu).await,
        BackendKind::Cpu,
    );
}
