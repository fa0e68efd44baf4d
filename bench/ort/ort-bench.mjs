// The benchmark peer: ONNX Runtime Web (the runtime Transformers.js uses) on the same model, the
// same input tensor and the same browser as Glimpse. Everything is served from this folder: the
// WebGPU build (native WebGPU execution provider) and the plain wasm build for the CPU path, one
// thread each as Glimpse (the page is not cross-origin isolated, so neither can use threads).
const builds = {
  webgpu: () => import('./ort.webgpu.min.mjs'),
  wasm: () => import('./ort.wasm.min.mjs'),
};
const sessions = {};

async function session(backend) {
  if (!sessions[backend]) {
    const started = performance.now();
    const ort = await builds[backend]();
    ort.env.wasm.numThreads = 1;
    const model = new Uint8Array(await (await fetch('efficientnet-lite0.onnx')).arrayBuffer());
    const created = await ort.InferenceSession.create(model, {
      executionProviders: [backend],
      graphOptimizationLevel: 'all',
    });
    sessions[backend] = { ort, session: created, loadMs: performance.now() - started };
  }
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
window.ortReady = true;
