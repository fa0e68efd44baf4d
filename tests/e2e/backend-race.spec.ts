// The backend race (Auto mode, no ?backend=): the CPU engine answers first, a WebGPU engine warms
// up behind it on SwiftShader (headless Chromium's only adapter here), both are timed on the same
// probe and their logits compared. Here the CPU wins and is kept; a WebGPU made to win on speed
// (a ?bench knob; its answers are still checked) takes over with the person's work handed to it;
// a WebGPU whose numbers are wrong is refused however fast. Photos dropped during the race get
// one answer each (`window.glimpseAnswers` counts them). Training is decided apart: a WebGPU made
// the faster at a training step trains "head + last blocks" while the CPU keeps answering.
import { expect, Page, test } from '@playwright/test';
import { GlimpsePage, dropCrops, nameClasses, photo, teachTextures } from './glimpse-page';

const RACE_TIMEOUT = 300_000;

async function answerCounts(page: Page): Promise<number[]> {
  return page.evaluate(() => Object.values((window as any).glimpseAnswers ?? {}) as number[]);
}

/** Engine workers alive (the page's own service worker is not among them). */
async function expectEngineWorkers(page: Page, count: number) {
  await expect.poll(() => page.workers().length, { timeout: 60_000 }).toBe(count);
}

test.describe('backend race', () => {
  test.describe.configure({ timeout: 900_000 });

  test('SwiftShader against the CPU: the CPU answers throughout, wins and is kept; photos dropped meanwhile get one answer each', async ({ page }, testInfo) => {
    const glimpse = new GlimpsePage(page);
    await page.goto('./?bench');
    await glimpse.waitReady();
    const backend = glimpse.backend();
    await expect(backend).toHaveAttribute('data-kind', 'cpu');
    await expect(backend).toHaveAttribute('data-race', /starting|measuring/);
    const names = ['flamingo.jpg', 'coyote.jpg', 'cat.jpg', 'bridge.jpg'];
    await glimpse.drop(names.map((n) => photo(n)));
    // Answered by the CPU while WebGPU still warms up.
    expect((await glimpse.ranking('flamingo.jpg'))[0][0]).toBe('flamingo');

    await expect(backend).toHaveAttribute('data-race', 'decided', { timeout: RACE_TIMEOUT });
    await expect(backend).toHaveAttribute('data-kind', 'cpu');
    const cpuMs = Number(await backend.getAttribute('data-cpu-ms'));
    const webgpuMs = Number(await backend.getAttribute('data-webgpu-ms'));
    console.log(`race: CPU ${cpuMs} ms, WebGPU (SwiftShader) ${webgpuMs} ms`);
    expect(cpuMs).toBeGreaterThan(0);
    expect(webgpuMs).toBeGreaterThan(cpuMs);
    await expect(page.getByTestId('backend-race')).toContainText(/WebGPU \(.*software\): \d+ ms, CPU: [\d.]+ ms/);
    await expect(page.getByTestId('backend-reason')).toContainText('the CPU is faster than this software adapter');
    // 40 times slower for a photo: not worth timing at training.
    await expect(page.getByTestId('backend-race')).not.toContainText('training step');
    const expected: Record<string, string> = { 'flamingo.jpg': 'flamingo', 'coyote.jpg': 'coyote', 'cat.jpg': 'lynx', 'bridge.jpg': 'steel arch bridge' };
    for (const name of names) expect((await glimpse.ranking(name))[0][0]).toBe(expected[name]);
    expect(await answerCounts(page)).toEqual([1, 1, 1, 1]);
    // The contender is let go.
    await expectEngineWorkers(page, 1);
    await glimpse.screenshot(testInfo, 'backend-race-cpu');

    // The next visit trusts the verdict: no second engine, the figures shown again.
    await page.reload();
    await glimpse.waitReady();
    await expect(backend).toHaveAttribute('data-race', 'decided');
    await expect(page.getByTestId('backend-race')).toContainText('measured on an earlier visit');
    await expect(backend).toHaveAttribute('data-webgpu-ms', String(webgpuMs.toFixed(1)));
    await page.waitForTimeout(3_000);
    expect(page.workers().length).toBe(1);
    glimpse.expectPrivateAndClean();
  });

  test('WebGPU made to win: it takes over at a quiet moment with the person\'s classes, photos and model', async ({ page }, testInfo) => {
    const glimpse = new GlimpsePage(page);
    await page.goto('./?bench&race=webgpu-wins');
    await glimpse.waitReady();
    const backend = glimpse.backend();
    await expect(backend).toHaveAttribute('data-kind', 'cpu');
    // Taught on the CPU engine while WebGPU warms up.
    await teachTextures(page, ['brick', 'grass'], 4);
    await dropCrops(page, '[data-testid="drop-zone"]', 'brick', 1, 2, 71, 'brick-unseen');
    await dropCrops(page, '[data-testid="drop-zone"]', 'grass', 1, 2, 72, 'grass-unseen');

    await expect(backend).toHaveAttribute('data-kind', 'webgpu', { timeout: RACE_TIMEOUT });
    await expect(backend).toHaveAttribute('data-race', 'decided');
    await expect(page.getByTestId('backend-reason')).toHaveCount(0);
    for (const name of ['brick', 'grass']) {
      for (let i = 0; i < 2; i++) expect((await glimpse.ranking(`${name}-unseen-${i}.png`, RACE_TIMEOUT))[0][0]).toBe(name);
    }
    // SwiftShader is too slow here to be worth timing at training: WebGPU trains too, and the
    // CPU engine is let go.
    await expect(page.getByTestId('backend-race')).not.toContainText('training step');
    await expectEngineWorkers(page, 1);
    // After the switch the WebGPU engine has the personal model and the class photos.
    await dropCrops(page, '[data-testid="drop-zone"]', 'grass', 1, 1, 73, 'grass-after');
    expect((await glimpse.ranking('grass-after-0.png', RACE_TIMEOUT))[0][0]).toBe('grass');
    await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(8);
    expect(await answerCounts(page)).toEqual([1, 1, 1, 1, 1]);
    await glimpse.screenshot(testInfo, 'backend-race-webgpu');
    glimpse.expectPrivateAndClean();
  });

  test('a GPU whose numbers are wrong is refused, however it is preferred', async ({ page }) => {
    const glimpse = new GlimpsePage(page);
    await page.goto('./?bench&race=webgpu-wins&gpu-fault=wrong-numbers');
    await glimpse.waitReady();
    const backend = glimpse.backend();
    await expect(backend).toHaveAttribute('data-race', 'decided', { timeout: RACE_TIMEOUT });
    await expect(backend).toHaveAttribute('data-kind', 'cpu');
    await expect(page.getByTestId('backend-reason')).toContainText("WebGPU's answers differ from the CPU's");
    await expectEngineWorkers(page, 1);
    await glimpse.drop([photo('coyote.jpg')]);
    expect((await glimpse.ranking('coyote.jpg'))[0][0]).toBe('coyote');
    glimpse.expectPrivateAndClean();
  });

  test('WebGPU made the faster trainer: the CPU answers, WebGPU trains "head + last blocks", the model answers on the CPU', async ({ page }) => {
    const glimpse = new GlimpsePage(page);
    await page.goto('./?bench&race=webgpu-trains');
    await glimpse.waitReady();
    const backend = glimpse.backend();
    await expect(backend).toHaveAttribute('data-race', 'decided', { timeout: RACE_TIMEOUT });
    await expect(backend).toHaveAttribute('data-kind', 'cpu');
    await expect(page.getByTestId('backend-race')).toContainText(/a training step: WebGPU \d+ ms, CPU \d+ ms \(WebGPU trains\)/);
    // The WebGPU engine stays on, to train.
    await page.waitForTimeout(2_000);
    expect(page.workers().length).toBe(2);

    await nameClasses(page, ['brick', 'grass']);
    await dropCrops(page, '[data-testid="class"][data-class-name="brick"]', 'brick', 0, 4, 5, 'b');
    await dropCrops(page, '[data-testid="class"][data-class-name="grass"]', 'grass', 0, 4, 6, 'g');
    await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(8);
    await page.locator('.settings summary').click();
    await page.getByTestId('train-mode').selectOption('blocks');
    await page.getByTestId('train-epochs').fill('5');
    await page.getByTestId('train-epochs').dispatchEvent('change');
    await page.getByTestId('train').click();
    const progress = page.getByTestId('train-progress');
    await expect(progress).toHaveAttribute('data-device', 'webgpu');
    await expect(progress).toHaveAttribute('data-state', 'done', { timeout: RACE_TIMEOUT });
    await expect(page.getByTestId('model-select')).toHaveValue('personal');
    // The CPU engine answers with the model WebGPU trained.
    await dropCrops(page, '[data-testid="drop-zone"]', 'brick', 1, 1, 81, 'brick-unseen');
    await dropCrops(page, '[data-testid="drop-zone"]', 'grass', 1, 1, 82, 'grass-unseen');
    for (const name of ['brick', 'grass']) {
      const ranking = await glimpse.ranking(`${name}-unseen-0.png`);
      expect(ranking.map(([label]) => label).sort()).toEqual(['brick', 'grass']);
      expect(ranking[0][0]).toBe(name);
    }
    await expect(backend).toHaveAttribute('data-kind', 'cpu');
    glimpse.expectPrivateAndClean();
  });
});
