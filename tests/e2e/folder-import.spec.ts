// Importing photos already sorted into one folder per class: a folder picked (`folder-input`,
// a webkitdirectory input), a zip (`folder-zip-input` and a drop on the Teach panel), cancel, and
// zips that cannot be used. The folders are written to disk from crops of the texture photos.
import { expect, test, type Page } from '@playwright/test';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { zipSync } from 'fflate';
import { PNG } from 'pngjs';
import { GlimpsePage, dropCrops } from './glimpse-page';

const TEXTURES = path.join(__dirname, '..', 'fixtures', 'textures');
const WORK = path.join(__dirname, 'artifacts', 'folder-import');

/** `count` square crops of a texture's left (`half` 0) or right half, as PNG files. */
function crops(texture: string, half: number, count: number, seed: number): Buffer[] {
  const source = PNG.sync.read(readFileSync(path.join(TEXTURES, `${texture}.png`)));
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: count }, () => {
    const side = 140 + Math.floor(random() * 80);
    const x = half * 256 + Math.floor(random() * (256 - side));
    const y = Math.floor(random() * (512 - side));
    const crop = new PNG({ width: side, height: side });
    PNG.bitblt(source, crop, x, y, side, side, 0, 0);
    return PNG.sync.write(crop);
  });
}

/** Writes `files` (path -> bytes) under a fresh folder and returns the folder. */
function folder(name: string, files: Record<string, Buffer>): string {
  const root = path.join(WORK, name);
  rmSync(root, { recursive: true, force: true });
  for (const [file, bytes] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), bytes);
  }
  return root;
}

/** Ten crops of each texture's left half, by class folder. */
function textureFiles(prefix: string, names: Record<string, string>): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  for (const [i, [texture, folderName]] of Object.entries(names).entries()) {
    crops(texture, 0, 10, 17 + i).forEach((bytes, n) => (files[`${prefix}${folderName}/${texture}-${n}.png`] = bytes));
  }
  return files;
}

async function classCounts(page: Page): Promise<Record<string, string>> {
  const counts: Record<string, string> = {};
  for (const cls of await page.getByTestId('class').all()) {
    counts[(await cls.getAttribute('data-class-name'))!] = (await cls.getByTestId('class-count').getAttribute('data-value'))!;
  }
  return counts;
}

async function trainAndCheckUnseen(page: Page, glimpse: GlimpsePage, labels: Record<string, string>) {
  await page.getByTestId('train').click();
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'done', { timeout: 300_000 });
  expect(Number(await page.getByTestId('metric-accuracy').getAttribute('data-value'))).toBeGreaterThanOrEqual(0.9);
  for (const [i, texture] of Object.keys(labels).entries()) {
    await dropCrops(page, '[data-testid="drop-zone"]', texture, 1, 2, 91 + i, `${texture}-unseen`);
  }
  for (const [texture, label] of Object.entries(labels)) {
    for (let i = 0; i < 2; i++) {
      expect((await glimpse.ranking(`${texture}-unseen-${i}.png`))[0][0], `${texture}-unseen-${i}`).toBe(label);
    }
  }
}

