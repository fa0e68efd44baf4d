// ONNX Runtime Web in a dedicated worker, as Glimpse runs its engine: the page stays free while the
// session loads, and the photo is decoded and preprocessed here, on the runtime's side. Messages:
// { load: 'wasm' | 'webgpu', model } -> { loaded: { readyAt, loadMs, importMs, createMs, downloads } }
// { jpeg: ArrayBuffer }       -> { predicted: { top } }
// Times are on this worker's clock; `timeOrigin` lets the page put them on its own.
const builds = {
  webgpu: () => import('./ort.webgpu.min.mjs'),
  wasm: () => import('./ort.wasm.min.mjs'),
};
// The same centre crop as Glimpse (shorter side x 224/256, scaled to 224) and (v - 127) / 128.
const MEAN = 127;
const STD = 128;
let loaded;

async function load(backend, file) {
  const started = performance.now();
  const ort = await builds[backend]();
  const imported = performance.now();
  ort.env.wasm.numThreads = 1;
  const model = new Uint8Array(await (await fetch(file)).arrayBuffer());
  const fetched = performance.now();
  const session = await ort.InferenceSession.create(model, { executionProviders: [backend], graphOptimizationLevel: 'all' });
  const readyAt = performance.now();
  const downloads = {};
  for (const entry of performance.getEntriesByType('resource')) {
    downloads[entry.name.split('/').pop().split('?')[0]] = { start: entry.fetchStart, end: entry.responseEnd };
  }
  return { ort, session, report: { readyAt, loadMs: readyAt - started, importMs: imported - started, createMs: readyAt - fetched, downloads, timeOrigin: performance.timeOrigin } };
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
    for (let c = 0; c < 3; c++) input[c * 224 * 224 + i] = (rgba[4 * i + c] - MEAN) / STD;
  }
  return input;
}

self.onmessage = async ({ data }) => {
  if (data.load) {
    loaded = load(data.load, data.model);
    self.postMessage({ loaded: (await loaded).report });
  } else if (data.jpeg) {
    const { ort, session } = await loaded;
    const tensor = new ort.Tensor('float32', await pixels(new Uint8Array(data.jpeg)), [1, 3, 224, 224]);
    const logits = (await session.run({ input: tensor })).logits.data;
    let top = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[top]) top = i;
    self.postMessage({ predicted: { top } });
  }
};
