//! `?bench` in the page URL exposes `window.glimpseBenchmark(pixels, batch, runs, warmup)` to the
//! side-by-side benchmark (`bench/compare.spec.ts`): a promise of `{ timesMs, logits, layers }`, timed
//! inside the engine's worker exactly as the page's own inference runs;
//! `window.glimpseMemory(worker)`, a promise of a worker's wasm memory in bytes (the engine's, or
//! the pool's helper in slot `worker`, one of `window.glimpseHelpers()`);
//! `window.glimpsePageMemory()`, the page's own wasm memory in bytes;
//! `window.glimpseGpuWork(pixels, batch)`, a promise of the WebGPU work of the first forward pass
//! at that batch and of the next one (`{ first_pass, pass }`, each with dispatches, submits,
//! readbacks and pipelines; the worker counts them with `gpu-work.js`);
//! `window.glimpseInjectFault("crash" | "abort" | "device-lost")` for the fault tests;
//! `window.glimpseAnswers`, `window.glimpseAnsweredBy` and the backend race's knobs (`race=webgpu-wins`,
//! `race=webgpu-trains`, `gpu-fault=wrong-numbers`) for its tests; and
//! `window.glimpseLoadTimings` once the model is ready.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::link::EngineLink;
use super::pool::Pool;
use crate::backend_race::Preference;
use crate::protocol::{BenchmarkRun, EngineError, Fault, GpuWorkCount, LoadTimings, Request};
use crate::work_queue::ENGINE;

fn query() -> Option<web_sys::UrlSearchParams> {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
}

pub(super) fn wanted() -> bool {
    query().is_some_and(|params| params.has("bench"))
}

/// `?gpu-kernels=off` runs Burn's own convolutions on the GPU, for the benchmark's comparison.
pub(super) fn fused_gpu_kernels() -> bool {
    query()
        .and_then(|params| params.get("gpu-kernels"))
        .as_deref()
        != Some("off")
}

/// `?workers=N`: how many workers embed training photos, the engine included (the pool's
/// benchmark compares one with several; otherwise the machine's cores and memory decide).
pub(super) fn workers() -> Option<usize> {
    query()
        .and_then(|params| params.get("workers"))
        .and_then(|n| n.parse().ok())
}

/// `?bench&race=webgpu-wins` (or `webgpu-trains`): WebGPU wins the backend race at answering
/// photos (or at training) whatever the times, its answers still checked, so that the switch and
/// the separate trainer are tested on a software adapter.
pub(super) fn race_preference() -> Preference {
    let race = query().and_then(|params| params.get("race"));
    let race = race.as_deref().filter(|_| wanted());
    Preference {
        webgpu_answers: race == Some("webgpu-wins"),
        webgpu_trains: race == Some("webgpu-trains"),
    }
}

/// `?bench&gpu-fault=wrong-numbers`: the race's WebGPU engine computes wrong logits.
pub(super) fn wrong_gpu_numbers() -> bool {
    wanted()
        && query()
            .and_then(|params| params.get("gpu-fault"))
            .as_deref()
            == Some("wrong-numbers")
}

/// Under `?bench`, `window.glimpseAnswers[id]` counts the answers photo `id` got (the race's test:
/// one each, across the switch), and `window.glimpseAnsweredBy[id]` is the worker that gave the
/// last (`work_queue::ENGINE`, or a helper's slot in the pool).
pub(super) fn count_answer(id: u32, worker: u32) {
    if !wanted() {
        return;
    }
    let id = JsValue::from(id);
    let answers = global_object("glimpseAnswers");
    let count = js_sys::Reflect::get(&answers, &id)
        .ok()
        .and_then(|c| c.as_f64())
        .unwrap_or(0.0);
    let _ = js_sys::Reflect::set(&answers, &id, &JsValue::from(count + 1.0));
    let _ = js_sys::Reflect::set(
        &global_object("glimpseAnsweredBy"),
        &id,
        &JsValue::from(worker),
    );
}

/// `window[name]`, made an empty object the first time.
fn global_object(name: &str) -> JsValue {
    let global = js_sys::global();
    let key = JsValue::from_str(name);
    js_sys::Reflect::get(&global, &key)
        .ok()
        .filter(|a| a.is_object())
        .unwrap_or_else(|| {
            let fresh: JsValue = js_sys::Object::new().into();
            let _ = js_sys::Reflect::set(&global, &key, &fresh);
            fresh
        })
}

