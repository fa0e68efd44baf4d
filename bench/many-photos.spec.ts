// Thousands of photos: a labelled folder of PHOTOS photos over 10 classes (crops and flips of the
// left and right halves of the five sample photos, made here) is picked through `folder-input`,
// embedded, stored, trained on and reloaded, with one worker and then with the page's pool, side
// by side in one run. Measures embedding photos/s, the time from picking the folder to a trained
// model, the wasm memory of the engine, of each helper and of the page (after training and after
// the reload), the page's JS heap, the peak resident memory of the page's renderer process (page
// and workers together) and the IndexedDB size; the import's progress every 30 s (`timeline`).
// Writes bench/results/many-photos-PHOTOS.json.
// Run: PHOTOS=500 E2E_DIR=bench npx playwright test many-photos   (after `trunk build --release`)
import { expect, test, type Browser } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GlimpsePage } from '../tests/e2e/glimpse-page';

const PHOTOS = Number(process.env.PHOTOS ?? 500);
const SOURCES = ['bridge', 'cat', 'coyote', 'flamingo', 'torch'];
const CLASSES = SOURCES.flatMap((s) => [`${s}-left`, `${s}-right`]);
const WORK = path.join(__dirname, '..', 'tests', 'e2e', 'artifacts', `many-photos-${PHOTOS}`);

/** Writes PHOTOS JPEG crops (random size and place within a half, some mirrored) as class folders. */
async function makeFolder(browser: Browser): Promise<string> {
  rmSync(WORK, { recursive: true, force: true });
  const page = await browser.newPage();
  const perClass = Math.ceil(PHOTOS / CLASSES.length);
  for (const [c, name] of CLASSES.entries()) {
    const source = readFileSync(path.join(__dirname, '..', 'tests', 'fixtures', 'photos', `${name.split('-')[0]}.jpg`));
    const count = Math.min(perClass, PHOTOS - c * perClass);
    const jpegs: string[] = await page.evaluate(async ({ data, half, count, seed }) => {
      const bitmap = await createImageBitmap(new Blob([Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0))]));
      // mulberry32: 32-bit integer steps (Math.imul), so the sequence does not lose bits to
      // float products and fall into a short cycle of repeated crops.
      let state = seed >>> 0;
      const random = () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = Math.imul(state ^ (state >>> 15), state | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
      };
      const out: string[] = [];
      // Every crop different: two alike would be one photo to the import (a duplicate), and the
      // count of photos added would fall short of PHOTOS.
      const made = new Set<string>();
      for (let i = 0; i < count; i++) {
        const width = bitmap.width / 2;
        const side = Math.floor(Math.min(width, bitmap.height) * (0.5 + 0.4 * random()));
        const x = half * width + Math.floor(random() * (width - side));
        const y = Math.floor(random() * (bitmap.height - side));
        const mirrored = random() < 0.5;
        const crop = `${side},${x},${y},${mirrored}`;
        if (made.has(crop)) {
          i--;
          continue;
        }
        made.add(crop);
        const size = Math.min(side, 400);
        const canvas = new OffscreenCanvas(size, size);
        const g = canvas.getContext('2d')!;
        if (mirrored) {
          g.translate(size, 0);
          g.scale(-1, 1);
        }
        g.drawImage(bitmap, x, y, side, side, 0, 0, size, size);
        const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
        const bytes = new Uint8Array(await blob.arrayBuffer());
        let text = '';
        for (let j = 0; j < bytes.length; j += 0x8000) text += String.fromCharCode(...bytes.subarray(j, j + 0x8000));
        out.push(btoa(text));
      }
      return out;
    }, { data: source.toString('base64'), half: name.endsWith('right') ? 1 : 0, count, seed: 7 + c });
    mkdirSync(path.join(WORK, name), { recursive: true });
    jpegs.forEach((b64, i) => writeFileSync(path.join(WORK, name, `${name}-${String(i).padStart(4, '0')}.jpg`), Buffer.from(b64, 'base64')));
  }
  await page.close();
  return WORK;
}

/** Resident memory of Chromium's renderer processes (the page and its workers), in MB. */
function rendererMB(): number {
  const ps = execFileSync('ps', ['-eo', 'rss=,args='], { encoding: 'utf8' });
  return ps.split('\n').filter((line) => line.includes('--type=renderer'))
    .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0]) / 1024, 0);
}

