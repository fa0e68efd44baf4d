// The benchmark peer: ONNX Runtime Web (the runtime Transformers.js uses) on the same model, the
// same input tensor and the same browser as Glimpse. Everything is served from this folder: the
// WebGPU build (native WebGPU execution provider) and the plain wasm build for the CPU path, one
// thread each as Glimpse (the page is not cross-origin isolated, so neither can use threads).
const builds = {
  webgpu: () => import('./ort.webgpu.min.mjs'),
  wasm: () => import('./ort.wasm.min.mjs'),
};
const sessions = {};

function session(backend) {
  sessions[backend] ??= (async () => {
    const started = performance.now();
    const ort = await builds[backend]();
    const imported = performance.now();
    ort.env.wasm.numThreads = 1;
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

// The first prediction, as a page built on ORT would give it: `?load=wasm|webgpu` starts the
// session at navigation; `ortFirstPrediction(jpegBytes)` then decodes the photo with the
// browser's own decoder, takes the same centre crop as Glimpse (shorter side x 224/256, scaled to
// 224, (v - 127) / 128), runs the model and answers the top class and the split of the load.
const IMAGENET_MEAN = 127;
const IMAGENET_STD = 128;
const autoload = new URLSearchParams(location.search).get('load');
if (autoload) {
  window.ortLoaded = session(autoload).then(() => performance.now());
}

function downloads() {
  const spans = {};
  for (const entry of performance.getEntriesByType('resource')) {
    const name = entry.name.split('/').pop().split('?')[0];
    spans[name] = { start: entry.fetchStart, end: entry.responseEnd };
  }
  return spans;
}

async function pixels(jpeg) {
  const bitmap = await createImageBitmap(new Blob([jpeg], { type: 'image/jpeg' }));
  const side = Math.round(Math.min(bitmap.width, bitmap.height) * 224 / 256);
  const canvas = new OffscreenCanvas(224, 224);
  const context = canvas.getContext('2d');
  context.drawImage(bitmap, Math.floor((bitmap.width - side) / 2), Math.floor((bitmap.height - side) / 2), side, side, 0, 0, 224, 224);
  const rgba = context.getImageData(0, 0, 224, 224).data;
  const input = new Float32Array(3 * 224 * 224);
  for (let i = 0; i < 224 * 224; i++) {
    for (let c = 0; c < 3; c++) input[c * 224 * 224 + i] = (rgba[4 * i + c] - IMAGENET_MEAN) / IMAGENET_STD;
  }
  return input;
}

window.ortFirstPrediction = async (jpeg) => {
  const readyAt = await window.ortLoaded;
  const started = performance.now();
  const { ort, session: s, loadMs, importMs, createMs } = await session(autoload);
  const tensor = new ort.Tensor('float32', await pixels(new Uint8Array(jpeg)), [1, 3, 224, 224]);
  const logits = (await s.run({ input: tensor })).logits.data;
  const finishedAt = performance.now();
  let top = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[top]) top = i;
  return { top, readyAt, loadMs, importMs, createMs, inferenceMs: finishedAt - started, finishedAt, downloads: downloads() };
};
