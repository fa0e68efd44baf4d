// Memory over 500 consecutive photos (CPU path): the photos are dropped 50 at a time and, after
// each round has its answers, the worker's wasm memory (the engine: it only grows, so it is the
// peak so far) and the page's JS heap are read. The engine's memory must stay flat (within 10%
// of where it stood after the first round). Writes bench/results/memory.json.
// Run: E2E_DIR=bench npx playwright test memory   (after `trunk build --release`)
import { expect, test } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GlimpsePage, photo } from '../tests/e2e/glimpse-page';

const ROUNDS = 10;
const PER_ROUND = 50;
const FIXTURES = ['bridge.jpg', 'cat.jpg', 'coyote.jpg', 'flamingo.jpg', 'torch.jpg'];

test('memory stays flat over 500 photos', async ({ page }) => {
  test.setTimeout(3_600_000);
  const glimpse = new GlimpsePage(page);
  await page.goto('./?backend=cpu&bench');
  await glimpse.waitReady();
  const samples: { photos: number; wasmMB: number; jsHeapMB: number }[] = [];
  const sample = async (photos: number) => {
    const [wasm, heap] = await page.evaluate(async () => [
      await (window as any).glimpseMemory(),
      (performance as any).memory?.usedJSHeapSize ?? 0,
    ]);
    samples.push({ photos, wasmMB: wasm / 1e6, jsHeapMB: heap / 1e6 });
    console.log(`after ${photos} photos: engine (wasm) ${(wasm / 1e6).toFixed(1)} MB, page JS heap ${(heap / 1e6).toFixed(1)} MB`);
  };
  await sample(0);
  for (let round = 0; round < ROUNDS; round++) {
    const files = Array.from({ length: PER_ROUND }, (_, i) => {
      const n = round * PER_ROUND + i;
      return photo(FIXTURES[n % FIXTURES.length], `photo-${String(n).padStart(3, '0')}.jpg`);
    });
    await glimpse.drop(files);
    const done = (round + 1) * PER_ROUND;
    await expect(page.locator('[data-testid="result"][data-state="done"]')).toHaveCount(done, { timeout: 1_800_000 });
    await sample(done);
  }
  const first = samples[1].wasmMB;
  const last = samples[samples.length - 1].wasmMB;
  console.log(`engine memory after 50 photos ${first.toFixed(1)} MB, after 500 ${last.toFixed(1)} MB (${(100 * (last / first - 1)).toFixed(1)}%)`);
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(path.join(__dirname, 'results', 'memory.json'), JSON.stringify({ date: new Date().toISOString(), samples }, null, 2));
  expect(last / first, 'engine memory grew over 500 photos').toBeLessThan(1.1);
  glimpse.expectPrivateAndClean();
});
