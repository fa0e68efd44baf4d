import { expect, test } from '@playwright/test';
import { GlimpsePage, download, dropCrops, onnxSummary, photo, switchBackbone, teachTextures } from './glimpse-page';

const NAMES = ['brick', 'grass', 'gravel'];
const PER_CLASS = 6;

/** The top-1 ImageNet class of the cat photo on each backbone (tests/backbones.rs). */
const CAT_TOP1 = { lite0: 'lynx', lite1: 'Egyptian cat', lite2: 'Egyptian cat' };

async function catTop1(glimpse: GlimpsePage, as: string): Promise<string> {
  await glimpse.drop([photo('cat.jpg', as)]);
  return (await glimpse.ranking(as))[0][0];
}

test('backbone on CPU: the choice shows size, top-1 and latency here; switching re-embeds and trains; a reload keeps the choice and each backbone its model', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  const backbone = page.getByTestId('backbone');
  await expect(backbone).toHaveAttribute('data-current', 'lite0');
  const options = page.getByTestId('backbone-select').locator('option');
  await expect(options).toHaveCount(3);
  expect(await options.evaluateAll((all) => all.map((o) => [o.getAttribute('value'), o.getAttribute('data-top1')]))).toEqual(
    [['lite0', '75.1'], ['lite1', '76.7'], ['lite2', '77.6']]);
  await expect(options.nth(1)).toContainText('EfficientNet-Lite1 · 10.8 MB · ImageNet top-1 76.7% · not timed here yet');
  expect(await catTop1(glimpse, 'cat-lite0.jpg')).toBe(CAT_TOP1.lite0);
  // Timed here: the photo just answered.
  await expect(options.nth(0)).toHaveAttribute('data-latency-ms', /^\d+(\.\d)?$/);
  await expect(options.nth(0)).toContainText(/ms per photo here \(CPU, 1 photo\)/);

  await teachTextures(page, NAMES, PER_CLASS);
  const lite0Accuracy = Number(await page.getByTestId('metric-accuracy').getAttribute('data-value'));

  // Lite1: fetched (it is not part of the site's first download), then the photos embedded.
  const seen = await switchBackbone(page, 'lite1');
  console.log(`switch to Lite1 showed: ${seen.join(' | ')}`);
  expect(seen.some((t) => /^Embedding your photos with EfficientNet-Lite1: \d+ of 18$/.test(t))).toBe(true);
  await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(3 * PER_CLASS, { timeout: 120_000 });
  // The Lite0 model does not run on Lite1: no model until one is trained on it.
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'idle');
  await expect(page.getByTestId('model-select')).toHaveValue('imagenet');
  expect(await catTop1(glimpse, 'cat-lite1.jpg')).toBe(CAT_TOP1.lite1);
  await page.getByTestId('train').click();
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'done', { timeout: 240_000 });
  const lite1Accuracy = Number(await page.getByTestId('metric-accuracy').getAttribute('data-value'));
  console.log(`held-out accuracy: Lite0 ${lite0Accuracy}, Lite1 ${lite1Accuracy}`);
  expect(lite1Accuracy).toBeGreaterThanOrEqual(0.75);
  await dropCrops(page, '[data-testid="drop-zone"]', 'gravel', 0, 1, 91, 'unseen-gravel');
  expect((await glimpse.ranking('unseen-gravel-0.png'))[0][0]).toBe('gravel');
  // The ONNX export is Lite1's: its backbone in the metadata, a 240 px input.
  const onnx = onnxSummary(await download(page, 'export-onnx', 'backbone-lite1.onnx'));
  expect([onnx.backbone, onnx.side, onnx.classes]).toEqual(['lite1', 240, NAMES]);

  // A reload keeps the choice, the photos and the Lite1 model.
  await page.reload();
  await glimpse.waitReady();
  await expect(backbone).toHaveAttribute('data-current', 'lite1');
  await expect(page.getByTestId('backbone-select')).toHaveValue('lite1');
  await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(3 * PER_CLASS, { timeout: 120_000 });
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'done');
  await expect(page.getByTestId('model-select')).toHaveValue('personal');
  expect(Number(await page.getByTestId('metric-accuracy').getAttribute('data-value'))).toBe(lite1Accuracy);
  await dropCrops(page, '[data-testid="drop-zone"]', 'brick', 0, 1, 92, 'reloaded-brick');
  expect((await glimpse.ranking('reloaded-brick-0.png'))[0][0]).toBe('brick');
  // Once fetched, Lite1's weights are kept for offline use.
  expect(await page.evaluate(async () => (await (await caches.open('glimpse-backbones')).keys()).map((r) => new URL(r.url).pathname)))
    .toContain('/efficientnet-lite1.f16.safetensors');

  // Back to Lite0: its own model comes back with it.
  await switchBackbone(page, 'lite0');
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'done');
  expect(Number(await page.getByTestId('metric-accuracy').getAttribute('data-value'))).toBe(lite0Accuracy);
  await expect(page.getByTestId('model-select')).toHaveValue('personal');
  glimpse.expectPrivateAndClean();
});

