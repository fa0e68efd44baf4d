// Work per forward pass on WebGPU, Glimpse and ONNX Runtime Web side by side: compute dispatches,
// queue submits, buffer read-backs and pipelines compiled, counted by the same hooks
// (www/gpu-work.js wraps the WebGPU API in Glimpse's worker and on ORT's page). The counts do not
// depend on the adapter's speed, so SwiftShader measures them as a real GPU would. Writes
// bench/results/gpu-work.json.
// Run: E2E_DIR=bench npx playwright test gpu-work   (after trunk build --release, scripts/onnx.sh)
import { expect, test } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GlimpsePage } from '../tests/e2e/glimpse-page';
import { ROOT, ortSite, serve } from './sites';
import { machine } from './machine';

const BATCHES = (process.env.BENCH_BATCHES ?? '1,8').split(',').map(Number);
const ORT_PORT = 8093;

interface Work { dispatches: number; submits: number; readbacks: number; pipelines: number }
interface Count { first_pass: Work; pass: Work }

test('WebGPU work per forward pass: Glimpse vs ONNX Runtime Web', async ({ browser }) => {
  test.setTimeout(1_800_000);
  const input = readFileSync(path.join(ROOT, 'target', 'onnx-reference', 'cat.input.f32'));
  const pixels = Array.from(new Float32Array(input.buffer, input.byteOffset, input.length / 4));
  const site = ortSite();
  const server = await serve(site.dir, ORT_PORT);
  const rows: Array<{ batch: number; glimpse: Count; ort: Count }> = [];
  let glimpseWarmUp: Work | null = null;
  // Pipelines compiled in all, from the page's start to the last counted pass.
  const pipelines = { glimpse: 0, ort: 0 };
  try {
    const glimpsePage = await browser.newPage();
    const glimpse = new GlimpsePage(glimpsePage);
    await glimpsePage.goto('./?backend=webgpu&bench');
    await glimpse.waitReady();
    glimpseWarmUp = await glimpsePage.evaluate(() => (window as any).glimpseLoadTimings.warm_up_gpu_work);
    const ortPage = await browser.newPage();
    await ortPage.goto(`http://127.0.0.1:${ORT_PORT}/`);
    await ortPage.waitForFunction(() => (window as any).ortReady === true);
    for (const batch of BATCHES) {
      const g: Count = await glimpsePage.evaluate(({ pixels, batch }) =>
        (window as any).glimpseGpuWork(new Float32Array(pixels), batch), { pixels, batch });
      const o: Count = await ortPage.evaluate(({ pixels, batch }) =>
        (window as any).ortGpuWork(new Float32Array(pixels), batch), { pixels, batch });
      rows.push({ batch, glimpse: g, ort: o });
      expect(g.pass.readbacks, 'Glimpse reads back once per batch').toBe(1);
    }
    pipelines.glimpse = (glimpseWarmUp?.pipelines ?? 0) + rows.reduce((n, r) => n + r.glimpse.first_pass.pipelines, 0);
    pipelines.ort = await ortPage.evaluate(() => (window as any).glimpseGpuWork.pipelines);
    glimpse.expectPrivateAndClean();
  } finally {
    await server.close();
    site.remove();
  }
  console.log(`\nGlimpse warm-up (the first blank pass and its Grad-CAM): ${JSON.stringify(glimpseWarmUp)}`);
  console.log(`pipelines compiled in all (batches ${BATCHES.join(', ')}): Glimpse ${pipelines.glimpse}, ORT-Web ${pipelines.ort}`);
  console.log('\n| batch | runtime | dispatches | submits | read-backs | pipelines (first pass) | dispatches per image |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    for (const [name, c] of [['Glimpse', r.glimpse], ['ORT-Web', r.ort]] as const) {
      console.log(`| ${r.batch} | ${name} | ${c.pass.dispatches} | ${c.pass.submits} | ${c.pass.readbacks} | ${c.first_pass.pipelines} | ${(c.pass.dispatches / r.batch).toFixed(1)} |`);
    }
  }
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(path.join(__dirname, 'results', 'gpu-work.json'),
    JSON.stringify({ ...machine(browser), glimpseWarmUp, pipelines, rows }, null, 2));
});