test('a picked folder becomes classes: subfolders by name, litter and duplicates left out, trained, and not imported twice', async ({ page }, testInfo) => {
  const glimpse = new GlimpsePage(page);
  // Two workers embed: the engine and a helper of the pool, whose photos the engine trains on.
  await glimpse.open('cpu', 'workers=2');
  await glimpse.waitReady();
  // A class the person already has takes the photos of the folder of the same name (any case).
  await page.getByTestId('class').first().getByTestId('class-name-input').fill('Brick');
  const files = textureFiles('', { brick: 'brick', grass: 'grass', gravel: 'gravel' });
  // One brick photo deeper down still belongs to its class folder.
  files['brick/older/brick-9.png'] = files['brick/brick-9.png'];
  delete files['brick/brick-9.png'];
  const dir = folder('textures', {
    ...files,
    'gravel/z-gravel-0-again.png': files['gravel/gravel-0.png'],
    'grass/notes.txt': Buffer.from('where these photos came from'),
    '__MACOSX/grass/._grass-0.png': Buffer.from([0, 5, 22, 7, 0, 2, 0, 0]),
    '.DS_Store': Buffer.from([0, 0, 0, 1, 66, 117, 100, 49]),
  });
  await page.getByTestId('folder-input').setInputFiles(dir);

  const summary = page.getByTestId('folder-import-summary');
  await expect(summary).toHaveAttribute('data-added', '30');
  await expect(summary).toContainText('Imported 30 photos into 3 classes.');
  await expect(summary).toContainText('Left out 2 files that operating systems add');
  const tallies = await summary.getByTestId('folder-import-class').evaluateAll((items) =>
    items.map((li) => [li.getAttribute('data-class-name'), li.getAttribute('data-added'), li.getAttribute('data-new')]));
  expect(tallies).toEqual([['Brick', '10', 'false'], ['grass', '10', 'true'], ['gravel', '10', 'true']]);
  const skipped = await summary.getByTestId('folder-import-skipped').evaluateAll((items) =>
    items.map((li) => [li.getAttribute('data-file-name'), li.getAttribute('data-reason'), li.textContent]));
  expect(skipped).toEqual([
    ['textures/grass/notes.txt', 'not-a-photo', expect.stringContaining('not a photo in a format Glimpse reads')],
    ['textures/gravel/z-gravel-0-again.png', 'duplicate', 'textures/gravel/z-gravel-0-again.png: the same photo as textures/gravel/gravel-0.png'],
  ]);
  // The empty "Class 2" the page starts with made way for the imported classes.
  expect(await classCounts(page)).toEqual({ Brick: '10', grass: '10', gravel: '10' });
  await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(30, { timeout: 180_000 });
  await expect(page.getByTestId('folder-import-progress')).toHaveCount(0);
  // The storage line is estimated one at a time, the last after the import's last write: it
  // ends on what the browser says now.
  const stored = () => page.getByTestId('storage-used').getAttribute('data-bytes').then(Number);
  const estimated = () => page.evaluate(async () => {
    const estimate: any = await navigator.storage.estimate();
    return estimate.usageDetails?.indexedDB ?? estimate.usage;
  });
  await expect.poll(async () => (await stored()) - (await estimated())).toBe(0);
  expect(await stored()).toBeGreaterThan(200_000);
  await expect(glimpse.backend()).toHaveAttribute('data-workers', '2');
  await expect(glimpse.backend()).toContainText('2 CPU workers');
  await page.locator('section.teach').screenshot({ path: path.join(__dirname, 'artifacts', 'folder-import.png') });
  await testInfo.attach('folder-import', { path: path.join(__dirname, 'artifacts', 'folder-import.png'), contentType: 'image/png' });

  await trainAndCheckUnseen(page, glimpse, { brick: 'Brick', grass: 'grass', gravel: 'gravel' });

  // The same folder again, after a reload: everything is already here, nothing is added.
  await page.reload();
  await glimpse.waitReady();
  await expect(page.locator('.classes')).toHaveAttribute('data-restored', 'true');
  await page.getByTestId('folder-input').setInputFiles(dir);
  await expect(summary).toHaveAttribute('data-added', '0');
  await expect(summary.locator('[data-testid="folder-import-skipped"][data-reason="duplicate"]')).toHaveCount(31);
  await expect(summary.locator('[data-testid="folder-import-skipped"]').first()).toContainText('already in the class "Brick"');
  expect(await classCounts(page)).toEqual({ Brick: '10', grass: '10', gravel: '10' });
  glimpse.expectPrivateAndClean();
});

