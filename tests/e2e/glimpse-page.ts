import { expect, type Locator, type Page, type TestInfo } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { parse } from 'csv-parse/sync';
import path from 'node:path';

export const PHOTOS = path.join(__dirname, '..', 'fixtures', 'photos');

/** The sample photos and the top-1 ImageNet class EfficientNet-Lite0 gives each. */
export const EXPECTED_TOP1: Record<string, string> = {
  'cat.jpg': 'lynx',
  'bridge.jpg': 'steel arch bridge',
  'coyote.jpg': 'coyote',
  'flamingo.jpg': 'flamingo',
  'torch.jpg': 'torch',
};

export interface DroppedFile {
  name: string;
  bytes: Buffer;
  type: string;
}

export function photo(name: string, as = name): DroppedFile {
  return { name: as, bytes: readFileSync(path.join(PHOTOS, name)), type: 'image/jpeg' };
}

/** Page object for the Glimpse page, through its data-testid contract only. */
export class GlimpsePage {
  readonly foreignRequests: string[] = [];
  readonly consoleErrors: string[] = [];

  constructor(readonly page: Page) {
    const origin = (url: string) => new URL(url).origin;
    page.context().on('request', (request) => {
      const url = request.url();
      if (url.startsWith('data:') || url.startsWith('blob:')) return;
      if (origin(url) !== origin(page.url() === 'about:blank' ? url : page.url())) {
        this.foreignRequests.push(url);
      }
    });
    page.on('console', (message) => {
      if (message.type() === 'error') this.consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => this.consoleErrors.push(`page error: ${error.message}`));
  }

  /** `more`: further query parameters, such as `workers=2`. */
  async open(backend: 'cpu' | 'webgpu' | null, more = '') {
    const query = [backend ? `backend=${backend}` : '', more].filter(Boolean).join('&');
    await this.page.goto(query ? `./?${query}` : './');
  }

  status(): Locator {
    return this.page.getByTestId('model-status');
  }

  backend(): Locator {
    return this.page.getByTestId('backend');
  }

  async waitReady() {
    await expect(this.status()).toHaveAttribute('data-state', 'ready', { timeout: 240_000 });
  }

  /** A real drop: a DataTransfer built in the page, dispatched on the drop zone. */
  async drop(files: DroppedFile[]) {
    await this.dropOn(this.page.getByTestId('drop-zone'), files);
  }

  /** A real drop on `target` (the drop zone, a class bucket). */
  async dropOn(target: Locator, files: DroppedFile[]) {
    const payload = files.map((f) => ({ name: f.name, type: f.type, data: f.bytes.toString('base64') }));
    const transfer = await this.page.evaluateHandle((items) => {
      const dt = new DataTransfer();
      for (const item of items) {
        const raw = atob(item.data);
        const bytes = new Uint8Array(raw.length);
        for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
        dt.items.add(new File([bytes], item.name, { type: item.type }));
      }
      return dt;
    }, payload);
    await target.dispatchEvent('drop', { dataTransfer: transfer });
  }

  /** A paste of an image (as from a screenshot tool), dispatched on the page. */
  async paste(file: DroppedFile) {
    await this.page.evaluate(({ name, type, data }) => {
      const raw = atob(data);
      const bytes = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type }));
      document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, { name: file.name, type: file.type, data: file.bytes.toString('base64') });
  }

  async pick(files: DroppedFile[]) {
    await this.page.getByTestId('file-input').setInputFiles(
      files.map((f) => ({ name: f.name, mimeType: f.type, buffer: f.bytes })),
    );
  }

  result(fileName: string): Locator {
    return this.page.locator(`[data-testid="result"][data-file-name="${fileName}"]`);
  }

  predictions(fileName: string): Locator {
    return this.result(fileName).getByTestId('prediction');
  }

  /** Waits for the card's answer and returns its rows as (label, confidence). */
  async ranking(fileName: string, timeout = 120_000): Promise<Array<[string, number]>> {
    await expect(this.predictions(fileName).first()).toBeVisible({ timeout });
    const rows = this.predictions(fileName);
    const count = await rows.count();
    const out: Array<[string, number]> = [];
    for (let i = 0; i < count; i++) {
      const row = rows.nth(i);
      out.push([(await row.getAttribute('data-label')) ?? '', Number(await row.getAttribute('data-confidence'))]);
    }
    return out;
  }

  async screenshot(testInfo: TestInfo, name: string) {
    const file = path.join(__dirname, 'artifacts', `${name}.png`);
    await this.page.screenshot({ path: file, fullPage: true });
    await testInfo.attach(name, { path: file, contentType: 'image/png' });
  }

  expectPrivateAndClean() {
    expect(this.foreignRequests, 'requests to other origins').toEqual([]);
    expect(this.consoleErrors, 'errors logged by the page').toEqual([]);
  }
}

export interface CanvasStats {
  width: number;
  height: number;
  variance: number;
  /** Mean value of each cell of a 16 x 16 grid over the canvas (all channels). */
  grid: number[];
}

/**
 * Pixel statistics of a result's saliency canvas: blank canvases have zero variance. Compare maps
 * through `gridDistance`, not byte for byte: Chromium may move a canvas between GPU and CPU
 * backing after a readback, and premultiplied alpha then rounds differently.
 */
