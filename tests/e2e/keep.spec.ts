import { expect, test, type Page } from '@playwright/test';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GlimpsePage, download, dropCrops, teachTextures } from './glimpse-page';

const NAMES = ['brick', 'grass', 'gravel'];
const PER_CLASS = 6;
const ARTIFACTS = path.join(__dirname, 'artifacts');

function bucket(page: Page, name: string) {
  return page.locator(`[data-testid="class"][data-class-name="${name}"]`);
}

/** Classes on screen as (name, photo count). */
async function classes(page: Page): Promise<Array<[string, number]>> {
  const out: Array<[string, number]> = [];
  const all = page.getByTestId('class');
  for (let i = 0; i < (await all.count()); i++) {
    const c = all.nth(i);
    out.push([(await c.getAttribute('data-class-name')) ?? '', Number(await c.getByTestId('class-count').getAttribute('data-value'))]);
  }
  return out;
}

/** The same unseen crops each time (same seeds), classified: top label and confidence. */
async function unseen(glimpse: GlimpsePage, round: string): Promise<Array<[string, number]>> {
  const clear = glimpse.page.getByTestId('clear-results');
  if ((await clear.count()) > 0) await clear.click();
  const out: Array<[string, number]> = [];
  for (const [i, name] of NAMES.entries()) {
    await dropCrops(glimpse.page, '[data-testid="drop-zone"]', name, 1, 1, 91 + i, `${name}-${round}`);
    const ranking = await glimpse.ranking(`${name}-${round}-0.png`);
    out.push(ranking[0]);
  }
  return out;
}

function expectSamePredictions(a: Array<[string, number]>, b: Array<[string, number]>) {
  expect(b.map(([label]) => label)).toEqual(a.map(([label]) => label));
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i][1] - b[i][1])).toBeLessThan(1e-3);
}

async function expectRestored(page: Page, accuracy: string) {
  await expect(page.locator('.classes')).toHaveAttribute('data-restored', 'true');
  expect(await classes(page)).toEqual(NAMES.map((n) => [n, PER_CLASS]));
  await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(NAMES.length * PER_CLASS);
  await expect(page.getByTestId('metric-accuracy')).toHaveAttribute('data-value', accuracy);
  await expect(page.getByTestId('model-select')).toHaveValue('personal');
}

/** A setting as stored in IndexedDB (writes are asynchronous: poll before reloading). */
async function stored(page: Page, key: string): Promise<any> {
  return page.evaluate((key) => new Promise((resolve, reject) => {
    const open = indexedDB.open('glimpse');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const get = open.result.transaction('settings').objectStore('settings').get(key);
      get.onsuccess = () => { open.result.close(); resolve(get.result); };
      get.onerror = () => reject(get.error);
    };
  }), key);
}

