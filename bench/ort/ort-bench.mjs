// The benchmark peer: ONNX Runtime Web (the runtime Transformers.js uses) on the same model, the
// same input tensor and the same browser as Glimpse. Everything is served from this folder: the
// WebGPU build (native WebGPU execution provider) and the plain wasm build for the CPU path, one
// thread each as Glimpse; `?threads=N` (on a cross-origin isolated page) gives the wasm build N
// threads, for an informational row.
const builds = {
  webgpu: () => import('./ort.webgpu.min.mjs'),
  wasm: () => import('./ort.wasm.min.mjs'),
};
const sessions = {};
const THREADS = Number(new URLSearchParams(location.search).get('threads') ?? 1);

function session(backend) {
  sessions[backend] ??= (async () => {
    const started = performance.now();
    const ort = await builds[backend]();
    const imported = performance.now();
    ort.env.wasm.numThreads = THREADS;
    const model = new Uint8Array(await (await fetch('efficientnet-lite0.onnx')).arrayBuffer());
    const fetched = performance.now();
    const created = await ort.InferenceSession.create(model, {
      executionProviders: [backend],
      graphOptimizationLevel: 'all',
    });
    const now = performance.now();
    return { ort, session: created, loadMs: now - started, importMs: imported - started, createMs: now - fetched };
  })();
  return sessions[backend];
}

/** Times `runs` runs of `batch` copies of `pixels` after `warmup` untimed ones. */
window.ortBenchmark = async (backend, pixels, batch, runs, warmup) => {
  const { ort, session: s, loadMs } = await session(backend);
  const input = new Float32Array(pixels.length * batch);
  for (let b = 0; b < batch; b++) input.set(pixels, b * pixels.length);
  const timesMs = [];
  let logits;
  for (let run = 0; run < warmup + runs; run++) {
    const started = performance.now();
    const tensor = new ort.Tensor('float32', input, [batch, 3, 224, 224]);
    const out = await s.run({ input: tensor });
    logits = out.logits.data;
    if (run >= warmup) timesMs.push(performance.now() - started);
  }
  return { timesMs, logits: Array.from(logits.slice(0, logits.length / batch)), loadMs };
};
/** The WebGPU work (gpu-work.js) of the first run at `batch` and of the next one. */
window.ortGpuWork = async (pixels, batch) => {
  const { ort, session: s } = await session('webgpu');
  const input = new Float32Array(pixels.length * batch);
  for (let b = 0; b < batch; b++) input.set(pixels, b * pixels.length);
  const passes = [];
  for (let pass = 0; pass < 2; pass++) {
    const before = { ...window.glimpseGpuWork };
    await s.run({ input: new ort.Tensor('float32', input, [batch, 3, 224, 224]) });
    const after = window.glimpseGpuWork;
    passes.push(Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]])));
  }
  return { first_pass: passes[0], pass: passes[1] };
};
window.ortReady = true;

// The first prediction, as a page built on ORT would give it: `?load=wasm|webgpu` starts a worker
// (ort-worker.mjs) that loads the session at navigation (`&model=f16`: the float16-weight model); once it is ready,
// `ortFirstPrediction(jpegBytes)` hands it the photo's bytes (transferred), and the worker decodes
// and preprocesses it and runs the model. Answers the top class, when the session was ready and
// how long the first prediction took, both on this page's clock, as Glimpse is measured.
const autoload = new URLSearchParams(location.search).get('load');
if (autoload) {
  const worker = new Worker('ort-worker.mjs', { type: 'module' });
  const replies = [];
  const waiting = [];
  worker.onmessage = ({ data }) => (waiting.length ? waiting.shift()(data) : replies.push(data));
  const next = () => new Promise((resolve) => (replies.length ? resolve(replies.shift()) : waiting.push(resolve)));
  const model = new URLSearchParams(location.search).get('model') === 'f16' ? 'efficientnet-lite0.f16.onnx' : 'efficientnet-lite0.onnx';
  worker.postMessage({ load: autoload, model });
  window.ortLoaded = next().then(({ loaded }) => {
    const toPage = (workerMs) => workerMs + loaded.timeOrigin - performance.timeOrigin;
    const downloads = {};
    for (const [name, span] of Object.entries(loaded.downloads)) downloads[name] = { start: toPage(span.start), end: toPage(span.end) };
    return { ...loaded, readyAt: toPage(loaded.readyAt), downloads };
  });
  window.ortFirstPrediction = async (jpeg) => {
    const load = await window.ortLoaded;
    const bytes = new Uint8Array(jpeg).buffer;
    const started = performance.now();
    worker.postMessage({ jpeg: bytes }, [bytes]);
    const { predicted } = await next();
    const finishedAt = performance.now();
    return { top: predicted.top, readyAt: load.readyAt, loadMs: load.loadMs, importMs: load.importMs, createMs: load.createMs, inferenceMs: finishedAt - started, finishedAt, downloads: load.downloads };
  };
}
