//! Browser-only checks, run by wasm-bindgen-test inside a dedicated Web Worker in headless
//! Chromium: the engine's worker session starts WebGPU there (SwiftShader here), loads the
//! weights through fetch with progress, classifies a photo and explains it; the CPU path as well,
//! and both give the same Grad-CAM and the same probe logits (the backend race: the CPU wins
//! against SwiftShader, and wrong numbers are refused). Then the WebGPU device is lost (`GPUDevice.destroy()`): the
//! session learns it from the browser, and work on the lost device fails with an error instead of
//! hanging or panicking, which is what lets the page replace the worker (`ui/recovery.rs`).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;

use wasm_bindgen::JsCast;

use glimpse::backend_race::{
    Contender, LOGIT_TOLERANCE, Preference, Probe, judge, largest_difference,
};
use glimpse::protocol::{BackendKind, Fault, Heatmap, Request, Response, SaliencyMethod};
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

async fn start_and_classify(kind: BackendKind) -> (Session, Vec<Response>) {
    let responses = RefCell::new(Vec::new());
    let respond = |r: Response| responses.borrow_mut().push(r);
    let mut session = Session::default();
    let init = Request::Init {
        backend: kind,
        weights_url: weights_url(),
        count_gpu_work: false,
        fused_gpu_kernels: true,
    };
    session.handle(init, &respond).await;
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
    // Another class (spoonbill), then the gradient method, of the photo classified above.
    for (class_index, method) in [
        (129, SaliencyMethod::GradCam),
        (130, SaliencyMethod::SmoothGrad),
    ] {
        let explain = Request::Explain {
            id: 7,
            class_index,
            method,
            bytes: FLAMINGO.to_vec(),
        };
        session.handle(explain, &respond).await;
    }
    (session, responses.into_inner())
}

async fn probe(session: &mut Session) -> Probe {
    let answer = RefCell::new(None);
    session
        .handle(Request::Probe, &|r| {
            if let Response::Probed(result) = r {
                answer.replace(Some(result.expect("probed")));
            }
        })
        .await;
    answer.into_inner().expect("one answer to the probe")
}

async fn training_step(session: &mut Session) -> f64 {
    let answer = RefCell::new(None);
    session
        .handle(Request::ProbeTraining, &|r| {
            if let Response::TrainingProbed(result) = r {
                answer.replace(Some(result.expect("timed")));
            }
        })
        .await;
    let ms = answer
        .into_inner()
        .expect("one answer to the training probe");
    assert!(ms > 0.0);
    ms
}

/// Waits `ms` milliseconds (the worker's event loop runs meanwhile).
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = global.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

fn explained(responses: &[Response]) -> Vec<Heatmap> {
    responses
        .iter()
        .filter_map(|r| match r {
            Response::Explained { result, .. } => Some(result.clone().expect("explained")),
            _ => None,
        })
        .collect()
}

fn check(responses: &[Response], kind: BackendKind) {
    let full = WEIGHTS.len() as u64;
    let progressed = responses
        .iter()
        .any(|r| matches!(r, Response::LoadProgress { loaded, .. } if *loaded == full));
    assert!(progressed, "progress reaches the full size");
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

    // The top class's Grad-CAM follows the answer, then the two asked for.
    let maps = explained(responses);
    assert_eq!(maps.len(), 3);
    let top = &maps[0];
    assert_eq!(
        (top.method, top.class_index, top.side),
        (SaliencyMethod::GradCam, 130, 224)
    );
    for map in &maps {
        assert_eq!(map.values.len(), 224 * 224);
        assert_eq!(
            map.values.iter().copied().max(),
            Some(255),
            "{:?} is normalised",
            map.method
        );
        let line = format!(
            "{kind:?}: {:?} overlay in {:.0} ms",
            map.method, map.elapsed_ms
        );
        web_sys::console::log_1(&line.into());
    }
    assert_ne!(
        maps[1].values, top.values,
        "another class gives another map"
    );
    assert_eq!(maps[2].method, SaliencyMethod::SmoothGrad);
}

