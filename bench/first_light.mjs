// Measures, in headless Chromium on the built site (dist/), for each backend:
//  - time to first prediction from navigation, cold cache (fresh browser profile) and warm cache;
//  - per-photo engine latency (decode -> ranked classes), median and p90 of 20 photos;
//  - time to compute a saliency overlay (Grad-CAM median of the 20, one SmoothGrad).
// Usage: node bench/first_light.mjs  (after `trunk build --release`); prints a table and JSON.
import { chromium } from '@playwright/test';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';

const PORT = 8097;
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const photosDir = path.join(root, 'tests/fixtures/photos');
const photos = readdirSync(photosDir).filter((f) => f.endsWith('.jpg')).sort();
const args = ['--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic', '--enable-unsafe-webgpu', '--enable-features=Vulkan',
  '--use-vulkan=swiftshader', '--use-angle=swiftshader'];

const server = spawn('node', [path.join(root, 'node_modules/http-server/bin/http-server'), path.join(root, 'dist'),
  '-a', '127.0.0.1', '-p', String(PORT), '--silent'], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 1000));

const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };

async function firstPrediction(context, backend) {
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${PORT}/?backend=${backend}`);
  const file = path.join(photosDir, 'flamingo.jpg');
  await page.getByTestId('file-input').setInputFiles(file);
  await page.locator('[data-testid="prediction"]').first().waitFor({ timeout: 600_000 });
  const ms = await page.evaluate(() => performance.now());
  const status = await page.getByTestId('model-status').textContent();
  await page.close();
  return { ms, status };
}

async function latency(context, backend, count) {
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${PORT}/?backend=${backend}`);
  await page.locator('[data-testid="model-status"][data-state="ready"]').waitFor({ timeout: 600_000 });
  const files = Array.from({ length: count }, (_, i) => ({
    name: `p${i}-${photos[i % photos.length]}`, mimeType: 'image/jpeg',
    buffer: readFileSync(path.join(photosDir, photos[i % photos.length])),
  }));
  const t0 = Date.now();
  await page.getByTestId('file-input').setInputFiles(files);
  await page.locator('[data-testid="result"][data-state="done"]').nth(count - 1).waitFor({ timeout: 900_000 });
  const wall = Date.now() - t0;
  const elapsed = await page.locator('[data-testid="result"]').evaluateAll((els) => els.map((e) => Number(e.dataset.elapsedMs)));
  // Grad-CAM of each photo's top class follows its answer.
  await page.locator('[data-testid="saliency"][data-elapsed-ms]').nth(count - 1).waitFor({ timeout: 900_000 });
  const gradCam = await page.locator('[data-testid="saliency"]').evaluateAll((els) => els.map((e) => Number(e.dataset.elapsedMs)));
  // One SmoothGrad overlay.
  const card = page.locator('[data-testid="result"]').first();
  await card.getByTestId('saliency-method').selectOption('smoothgrad');
  await card.locator('[data-testid="saliency"][data-method="smoothgrad"]').waitFor({ timeout: 900_000 });
  const smoothGradMs = Number(await card.getByTestId('saliency').getAttribute('data-elapsed-ms'));
  const backendText = await page.getByTestId('backend').textContent();
  await page.close();
  return { median: quantile(elapsed, 0.5), p90: quantile(elapsed, 0.9), throughputMs: wall / count, backendText,
    gradCamMedian: quantile(gradCam, 0.5), smoothGradMs };
}

const results = {};
for (const backend of ['cpu', 'webgpu']) {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'glimpse-bench-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: '/usr/lib/chromium/chromium', args, headless: true });
  const cold = await firstPrediction(context, backend);
  const warm = await firstPrediction(context, backend);
  const lat = await latency(context, backend, 20);
  await context.close();
  results[backend] = { firstPredictionColdMs: cold.ms, firstPredictionWarmMs: warm.ms, ...lat };
  console.log(`${backend}: first prediction cold ${cold.ms.toFixed(0)} ms, warm ${warm.ms.toFixed(0)} ms; ` +
    `per photo median ${lat.median.toFixed(0)} ms, p90 ${lat.p90.toFixed(0)} ms, wall ${lat.throughputMs.toFixed(0)} ms/photo; ` +
    `overlay: Grad-CAM median ${lat.gradCamMedian.toFixed(0)} ms, SmoothGrad ${lat.smoothGradMs.toFixed(0)} ms; ${lat.backendText}`);
}
console.log(JSON.stringify(results, null, 2));
server.kill();