export async function saliencyStats(result: Locator): Promise<CanvasStats> {
  return result.getByTestId('saliency').evaluate((canvas: HTMLCanvasElement) => {
    const { width, height } = canvas;
    const data = canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
    const cells = 16;
    const grid = new Array(cells * cells).fill(0);
    const counts = new Array(cells * cells).fill(0);
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < data.length; i++) {
      sum += data[i];
      sumSq += data[i] * data[i];
      const pixel = i >> 2;
      const cell = Math.floor(((pixel / width) | 0) * cells / height) * cells + Math.floor((pixel % width) * cells / width);
      grid[cell] += data[i];
      counts[cell] += 1;
    }
    const mean = sum / data.length;
    return { width, height, variance: sumSq / data.length - mean * mean, grid: grid.map((g, i) => g / counts[i]) };
  });
}

/** Mean absolute difference between two canvases' grids (0..255). */
export function gridDistance(a: CanvasStats, b: CanvasStats): number {
  return a.grid.reduce((total, value, i) => total + Math.abs(value - b.grid[i]), 0) / a.grid.length;
}

const TEXTURES = path.join(__dirname, '..', 'fixtures', 'textures');

/**
 * Cuts `count` random square crops from one half of a texture photo inside the page (canvas ->
 * PNG files) and drops them on `target` (a class bucket or the main drop zone).
 */
export async function dropCrops(page: Page, target: string, texture: string, half: number, count: number, seed: number, prefix: string) {
  const data = readFileSync(path.join(TEXTURES, `${texture}.png`)).toString('base64');
  await page.evaluate(async ({ target, data, half, count, seed, prefix }) => {
    const image = new Image();
    image.src = `data:image/png;base64,${data}`;
    await image.decode();
    let state = seed;
    const random = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
    const dt = new DataTransfer();
    for (let i = 0; i < count; i++) {
      const side = 140 + Math.floor(random() * 80);
      const x = half * 256 + Math.floor(random() * (256 - side));
      const y = Math.floor(random() * (512 - side));
      const canvas = document.createElement('canvas');
      canvas.width = side;
      canvas.height = side;
      canvas.getContext('2d')!.drawImage(image, x, y, side, side, 0, 0, side, side);
      const blob: Blob = await new Promise((resolve) => canvas.toBlob((b) => resolve(b!), 'image/png'));
      dt.items.add(new File([blob], `${prefix}-${i}.png`, { type: 'image/png' }));
    }
    document.querySelector(target)!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, { target, data, half, count, seed, prefix });
}

export async function nameClasses(page: Page, names: string[]) {
  const classes = page.getByTestId('class');
  while ((await classes.count()) < names.length) await page.getByTestId('class-add').click();
  for (let i = 0; i < names.length; i++) await classes.nth(i).getByTestId('class-name-input').fill(names[i]);
  for (const name of names) await expect(page.locator(`[data-testid="class"][data-class-name="${name}"]`)).toHaveCount(1);
}


/**
 * Names one class per texture, drops `perClass` crops of its left half into each, waits until
 * every photo is embedded, trains with the current settings and waits for the report.
 */
export async function teachTextures(page: Page, names: string[], perClass: number, timeout = 300_000) {
  await nameClasses(page, names);
  for (const [i, name] of names.entries()) {
    await dropCrops(page, `[data-testid="class"][data-class-name="${name}"]`, name, 0, perClass, 17 + i, `${name}-train`);
  }
  await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(names.length * perClass, { timeout });
  await page.getByTestId('train').click();
  await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'done', { timeout });
}

/** Clicks `testId` and saves the file the page offers as `name` under the artifacts folder. */
export async function download(page: Page, testId: string, name: string): Promise<string> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  const target = path.join(__dirname, 'artifacts', name);
  await file.saveAs(target);
  return target;
}

/** The results table (`export-results`), one object per row keyed by the header. */
export async function exportedResults(page: Page, name: string): Promise<Record<string, string>[]> {
  const file = await download(page, 'export-results', name);
  return parse(readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
}

/**
 * What onnxruntime (Python, the environment of scripts/onnx-venv.sh) reads from an exported ONNX
 * file: the class names in its metadata, its output's name, and its output for a batch of two.
 */
export function onnxSummary(file: string): { classes: string[]; output: string; shape: number[]; sums: number[]; backbone: string; side: number } {
  const cache = process.env.GLIMPSE_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'glimpse');
  const python = process.env.GLIMPSE_ONNX_PYTHON ?? path.join(cache, 'onnx-venv', 'bin', 'python');
  const script = [
    'import json, sys, numpy as np, onnxruntime as ort',
    's = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])',
    'side = s.get_inputs()[0].shape[-1]',
    '(p,) = s.run(["probabilities"], {"input": np.zeros((2, 3, side, side), np.float32)})',
    'meta = s.get_modelmeta().custom_metadata_map',
    'print(json.dumps({"classes": json.loads(meta["classes"]), "output": s.get_outputs()[0].name,',
    '                  "shape": list(p.shape), "sums": [round(float(x), 4) for x in p.sum(1)],',
    '                  "backbone": meta.get("backbone"), "side": side}))',
  ].join('\n');
  return JSON.parse(execFileSync(python, ['-c', script, file]).toString());
}

/** Chooses backbone `to` and waits until the engine runs it; answers the progress texts it showed. */
export async function switchBackbone(page: Page, to: string): Promise<string[]> {
  const seen: string[] = [];
  const status = page.getByTestId('backbone-status');
  await page.getByTestId('backbone-select').selectOption(to);
  const backbone = page.getByTestId('backbone');
  while ((await backbone.getAttribute('data-current')) !== to) {
    const text = await status.textContent({ timeout: 100 }).catch(() => null);
    if (text && !seen.includes(text)) seen.push(text);
    await expect(backbone).not.toHaveAttribute('data-state', 'failed');
    await page.waitForTimeout(50);
  }
  await expect(backbone).toHaveAttribute('data-state', 'idle');
  return seen;
}
