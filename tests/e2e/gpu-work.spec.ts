// The WebGPU path's work per forward pass, counted inside the engine's worker by wrapping the
// WebGPU API (www/gpu-work.js): dispatches, submits, read-backs and pipelines. The counts do not
// depend on the adapter's speed, so SwiftShader gives a real GPU's figures. The budget is ONNX
// Runtime Web's count for the same model (62 dispatches at batch 4, bench/gpu-work.spec.ts).
import { expect, test, type Page } from '@playwright/test';
import { GlimpsePage } from './glimpse-page';

const ORT_DISPATCHES = 62;
const INPUT = 3 * 224 * 224;

interface Work { dispatches: number; submits: number; readbacks: number; pipelines: number }
interface Count { first_pass: Work; pass: Work }

async function count(page: Page, batch: number): Promise<Count> {
  return page.evaluate(({ batch, size }) => {
    const pixels = new Float32Array(size);
    for (let i = 0; i < size; i++) pixels[i] = Math.sin(i) * 0.9;
    return (window as any).glimpseGpuWork(pixels, batch);
  }, { batch, size: INPUT });
}

test('WebGPU: one read-back per batch, fewer dispatches than ONNX Runtime Web, Burn\'s own kernels for comparison', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  await page.goto('./?backend=webgpu&bench');
  await glimpse.waitReady();
  const warmUp: Work = await page.evaluate(() => (window as any).glimpseLoadTimings.warm_up_gpu_work);
  console.log(`warm-up (a blank pass and its Grad-CAM): ${JSON.stringify(warmUp)}`);
  expect(warmUp.pipelines, 'the warm-up compiles the pipelines').toBeGreaterThan(0);
  const fused: Record<number, Count> = {};
  for (const batch of [1, 4]) {
    fused[batch] = await count(page, batch);
    console.log(`fused kernels, batch ${batch}: ${JSON.stringify(fused[batch])}`);
    const pass = fused[batch].pass;
    expect(pass.readbacks, 'one read-back per batch').toBe(1);
    expect(pass.pipelines, 'nothing compiled after the first pass').toBe(0);
    expect(pass.dispatches).toBeLessThan(ORT_DISPATCHES);
  }
  expect(fused[4].pass.dispatches, 'the dispatch count does not grow with the batch').toBe(fused[1].pass.dispatches);
  glimpse.expectPrivateAndClean();

  // The same build with Burn's own convolutions: the figure the fused kernels are measured against.
  const burn = await page.context().newPage();
  const burnGlimpse = new GlimpsePage(burn);
  await burn.goto('./?backend=webgpu&bench&gpu-kernels=off');
  await burnGlimpse.waitReady();
  const unfused = await count(burn, 4);
  console.log(`Burn's kernels, batch 4: ${JSON.stringify(unfused)}`);
  expect(unfused.pass.dispatches).toBeGreaterThan(fused[4].pass.dispatches);
  burnGlimpse.expectPrivateAndClean();
});
