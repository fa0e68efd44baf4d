import { expect, test, type Page } from '@playwright/test';
import { GlimpsePage } from './glimpse-page';

// Live mode classifies Chromium's fake camera (a test pattern) continuously: frames keep being
// answered, one at a time, with the top class, its confidence and a Grad-CAM over the square the
// model saw; stopping ends every camera track.

/** Keeps every stream the page opens, so the test can see that stopping released it. */
async function watchStreams(page: Page) {
  await page.addInitScript(() => {
    const devices = navigator.mediaDevices;
    const open = devices.getUserMedia.bind(devices);
    (window as unknown as { streams: MediaStream[] }).streams = [];
    devices.getUserMedia = async (constraints) => {
      const stream = await open(constraints);
      (window as unknown as { streams: MediaStream[] }).streams.push(stream);
      return stream;
    };
  });
}

async function runLive(page: Page, backend: 'cpu' | 'webgpu', frames: number, timeout: number) {
  await watchStreams(page);
  const glimpse = new GlimpsePage(page);
  await glimpse.open(backend);
  await glimpse.waitReady();
  await page.getByTestId('live-toggle').click();
  await expect(page.getByTestId('live-toggle')).toHaveAttribute('aria-pressed', 'true');
  const result = page.getByTestId('live-result');
  await expect.poll(async () => Number(await result.getAttribute('data-frames')), { timeout }).toBeGreaterThanOrEqual(frames);
  // Frames keep coming: the count rises past what it was.
  const seen = Number(await result.getAttribute('data-frames'));
  await expect.poll(async () => Number(await result.getAttribute('data-frames')), { timeout }).toBeGreaterThan(seen);
  expect(await result.getAttribute('data-label')).toBeTruthy();
  const confidence = Number(await result.getAttribute('data-confidence'));
  expect(confidence > 0 && confidence <= 1, `${confidence}`).toBe(true);
  await expect(result.locator('.live-predictions li')).toHaveCount(3);
  // The Grad-CAM of the top class, painted over the square the model saw.
  const overlay = page.locator('.live-heatmap');
  await expect(overlay).toBeVisible();
  const painted = await overlay.evaluate((c: HTMLCanvasElement) => {
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let opaque = 0;
    for (let i = 3; i < data.length; i += 4) opaque += data[i] > 0 ? 1 : 0;
    return { side: c.width, opaque };
  });
  expect(painted.side).toBe(224);
  expect(painted.opaque).toBeGreaterThan(0);
  // The rate needs two whole frames (answer and overlay).
  await expect.poll(async () => Number(await page.getByTestId('live-fps').getAttribute('data-value')), { timeout }).toBeGreaterThan(0);
  const fps = Number(await page.getByTestId('live-fps').getAttribute('data-value'));
  console.log(`live on ${backend}: ${fps.toFixed(2)} frames/s, ${await result.getAttribute('data-frames')} frames, top "${await result.getAttribute('data-label')}"`);
  await expect(page.getByTestId('live-fps')).toContainText('frames/s');

  // Stopping lets the camera go: every track the page opened has ended.
  await page.getByTestId('live-toggle').click();
  await expect(result).toHaveCount(0);
  await expect.poll(() => page.evaluate(() =>
    (window as unknown as { streams: MediaStream[] }).streams.flatMap((s) => s.getTracks()).map((t) => t.readyState))).toEqual(['ended']);
  glimpse.expectPrivateAndClean();
}

test('live camera on CPU: frames answered one after another with a Grad-CAM, and stopping releases the camera', async ({ page }) => {
  await runLive(page, 'cpu', 3, 60_000);
});

test('live camera on WebGPU (SwiftShader): frames answered, and stopping releases the camera', async ({ page }) => {
  test.setTimeout(300_000);
  await runLive(page, 'webgpu', 1, 240_000);
});