test('keep and carry: reload restores everything; export, clear, import give the same predictions; bad files change nothing', async ({ page }, testInfo) => {
  test.setTimeout(600_000);
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  await teachTextures(page, NAMES, PER_CLASS, 180_000);
  const accuracy = (await page.getByTestId('metric-accuracy').getAttribute('data-value'))!;
  const trained = await unseen(glimpse, 'a');
  expect(trained.map(([label]) => label)).toEqual(NAMES);

  // Reload: classes, photos, the model, its metrics and the model choice are back.
  await page.reload();
  await glimpse.waitReady();
  await expectRestored(page, accuracy);
  expectSamePredictions(trained, await unseen(glimpse, 'b'));
  // The model choice is remembered (once stored: IndexedDB writes are asynchronous).
  await page.getByTestId('model-select').selectOption('imagenet');
  await expect.poll(() => stored(page, 'use-personal')).toBe(false);
  await page.reload();
  await glimpse.waitReady();
  await expect(page.getByTestId('model-select')).toHaveValue('imagenet');
  await page.getByTestId('model-select').selectOption('personal');

  // A reload in the middle of a training run keeps every photo and the last finished model.
  await page.locator('.settings summary').click();
  await page.getByTestId('train-mode').selectOption('blocks');
  await expect.poll(async () => (await stored(page, 'train-settings'))?.mode).toBe('HeadAndBlocks');
  await page.getByTestId('train').click();
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'running');
  await page.reload();
  await glimpse.waitReady();
  await expectRestored(page, accuracy);
  await expect(page.getByTestId('train-mode')).toHaveValue('blocks');
  expectSamePredictions(trained, await unseen(glimpse, 'r'));

  const used = Number(await page.getByTestId('storage-used').getAttribute('data-bytes'));
  console.log(`IndexedDB for ${NAMES.length} x ${PER_CLASS} photos and a model: ${(used / 1e6).toFixed(2)} MB (browser estimate)`);
  expect(used).toBeGreaterThan(0);

  // Export with and without photos, and the whole network for other tools.
  const withPhotos = await download(page, 'export', 'export-with-photos.zip');
  await page.getByTestId('export-photos').uncheck();
  const withoutPhotos = await download(page, 'export', 'export-without-photos.zip');
  const network = await download(page, 'export-network', 'export-network.zip');
  const size = (file: string) => statSync(file).size;
  console.log(`export: ${size(withPhotos)} bytes with photos, ${size(withoutPhotos)} without; network ${size(network)} bytes`);
  expect(size(withoutPhotos)).toBeLessThan(size(withPhotos));
  await expect(page.getByTestId('export-error')).toHaveCount(0);

  // Clear everything (after a confirmation): gone, and still gone after a reload.
  await page.getByTestId('clear-all').click();
  await page.getByTestId('clear-all-cancel').click();
  expect(await classes(page)).toEqual(NAMES.map((n) => [n, PER_CLASS]));
  await page.getByTestId('clear-all').click();
  await page.getByTestId('clear-all-confirm').click();
  await expect(page.getByTestId('class')).toHaveCount(2);
  expect((await classes(page)).every(([, n]) => n === 0)).toBe(true);
  await expect(page.getByTestId('model-select')).toHaveValue('imagenet');
  await page.reload();
  await glimpse.waitReady();
  await expect(page.locator('.classes')).toHaveAttribute('data-restored', 'true');
  expect((await classes(page)).every(([, n]) => n === 0)).toBe(true);
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'idle');

  // Import the export: the same classes, photos, metric and predictions.
  await page.getByTestId('import-input').setInputFiles(withPhotos);
  await expect(page.getByTestId('import-status')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
  await expectRestored(page, accuracy);
  expectSamePredictions(trained, await unseen(glimpse, 'c'));

  // Bad files: a clear message, and nothing stored or shown changes.
  const bytes = readFileSync(withPhotos);
  const bad: Array<[string, Buffer, RegExp]> = [
    ['truncated.zip', bytes.subarray(0, Math.floor(bytes.length / 2)), /cut short/],
    ['notes.zip', Buffer.from('these are my notes, not a model'), /not a zip archive/],
    ['empty.zip', Buffer.alloc(0), /empty/],
    ['photo.zip', readFileSync(path.join(__dirname, '..', 'fixtures', 'photos', 'cat.jpg')), /not a zip archive/],
  ];
  for (const [name, data, message] of bad) {
    await page.getByTestId('import-input').setInputFiles({ name, mimeType: 'application/zip', buffer: data });
    await expect(page.getByTestId('import-error')).toContainText(message);
    await expect(page.getByTestId('import-error')).toContainText('Nothing was changed');
    expect(await classes(page)).toEqual(NAMES.map((n) => [n, PER_CLASS]));
  }
  // A good file over existing work asks first; cancelling keeps the work.
  await page.getByTestId('import-input').setInputFiles(withoutPhotos);
  await page.getByTestId('import-cancel').click();
  await glimpse.screenshot(testInfo, 'keep');
  await page.reload();
  await glimpse.waitReady();
  await expectRestored(page, accuracy);

  // A model-only file replaces the work after the person agrees: classes without photos.
  await page.getByTestId('import-input').setInputFiles(withoutPhotos);
  await page.getByTestId('import-confirm').click();
  await expect(page.getByTestId('import-status')).toHaveAttribute('data-state', 'done');
  expect(await classes(page)).toEqual(NAMES.map((n) => [n, 0]));
  await expect(page.getByTestId('model-select')).toHaveValue('personal');
  expectSamePredictions(trained, await unseen(glimpse, 'd'));
  writeFileSync(path.join(ARTIFACTS, 'keep-sizes.json'), JSON.stringify({ used, withPhotos: size(withPhotos), withoutPhotos: size(withoutPhotos), network: size(network) }));
  glimpse.expectPrivateAndClean();
});