/// The `?bench` requests waiting for the engine's answer, in order, as the promises to settle.
pub(super) struct BenchHook {
    link: Rc<EngineLink>,
    benchmarks: RefCell<VecDeque<(js_sys::Function, js_sys::Function)>>,
    gpu_work_counts: RefCell<VecDeque<(js_sys::Function, js_sys::Function)>>,
    /// By worker (`work_queue::ENGINE`, or a helper's slot).
    memory_probes: RefCell<VecDeque<(u32, js_sys::Function)>>,
    pool: Rc<Pool>,
}

impl BenchHook {
    pub(super) fn new(link: Rc<EngineLink>, pool: Rc<Pool>) -> Self {
        Self {
            link,
            pool,
            benchmarks: RefCell::default(),
            gpu_work_counts: RefCell::default(),
            memory_probes: RefCell::default(),
        }
    }

    /// Under `?bench`, puts the hooks on `window`.
    pub(super) fn expose(self: &Rc<Self>) {
        if !wanted() {
            return;
        }
        let weak = Rc::downgrade(self);
        let run = Closure::<dyn Fn(js_sys::Float32Array, u32, u32, u32) -> js_sys::Promise>::new(
            move |pixels: js_sys::Float32Array, batch, runs, warmup| {
                let weak = weak.clone();
                js_sys::Promise::new(&mut |resolve, reject| {
                    let Some(hook) = weak.upgrade() else {
                        let _ = reject.call1(&JsValue::NULL, &"the page is gone".into());
                        return;
                    };
                    hook.benchmarks.borrow_mut().push_back((resolve, reject));
                    hook.link.send(Request::Benchmark {
                        pixels: pixels.to_vec(),
                        batch,
                        runs,
                        warmup,
                    });
                })
            },
        );
        let _ = js_sys::Reflect::set(&js_sys::global(), &"glimpseBenchmark".into(), run.as_ref());
        run.forget();

        let weak = Rc::downgrade(self);
        let count = Closure::<dyn Fn(js_sys::Float32Array, u32) -> js_sys::Promise>::new(
            move |pixels: js_sys::Float32Array, batch| {
                let weak = weak.clone();
                js_sys::Promise::new(&mut |resolve, reject| {
                    let Some(hook) = weak.upgrade() else {
                        let _ = reject.call1(&JsValue::NULL, &"the page is gone".into());
                        return;
                    };
                    hook.gpu_work_counts
                        .borrow_mut()
                        .push_back((resolve, reject));
                    hook.link.send(Request::CountGpuWork {
                        pixels: pixels.to_vec(),
                        batch,
                    });
                })
            },
        );
        let _ = js_sys::Reflect::set(&js_sys::global(), &"glimpseGpuWork".into(), count.as_ref());
        count.forget();

        // `glimpseMemory(worker)`: the engine's by default, a helper's by its slot.
        let weak = Rc::downgrade(self);
        let memory = Closure::<dyn Fn(JsValue) -> js_sys::Promise>::new(move |worker: JsValue| {
            let worker = worker.as_f64().map_or(ENGINE, |w| w as u32);
            let weak = weak.clone();
            js_sys::Promise::new(&mut |resolve, reject| match weak.upgrade() {
                Some(hook) if worker == ENGINE => {
                    hook.memory_probes.borrow_mut().push_back((worker, resolve));
                    hook.link.send(Request::Memory);
                }
                Some(hook) if hook.pool.ready().contains(&worker) => {
                    hook.memory_probes.borrow_mut().push_back((worker, resolve));
                    hook.pool.send(worker, Request::Memory);
                }
                Some(_) => {
                    let _ = reject.call1(&JsValue::NULL, &"no such worker".into());
                }
                None => {
                    let _ = reject.call1(&JsValue::NULL, &"the page is gone".into());
                }
            })
        });
        let _ = js_sys::Reflect::set(&js_sys::global(), &"glimpseMemory".into(), memory.as_ref());
        memory.forget();
        let weak = Rc::downgrade(self);
        let helpers = Closure::<dyn Fn() -> js_sys::Array>::new(move || {
            let slots = weak
                .upgrade()
                .map(|hook| hook.pool.ready())
                .unwrap_or_default();
            slots.into_iter().map(JsValue::from).collect()
        });
        let _ = js_sys::Reflect::set(
            &js_sys::global(),
            &"glimpseHelpers".into(),
            helpers.as_ref(),
        );
        helpers.forget();

        // The page's own wasm memory: what it holds of the person's work.
        let page_memory = Closure::<dyn Fn() -> f64>::new(|| {
            let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
            let buffer: js_sys::ArrayBuffer = memory.buffer().unchecked_into();
            f64::from(buffer.byte_length())
        });
        let _ = js_sys::Reflect::set(
            &js_sys::global(),
            &"glimpsePageMemory".into(),
            page_memory.as_ref(),
        );
        page_memory.forget();

        // Fault injection for the tests: "crash" panics the engine, "abort" traps it with no
        // panic, "device-lost" destroys its WebGPU device.
        let weak = Rc::downgrade(self);
        let inject = Closure::<dyn Fn(String) -> bool>::new(move |kind: String| {
            let fault = match kind.as_str() {
                "crash" => Fault::Crash,
                "abort" => Fault::Abort,
                "device-lost" => Fault::LoseDevice,
                _ => return false,
            };
            weak.upgrade()
                .map(|hook| hook.link.send(Request::InjectFault(fault)))
                .is_some()
        });
        let _ = js_sys::Reflect::set(
            &js_sys::global(),
            &"glimpseInjectFault".into(),
            inject.as_ref(),
        );
        inject.forget();
    }