async function run(browser: Browser, baseURL: string, dir: string, workers: string) {
  const context = await browser.newContext({ baseURL });
  const page = await context.newPage();
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu', `bench${workers ? `&workers=${workers}` : ''}`);
  await glimpse.waitReady();
  let peakMB = 0;
  const sampler = setInterval(() => (peakMB = Math.max(peakMB, rendererMB())), 1000);
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const log = (what: string) => console.log(`[${workers || 'pool'}] ${seconds()} s: ${what}`);
  // The import's progress every 30 s, so that a run that slows down shows where.
  const timeline: { s: number; read: number; embedded: number }[] = [];
  const progress = page.getByTestId('folder-import-progress');
  const follow = setInterval(async () => {
    // Briefly: once the import is done there is no progress to wait for.
    const [read, embedded] = await progress.evaluate((p) => [Number(p.getAttribute('data-read')), Number(p.getAttribute('data-embedded'))], undefined, { timeout: 5_000 })
      .catch(() => [NaN, NaN]);
    if (Number.isNaN(read)) return;
    timeline.push({ s: seconds(), read, embedded });
    log(`read ${read}, embedded ${embedded}`);
  }, 30_000);
  await page.getByTestId('folder-input').setInputFiles(dir);
  const summary = page.getByTestId('folder-import-summary');
  // The summary comes once every file is read: it must say all of them went in (a shortfall fails
  // here and now, not after the timeout).
  await expect(summary).toBeVisible({ timeout: 7_200_000 });
  expect(await summary.getAttribute('data-added')).toBe(String(PHOTOS));
  log('every photo read');
  await expect(progress).toHaveCount(0, { timeout: 7_200_000 });
  clearInterval(follow);
  const embeddedS = (Date.now() - started) / 1000;
  log('every photo embedded');
  const used = Number(await glimpse.backend().getAttribute('data-workers'));
  await page.getByTestId('train').click();
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'done', { timeout: 3_600_000 });
  const trainedS = (Date.now() - started) / 1000;
  log('trained');
  const accuracy = Number(await page.getByTestId('metric-accuracy').getAttribute('data-value'));
  const memory = () => page.evaluate(async () => {
    const w = window as any;
    const estimate: any = await navigator.storage.estimate();
    const helpers: number[] = await Promise.all(w.glimpseHelpers().map((slot: number) => w.glimpseMemory(slot)));
    return [
      (await w.glimpseMemory()) / 1e6,
      w.glimpsePageMemory() / 1e6,
      ((performance as any).memory?.usedJSHeapSize ?? 0) / 1e6,
      (estimate.usageDetails?.indexedDB ?? estimate.usage) / 1e6,
      helpers.map((bytes) => bytes / 1e6),
    ];
  });
  const [engineMB, pageWasmMB, pageHeapMB, indexedDbMB, helperMB] = await memory();
  const reloaded = Date.now();
  await page.reload();
  await glimpse.waitReady();
  await expect(page.locator('.classes')).toHaveAttribute('data-restored', 'true', { timeout: 600_000 });
  // Classes show only their first thumbnails: their counts say how many are back.
  const ready = () => page.getByTestId('class-count').evaluateAll((counts) => counts.reduce((sum, c) => sum + Number(c.getAttribute('data-ready')), 0));
  await expect.poll(ready, { timeout: 600_000, intervals: [250] }).toBe(PHOTOS);
  const reloadS = (Date.now() - reloaded) / 1000;
  log('reloaded');
  const [reloadedEngineMB, reloadedPageWasmMB] = await memory();
  clearInterval(sampler);
  peakMB = Math.max(peakMB, rendererMB());
  glimpse.expectPrivateAndClean();
  await context.close();
  const result = {
    workers: used, embeddedS, photosPerS: PHOTOS / embeddedS, trainedS, accuracy,
    reloadS, engineMB, helperMB, pageWasmMB, pageHeapMB, reloadedEngineMB, reloadedPageWasmMB,
    rendererPeakMB: peakMB, indexedDbMB, timeline,
  };
  console.log(JSON.stringify({ ...result, timeline: undefined }));
  return result;
}

test(`${PHOTOS} photos over 10 classes: one worker, then the pool`, async ({ browser }, testInfo) => {
  test.setTimeout(4 * 3_600_000);
  const baseURL = testInfo.project.use.baseURL!;
  const dir = await makeFolder(browser);
  const one = await run(browser, baseURL, dir, '1');
  const pool = await run(browser, baseURL, dir, process.env.POOL ?? '');
  const speedup = pool.photosPerS / one.photosPerS;
  console.log(`${PHOTOS} photos: ${one.photosPerS.toFixed(2)} photos/s with 1 worker, ${pool.photosPerS.toFixed(2)} with ${pool.workers} (x${speedup.toFixed(2)})`);
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  writeFileSync(path.join(__dirname, 'results', `many-photos-${PHOTOS}.json`), JSON.stringify({
    date: new Date().toISOString(), photos: PHOTOS, classes: CLASSES.length, cores: (await import('node:os')).cpus().length,
    one, pool, speedup,
  }, null, 2));
  expect(one.accuracy).toBeGreaterThan(0.5);
  expect(pool.accuracy).toBeGreaterThan(0.5);
});
