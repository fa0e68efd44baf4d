// Teach timings in headless Chromium, per backend: embedding throughput (photos/s, each photo is
// a clean view and 3 augmented views), head-only training time, head + last blocks training time.
// Run: E2E_DIR=bench npx playwright test teach-timings   (after `trunk build --release`)
import { expect, test } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { GlimpsePage, dropCrops, nameClasses } from '../tests/e2e/glimpse-page';

const BACKENDS = (process.env.BENCH_BACKENDS ?? 'cpu,webgpu').split(',');
const RESULTS = path.join(__dirname, 'results', 'teach.json');

// 3 x 30 photos on the CPU; SwiftShader runs WebGPU on the CPU, slowly: fewer photos and 5 epochs
// / fine-tuning steps there.
for (const [backend, perClass, epochs] of [['cpu', 30, 60], ['webgpu', 4, 5]] as const) {
  if (!BACKENDS.includes(backend)) continue;
  test(`teach timings on ${backend}`, async ({ page }) => {
    test.setTimeout(900_000);
    const glimpse = new GlimpsePage(page);
    await glimpse.open(backend);
    await glimpse.waitReady();
    const names = ['brick', 'grass', 'gravel'];
    await nameClasses(page, names);
    const t0 = Date.now();
    for (const [i, name] of names.entries()) {
      await dropCrops(page, `[data-testid="class"][data-class-name="${name}"]`, name, 0, perClass, 3 + i, name);
    }
    await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(3 * perClass, { timeout: 900_000 });
    const embedSeconds = (Date.now() - t0) / 1000;
    const timeTraining = async () => {
      const start = Date.now();
      await page.getByTestId('train').click();
      await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'done', { timeout: 900_000 });
      return (Date.now() - start) / 1000;
    };
    await page.locator('.settings summary').click();
    await page.getByTestId('train-epochs').fill(String(epochs));
    await page.getByTestId('train-epochs').dispatchEvent('change');
    const headSeconds = await timeTraining();
    const headAccuracy = await page.getByTestId('metric-accuracy').getAttribute('data-value');
    await page.getByTestId('train-mode').selectOption('blocks');
    const blocksSeconds = await timeTraining();
    const blocksAccuracy = await page.getByTestId('metric-accuracy').getAttribute('data-value');
    console.log(`${backend}: ${3 * perClass} photos embedded in ${embedSeconds.toFixed(1)} s ` +
      `(${(3 * perClass / embedSeconds).toFixed(2)} photos/s, 4 views each); head only ${headSeconds.toFixed(1)} s ` +
      `(accuracy ${headAccuracy}, ${epochs} epochs); head + last blocks ${blocksSeconds.toFixed(1)} s (accuracy ${blocksAccuracy}, ${Math.min(Math.max(epochs, 5), 40)} steps of 8 photos)`);
    mkdirSync(path.dirname(RESULTS), { recursive: true });
    const all = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, 'utf8')) : {};
    all[backend] = { date: new Date().toISOString(), photos: 3 * perClass, viewsPerPhoto: 4, embedSeconds, photosPerSecond: 3 * perClass / embedSeconds,
      headSeconds, headEpochs: epochs, headAccuracy: Number(headAccuracy), blocksSeconds, blocksAccuracy: Number(blocksAccuracy) };
    writeFileSync(RESULTS, JSON.stringify(all, null, 2));
  });
}