test('a zip with a root folder, unicode class names and macOS litter, picked or dropped on the Teach panel', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  // One worker: the engine embeds every photo itself.
  await glimpse.open('cpu', 'workers=1');
  await glimpse.waitReady();
  const names = { brick: 'Ziegel 🧱', grass: 'Gräser', gravel: 'Kies' };
  const entries: Record<string, Uint8Array> = {};
  for (const [file, bytes] of Object.entries(textureFiles('Texturen/', names))) entries[file] = bytes;
  entries['__MACOSX/Texturen/Kies/._gravel-0.png'] = new Uint8Array([0, 5, 22, 7]);
  const zip = Buffer.from(zipSync(entries));
  await page.getByTestId('folder-zip-input').setInputFiles({ name: 'Texturen.zip', mimeType: 'application/zip', buffer: zip });
  const summary = page.getByTestId('folder-import-summary');
  await expect(summary).toHaveAttribute('data-added', '30');
  expect(await classCounts(page)).toEqual({ 'Ziegel 🧱': '10', 'Gräser': '10', Kies: '10' });
  await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(30, { timeout: 180_000 });
  await expect(glimpse.backend()).toHaveAttribute('data-workers', '1');
  await trainAndCheckUnseen(page, glimpse, names);

  // A zip dropped on the panel (outside any class) goes the same way: new photos into a new class.
  const more = Buffer.from(zipSync({ 'flamingos/flamingo.jpg': readFileSync(path.join(__dirname, '..', 'fixtures', 'photos', 'flamingo.jpg')) }));
  await page.evaluate((data) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'more.zip', { type: 'application/zip' }));
    document.querySelector('.teach-head')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, more.toString('base64'));
  await expect(summary).toContainText('Imported 1 photo into 1 class.');
  expect((await classCounts(page)).flamingos).toBe('1');
  glimpse.expectPrivateAndClean();
});

test('cancel keeps the photos already embedded and takes back the rest', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  const files: Record<string, Buffer> = {};
  for (const texture of ['brick', 'grass']) {
    crops(texture, 0, 30, 5).forEach((bytes, n) => (files[`${texture}/${texture}-${n}.png`] = bytes));
  }
  await page.getByTestId('folder-input').setInputFiles(folder('to-cancel', files));
  const progress = page.getByTestId('folder-import-progress');
  await expect(progress).toBeVisible();
  await expect.poll(async () => Number(await progress.getAttribute('data-embedded')), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  await page.getByTestId('folder-import-cancel').click();
  const summary = page.getByTestId('folder-import-summary');
  await expect(summary).toHaveAttribute('data-cancelled', 'true');
  await expect(summary).toContainText('Cancelled. Kept');
  await expect(page.locator('.class-photo[data-state="embedding"]')).toHaveCount(0);
  const kept = await page.locator('.class-photo[data-state="ready"]').count();
  expect(kept).toBeGreaterThanOrEqual(2);
  expect(kept).toBeLessThan(60);
  const counts = Object.values(await classCounts(page)).reduce((sum, n) => sum + Number(n), 0);
  expect(counts).toBe(kept);
  glimpse.expectPrivateAndClean();
});

test('zips that cannot be used get their message and change nothing', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  const good = Buffer.from(zipSync({ 'cats/cat.jpg': readFileSync(path.join(__dirname, '..', 'fixtures', 'photos', 'cat.jpg')) }));
  const cases: [string, Buffer, RegExp][] = [
    ['notes.zip', Buffer.from('these are my notes'), /^Can't import notes\.zip: it is not a zip archive, or it is cut short/],
    ['cut.zip', good.subarray(0, Math.floor(good.length / 2)), /^Can't import cut\.zip: it is not a zip archive, or it is cut short/],
    ['empty.zip', Buffer.alloc(0), /^Can't import empty\.zip: the file is empty\.$/],
    ['project.zip', Buffer.from(zipSync({ 'manifest.json': Buffer.from('{}') })), /it is a Glimpse project file: open it with Import… under "Your work"/],
    ['folders-only.zip', Buffer.from(zipSync({ 'cats/': new Uint8Array(0) })), /it holds no files/],
  ];
  for (const [name, buffer, message] of cases) {
    await page.getByTestId('folder-zip-input').setInputFiles({ name, mimeType: 'application/zip', buffer });
    await expect(page.getByTestId('folder-import-error')).toHaveText(message);
    expect(await classCounts(page), name).toEqual({ 'Class 1': '0', 'Class 2': '0' });
  }
  glimpse.expectPrivateAndClean();
});