    /// Worker `worker`'s answer to `Memory`.
    pub(super) fn on_memory(&self, worker: u32, wasm_bytes: u64) {
        let mut probes = self.memory_probes.borrow_mut();
        let Some(at) = probes.iter().position(|(w, _)| *w == worker) else {
            return;
        };
        if let Some((_, resolve)) = probes.remove(at) {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::from(wasm_bytes as f64));
        }
    }

    /// Promises the lost worker will never answer.
    pub(super) fn reject_all(&self) {
        let mut waiting = self.benchmarks.borrow_mut();
        waiting.extend(self.gpu_work_counts.borrow_mut().drain(..));
        for (_, reject) in waiting.drain(..) {
            let _ = reject.call1(&JsValue::NULL, &"the engine was restarted".into());
        }
        let mut probes = self.memory_probes.borrow_mut();
        for (_, resolve) in probes.iter().filter(|(w, _)| *w == ENGINE) {
            let _ = resolve.call1(&JsValue::NULL, &f64::NAN.into());
        }
        probes.retain(|(w, _)| *w != ENGINE);
    }

    pub(super) fn on_gpu_work_counted(&self, result: Result<GpuWorkCount, EngineError>) {
        let Some((resolve, reject)) = self.gpu_work_counts.borrow_mut().pop_front() else {
            return;
        };
        let answer = result
            .map_err(|e| e.to_string())
            .and_then(|count| serde_wasm_bindgen::to_value(&count).map_err(|e| e.to_string()));
        let _ = match answer {
            Ok(value) => resolve.call1(&JsValue::NULL, &value),
            Err(message) => reject.call1(&JsValue::NULL, &message.into()),
        };
    }

    pub(super) fn on_benchmarked(&self, result: Result<BenchmarkRun, EngineError>) {
        let Some((resolve, reject)) = self.benchmarks.borrow_mut().pop_front() else {
            return;
        };
        match result {
            Ok(run) => {
                let out = js_sys::Object::new();
                let times: js_sys::Array = run.times_ms.iter().map(|&t| JsValue::from(t)).collect();
                let _ = js_sys::Reflect::set(&out, &"timesMs".into(), &times);
                let logits = js_sys::Float32Array::from(&run.logits[..]);
                let _ = js_sys::Reflect::set(&out, &"logits".into(), &logits);
                let layers: js_sys::Array = run
                    .layers
                    .iter()
                    .map(|l| {
                        let row = js_sys::Object::new();
                        let _ =
                            js_sys::Reflect::set(&row, &"layer".into(), &l.layer.as_str().into());
                        let _ = js_sys::Reflect::set(&row, &"ms".into(), &l.ms.into());
                        JsValue::from(row)
                    })
                    .collect();
                let _ = js_sys::Reflect::set(&out, &"layers".into(), &layers);
                let _ = resolve.call1(&JsValue::NULL, &out);
            }
            Err(error) => {
                let _ = reject.call1(&JsValue::NULL, &error.to_string().into());
            }
        }
    }
}

/// `window.glimpseLoadTimings`: the engine's load timings (worker clock) for the benchmark's
/// first-prediction split; the page's own start is the `glimpse-app-start` performance mark.
pub(super) fn expose_load_timings(timings: &LoadTimings) {
    if !wanted() {
        return;
    }
    if let Ok(value) = serde_wasm_bindgen::to_value(timings) {
        let _ = js_sys::Reflect::set(&js_sys::global(), &"glimpseLoadTimings".into(), &value);
    }
}