#[wasm_bindgen_test]
async fn worker_sessions_on_webgpu_and_cpu_agree() {
    let (mut session, gpu) = start_and_classify(BackendKind::WebGpu).await;
    check(&gpu, BackendKind::WebGpu);
    let software = gpu
        .iter()
        .any(|r| matches!(r, Response::Ready { backend, .. } if backend.software));
    // Headless Chromium here only has SwiftShader; the page must say so.
    assert!(software, "SwiftShader is reported as a software adapter");

    let (mut cpu_session, cpu) = start_and_classify(BackendKind::Cpu).await;
    check(&cpu, BackendKind::Cpu);

    // The same Grad-CAM on both devices, within a small tolerance (values are 0..255).
    let (a, b) = (explained(&gpu).remove(0), explained(&cpu).remove(0));
    let diffs: Vec<i32> = a
        .values
        .iter()
        .zip(&b.values)
        .map(|(x, y)| (i32::from(*x) - i32::from(*y)).abs())
        .collect();
    let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
    let max = diffs.iter().copied().max().unwrap_or(0);
    web_sys::console::log_1(
        &format!("Grad-CAM WebGPU vs CPU: mean |diff| {mean:.3}, max {max} (of 255)").into(),
    );
    assert!(mean < 1.0 && max <= 8, "mean {mean}, max {max}");

    // The backend race's probe, on both: the same logits; the CPU is faster than SwiftShader and
    // wins; a GPU whose numbers come out wrong is refused.
    let mut cpu_probe = probe(&mut cpu_session).await;
    let mut gpu_probe = probe(&mut session).await;
    cpu_probe.train_step_ms = Some(training_step(&mut cpu_session).await);
    gpu_probe.train_step_ms = Some(training_step(&mut session).await);
    let difference = largest_difference(&cpu_probe.logits, &gpu_probe.logits);
    web_sys::console::log_1(
        &format!(
            "probe: CPU {:.1} ms, WebGPU {:.1} ms, logits differ by {difference:.2e}; a training step: CPU {:.0} ms, WebGPU {:.0} ms",
            cpu_probe.ms,
            gpu_probe.ms,
            cpu_probe.train_step_ms.unwrap_or_default(),
            gpu_probe.train_step_ms.unwrap_or_default()
        )
        .into(),
    );
    assert_eq!(cpu_probe.logits.len(), 1000);
    assert!(difference <= LOGIT_TOLERANCE, "{difference}");
    let verdict = judge(
        "SwiftShader",
        true,
        &cpu_probe,
        Contender::Probed(&gpu_probe),
        Preference::default(),
        0.0,
    );
    assert_eq!(verdict.winner, BackendKind::Cpu, "{verdict:?}");
    assert_eq!(verdict.trainer, BackendKind::Cpu, "{verdict:?}");
    session
        .handle(Request::InjectFault(Fault::WrongNumbers), &|_| {})
        .await;
    let wrong = probe(&mut session).await;
    let everything = Preference {
        webgpu_answers: true,
        webgpu_trains: true,
    };
    let verdict = judge(
        "SwiftShader",
        true,
        &cpu_probe,
        Contender::Probed(&wrong),
        everything,
        0.0,
    );
    assert_eq!(verdict.winner, BackendKind::Cpu);
    assert!(verdict.reason.unwrap().contains("differ from the CPU's"));

    // Last (the WebGPU runtime cannot be started twice in one worker): lose the device.
    let responses = RefCell::new(Vec::new());
    let respond = |r: Response| responses.borrow_mut().push(r);
    assert_eq!(session.device_lost(), None);
    session
        .handle(Request::InjectFault(Fault::LoseDevice), &respond)
        .await;
    for _ in 0..100 {
        if session.device_lost().is_some() {
            break;
        }
        sleep(50).await;
    }
    let reason = session
        .device_lost()
        .expect("the browser reports the loss")
        .to_string();
    web_sys::console::log_1(&format!("device lost: {reason}").into());
    assert!(reason.contains("Destroyed"), "{reason}");
    let classify = Request::Classify {
        id: 9,
        bytes: FLAMINGO.to_vec(),
    };
    session.handle(classify, &respond).await;
    let responses = responses.into_inner();
    assert!(
        matches!(
            responses.as_slice(),
            [Response::Classified {
                id: 9,
                result: Err(_)
            }]
        ),
        "work on a lost device fails cleanly: {responses:?}"
    );
}
