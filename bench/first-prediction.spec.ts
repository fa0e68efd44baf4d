// Time to first prediction, Glimpse and ONNX Runtime Web side by side, computed the same way for
// both: from navigation to the runtime's ready time (its engine or session loaded, on the page's
// clock), plus the first inference (the photo's bytes handed over after ready, decoded,
// preprocessed and run in the runtime's worker, answer back on the page). Cold is a fresh browser
// profile, warm the next launch of the same profile (disk cache, compiled-code cache, Glimpse's
// service worker). Both sites are served with an hour of HTTP caching by a process of their own.
// ORT is visited with the float32 model and with the float16-weight one (Glimpse ships float16).
// Split into download, wasm compile, weight load, warm-up and first inference. Writes
// bench/results/first-prediction.json.
// Run: scripts/bench.sh   (builds the site and the ONNX model first)
import { expect, test, type BrowserContext, type BrowserType, type LaunchOptions } from '@playwright/test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { machine } from './machine';
import { ortSite, serve, ROOT } from './sites';

const BACKENDS = (process.env.BENCH_BACKENDS ?? 'cpu,webgpu').split(',');
const GLIMPSE_PORT = 8093;
const ORT_PORT = 8094;
const PHOTO = readFileSync(path.join(ROOT, 'tests', 'fixtures', 'photos', 'flamingo.jpg'));
const FLAMINGO = 130;

/** Where the time went, in ms; `total` is navigation -> prediction on screen. */
interface Split {
  download: number;
  compile: number;
  weights: number;
  warmUp: number;
  firstInference: number;
  /** Of the first inference, the engine's own part (decode, preprocess, network, ranking). */
  engine?: number;
  total: number;
}

async function glimpseVisit(context: BrowserContext, backend: string): Promise<Split> {
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${GLIMPSE_PORT}/?backend=${backend}&bench`);
  await expect(page.getByTestId('model-status')).toHaveAttribute('data-state', 'ready', { timeout: 600_000 });
  await page.evaluate(() => {
    document.querySelector('[data-testid="file-input"]')!.addEventListener('change', () => {
      (window as any).photoAt = performance.now();
    }, { capture: true, once: true });
  });
  await page.getByTestId('file-input').setInputFiles({ name: 'flamingo.jpg', mimeType: 'image/jpeg', buffer: PHOTO });
  const shownAt = Number(await (await page.waitForFunction(
    () => document.querySelector('[data-testid="prediction"]') && performance.now(), null, { polling: 'raf', timeout: 600_000 })).jsonValue());
  await expect(page.locator('[data-testid="prediction"]').first()).toContainText('flamingo');
  const photoAt: number = await page.evaluate(() => (window as any).photoAt);
  const engine = Number(await page.getByTestId('result').first().getAttribute('data-elapsed-ms'));
  const split = await page.evaluate(() => {
    const t = (window as any).glimpseLoadTimings;
    const toPage = (workerMs: number) => workerMs + t.clock_origin_ms - performance.timeOrigin;
    const app = performance.getEntriesByType('resource').find((e) => /app-.*_bg\.wasm/.test(e.name)) as PerformanceResourceTiming;
    const appStart = performance.getEntriesByName('glimpse-app-start')[0].startTime;
    const [workerFetchStart, workerFetchEnd] = t.wasm_fetch;
    return {
      download: (app.responseEnd - app.fetchStart) + (workerFetchEnd - workerFetchStart) + t.weights_download_ms,
      compile: (appStart - app.responseEnd) + (toPage(t.started_at) - toPage(workerFetchEnd)),
      weights: t.weights_load_ms,
      warmUp: t.device_ms + t.warm_up_ms,
      timeline: {
        appWasmFetch: [app.fetchStart, app.responseEnd], appStart,
        workerWasmFetch: [toPage(workerFetchStart), toPage(workerFetchEnd)], engineStart: toPage(t.started_at),
      },
      // When the engine said it was ready, on the page's clock.
      readyAt: toPage(t.started_at) + t.device_ms + t.weights_download_ms + t.weights_load_ms + t.warm_up_ms,
    };
  });
  // The offline copy is written in the background after the first visit: let it finish, so the
  // warm visit is the one a returning person gets.
  await expect(page.getByTestId('offline-ready')).toHaveAttribute('data-ready', 'true', { timeout: 600_000 });
  await page.close();
  // The test notices "ready" a polling interval late: count from the engine's own ready time.
  const { readyAt, timeline, ...parts } = split;
  console.log(`glimpse ${backend}: ${JSON.stringify(timeline, (_, v) => typeof v === 'number' ? Math.round(v) : v)} ready ${readyAt.toFixed(0)}`);
  const firstInference = shownAt - photoAt;
  return { ...parts, firstInference, engine, total: readyAt + firstInference };
}

/** `f16`: the model with float16 weights (half the download, widened at load), as Glimpse ships. */
async function ortVisit(context: BrowserContext, backend: string, f16 = false): Promise<Split> {
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${ORT_PORT}/?load=${backend === 'cpu' ? 'wasm' : 'webgpu'}${f16 ? '&model=f16' : ''}`);
  // The photo goes over only once the session is ready, as Glimpse gets its photo once it is.
  await page.waitForFunction(() => (window as any).ortLoaded !== undefined);
  await page.evaluate(() => (window as any).ortLoaded);
  const out = await page.evaluate(async (base64) => {
    const raw = atob(base64);
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return (window as any).ortFirstPrediction(bytes);
  }, PHOTO.toString('base64'));
  expect(out.top, 'ORT should see a flamingo too').toBe(FLAMINGO);
  await page.close();
  const span = (name: string) => {
    const found = Object.entries(out.downloads as Record<string, { start: number; end: number }>).find(([file]) => file.includes(name));
    return found ? found[1].end - found[1].start : 0;
  };
  const wasmDownload = span('.wasm');
  return {
    download: span('.mjs') + wasmDownload + span('.onnx'),
    // InferenceSession.create fetches the runtime's wasm, compiles it, parses and optimises the
    // graph and uploads the weights; ORT has no separate warm-up (its first run compiles shaders).
    compile: out.createMs - wasmDownload,
    weights: 0,
    warmUp: 0,
    firstInference: out.inferenceMs,
    total: out.readyAt + out.inferenceMs,
  };
}