test('backbone: a change cancelled half-way leaves everything as it was; Compare trains the head on each and shows accuracy and time side by side', async ({ page }, testInfo) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  await teachTextures(page, NAMES.slice(0, 2), 8);
  await page.getByTestId('backbone-select').selectOption('lite2');
  await expect(page.getByTestId('backbone-status')).toContainText(/Embedding your photos with EfficientNet-Lite2: \d+ of 16/, { timeout: 120_000 });
  await page.getByTestId('backbone-cancel').click();
  const backbone = page.getByTestId('backbone');
  await expect(backbone).toHaveAttribute('data-state', 'idle');
  await expect(backbone).toHaveAttribute('data-current', 'lite0');
  await expect(page.getByTestId('backbone-select')).toHaveValue('lite0');
  await expect(page.getByTestId('backbone-status')).toHaveCount(0);
  // Still Lite0, its model and its embeddings: after a reload too.
  await page.reload();
  await glimpse.waitReady();
  await expect(backbone).toHaveAttribute('data-current', 'lite0');
  await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(16, { timeout: 120_000 });
  await expect(page.getByTestId('model-select')).toHaveValue('personal');
  await page.getByTestId('model-select').selectOption('imagenet');
  expect(await catTop1(glimpse, 'cat-after-cancel.jpg')).toBe(CAT_TOP1.lite0);

  // Compare: the head trained on every backbone with the same photos and settings, beside the
  // engine that answers (which keeps the person's model).
  await page.getByTestId('model-select').selectOption('personal');
  await page.getByTestId('compare-backbones').click();
  await expect(page.getByTestId('compare-status')).toBeVisible();
  const rows = page.getByTestId('backbone-comparison-row');
  await expect(rows).toHaveCount(3, { timeout: 240_000 });
  await expect(page.getByTestId('compare-status')).toHaveCount(0, { timeout: 60_000 });
  const table = await rows.evaluateAll((all) => all.map((r) => ({
    backbone: r.getAttribute('data-backbone'), current: r.getAttribute('data-current'), error: r.getAttribute('data-error'),
    accuracy: Number(r.getAttribute('data-accuracy')), low: Number(r.getAttribute('data-low')),
    high: Number(r.getAttribute('data-high')), photos: Number(r.getAttribute('data-photos')), ms: Number(r.getAttribute('data-ms')),
  })));
  console.log(`comparison: ${JSON.stringify(table)}`);
  expect(table.map((r) => [r.backbone, r.current, r.error])).toEqual(
    [['lite0', 'true', null], ['lite1', 'false', null], ['lite2', 'false', null]]);
  for (const row of table) {
    expect(row.photos).toBe(16);
    expect(row.low).toBeLessThanOrEqual(row.accuracy);
    expect(row.accuracy).toBeLessThanOrEqual(row.high);
    expect(row.accuracy).toBeGreaterThanOrEqual(0.75);
    expect(row.ms).toBeGreaterThan(0);
  }
  await glimpse.screenshot(testInfo, 'backbone-compare');
  // Each backbone is now timed here, and the person's own model still answers.
  for (const i of [1, 2]) {
    await expect(page.getByTestId('backbone-select').locator('option').nth(i)).toContainText(/ms per photo here \(CPU, \d+ photos?\)/);
  }
  await expect(page.getByTestId('model-select')).toHaveValue('personal');
  await dropCrops(page, '[data-testid="drop-zone"]', NAMES[1], 0, 1, 93, 'after-compare');
  expect((await glimpse.ranking('after-compare-0.png'))[0][0]).toBe(NAMES[1]);
  // Picking one from the table switches to it.
  await rows.nth(2).getByTestId('backbone-use').click();
  await expect(page.getByTestId('backbone')).toHaveAttribute('data-current', 'lite2', { timeout: 240_000 });
  await expect(rows.nth(2)).toHaveAttribute('data-current', 'true');
  glimpse.expectPrivateAndClean();
});

test('backbone on WebGPU: Lite1 loads on the GPU path and answers as Lite1', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('webgpu');
  await glimpse.waitReady();
  await expect(glimpse.backend()).toHaveAttribute('data-kind', 'webgpu');
  await switchBackbone(page, 'lite1');
  await expect(glimpse.backend()).toHaveAttribute('data-kind', 'webgpu');
  expect(await catTop1(glimpse, 'cat-webgpu-lite1.jpg')).toBe(CAT_TOP1.lite1);
  await expect(page.getByTestId('backbone-select').locator('option').nth(1)).toContainText(/ms per photo here \(WebGPU, 1 photo\)/);
  glimpse.expectPrivateAndClean();
});