/** A cold visit in a fresh browser profile, then a warm one after relaunching the same profile. */
async function visits(browserType: BrowserType, launch: LaunchOptions, visit: (c: BrowserContext, b: string) => Promise<Split>, backend: string) {
  const profile = mkdtempSync(path.join(tmpdir(), 'glimpse-bench-profile-'));
  try {
    const result: Record<'cold' | 'warm', Split> = {} as any;
    for (const cache of ['cold', 'warm'] as const) {
      const context = await browserType.launchPersistentContext(profile, { ...launch, headless: true });
      result[cache] = await visit(context, backend);
      await context.close();
    }
    return result;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

test('first prediction: Glimpse vs ONNX Runtime Web', async ({ browser, playwright }, testInfo) => {
  const browserType = playwright.chromium;
  const launch = testInfo.project.use.launchOptions ?? {};
  test.setTimeout(3_600_000);
  const glimpseServer = await serve(path.join(ROOT, 'dist'), GLIMPSE_PORT);
  const ort = ortSite();
  const ortServer = await serve(ort.dir, ORT_PORT);
  const rows: any[] = [];
  try {
    for (const backend of BACKENDS) {
      const glimpse = await visits(browserType, launch, glimpseVisit, backend);
      const ortRuntime = await visits(browserType, launch, ortVisit, backend);
      const ortF16 = await visits(browserType, launch, (c, b) => ortVisit(c, b, true), backend);
      for (const cache of ['cold', 'warm'] as const) {
        rows.push({ backend, cache, glimpse: glimpse[cache], ort: ortRuntime[cache], ortF16: ortF16[cache] });
      }
    }
  } finally {
    await glimpseServer.close();
    await ortServer.close();
    ort.remove();
  }
  const f = (ms: number) => (ms / 1000).toFixed(2);
  console.log('\n| path | cache | runtime | download | compile + init | weight load | warm-up | first inference (engine) | total (s) | Glimpse / this |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    for (const [name, s] of [['Glimpse', r.glimpse], ['ORT-Web', r.ort], ['ORT-Web, f16 weights', r.ortF16]] as [string, Split][]) {
      const ratio = name === 'Glimpse' ? '' : (r.glimpse.total / s.total).toFixed(2);
      console.log(`| ${r.backend} | ${r.cache} | ${name} | ${f(s.download)} | ${f(s.compile)} | ${s.weights ? f(s.weights) : '-'} | ${s.warmUp ? f(s.warmUp) : '-'} | ${f(s.firstInference)}${s.engine ? ` (${f(s.engine)})` : ''} | ${f(s.total)} | ${ratio} |`);
    }
  }
  mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  // A run of some backends only (BENCH_BACKENDS) keeps its own file, beside the full run's.
  const name = process.env.BENCH_BACKENDS ? `first-prediction-${BACKENDS.join('-')}.json` : 'first-prediction.json';
  writeFileSync(path.join(__dirname, 'results', name), JSON.stringify({ ...machine(browser), rows }, null, 2));
});
