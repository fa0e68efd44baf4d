// Faults injected while a person works: the engine's worker crashes, the WebGPU device is lost, the
// browser's storage is full. Glimpse must recover (a new worker, handed the person's work again),
// say what happened, and lose no photo, class or trained model; a full storage gets a clear
// message and leaves nothing half-written.
import { expect, test, type Page } from '@playwright/test';
import { GlimpsePage, dropCrops, nameClasses, photo } from './glimpse-page';

const NAMES = ['brick', 'grass'];

async function inject(page: Page, fault: 'crash' | 'abort' | 'device-lost') {
  expect(await page.evaluate((kind) => (window as any).glimpseInjectFault(kind), fault)).toBe(true);
}

/** What each injected fault itself logs (the panic or trap, the loss report); nothing else. */
const FAULT_LOGS = {
  crash: /injected a crash|engine is lost|RuntimeError: unreachable/i,
  abort: /engine is lost|RuntimeError: unreachable/i,
  'device-lost': /device was lost|engine is lost|wgpu/i,
};

/**
 * Injects `fault` and runs `recovered` (the checks that the page came back). The errors logged
 * from the injection until then must all be the fault's own; they are taken out of the page's
 * error list, so that any error before or after still fails the test.
 */
async function throughFault(page: Page, glimpse: GlimpsePage, fault: keyof typeof FAULT_LOGS, recovered: () => Promise<void>) {
  expect(glimpse.consoleErrors, 'errors before the fault').toEqual([]);
  await inject(page, fault);
  await recovered();
  const logged = glimpse.consoleErrors.splice(0);
  expect(logged.filter((e) => !FAULT_LOGS[fault].test(e)), `errors the ${fault} does not explain`).toEqual([]);
}

test.describe('faults', () => {
  test('CPU: the worker crashes three times (classifying, training, a trap); nothing is lost', async ({ page }, testInfo) => {
    const glimpse = new GlimpsePage(page);
    await page.goto('./?backend=cpu&bench');
    await glimpse.waitReady();
    await nameClasses(page, NAMES);
    for (const [i, name] of NAMES.entries()) {
      await dropCrops(page, `[data-testid="class"][data-class-name="${name}"]`, name, 0, 5, 31 + i, `${name}-train`);
    }
    await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(10, { timeout: 120_000 });
    await page.getByTestId('train').click();
    await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
    const accuracy = await page.getByTestId('metric-accuracy').getAttribute('data-value');
    await expect(page.getByTestId('model-select')).toHaveValue('personal');

    // Crash 1: photos dropped, and the engine crashes with some of them in its hands.
    for (const [i, name] of NAMES.entries()) {
      await dropCrops(page, '[data-testid="drop-zone"]', name, 1, 4, 71 + i, `${name}-unseen`);
    }
    const notice = page.getByTestId('engine-notice');
    await throughFault(page, glimpse, 'crash', async () => {
      await expect(notice).toContainText('The engine stopped');
      await expect(notice).toContainText('restarted it on the CPU', { timeout: 60_000 });
      await glimpse.waitReady();
      // Every photo is answered, by the personal model the new worker was handed.
      await expect(page.locator('[data-testid="result"][data-state="done"]')).toHaveCount(8, { timeout: 120_000 });
    });
    for (const name of NAMES) {
      for (let i = 0; i < 4; i++) {
        const ranking = await glimpse.ranking(`${name}-unseen-${i}.png`);
        expect(ranking.map(([label]) => label).sort(), `${name}-unseen-${i}`).toEqual([...NAMES].sort());
        expect(ranking[0][0], `${name}-unseen-${i}`).toBe(name);
        await expect(glimpse.result(`${name}-unseen-${i}.png`).getByTestId('saliency')).toHaveAttribute('data-method', 'grad-cam');
      }
    }
    await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(10);
    await expect(page.getByTestId('model-select')).toHaveValue('personal');
    await expect(page.getByTestId('metric-accuracy')).toHaveAttribute('data-value', accuracy!);
    await glimpse.screenshot(testInfo, 'fault-crash-recovered');

    // Crash 2: during a training run with more epochs; the run stops, the last model stays.
    await page.locator('.settings summary').click();
    await page.getByTestId('train-mode').selectOption('blocks');
    await page.getByTestId('train').click();
    await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'running');
    await throughFault(page, glimpse, 'crash', async () => {
      await expect(page.getByTestId('train-progress')).toHaveAttribute('data-state', 'error', { timeout: 60_000 });
      await expect(page.getByTestId('train-progress')).toContainText('press Train to run it again');
      await glimpse.waitReady();
    });
    await glimpse.drop([photo('flamingo.jpg', 'after-second-crash.jpg')]);
    // The personal model (brick / grass) still answers.
    const ranking = await glimpse.ranking('after-second-crash.jpg');
    expect(ranking.map(([label]) => label).sort()).toEqual([...NAMES].sort());

    // Crash 3: a trap with no panic before it (as running out of memory is): caught all the same.
    await page.getByTestId('engine-notice').getByRole('button', { name: 'Dismiss' }).click();
    await throughFault(page, glimpse, 'abort', async () => {
      await expect(notice).toContainText('The engine stopped', { timeout: 60_000 });
      await expect(notice).toContainText('restarted it on the CPU', { timeout: 60_000 });
      await glimpse.waitReady();
    });
    await glimpse.drop([photo('coyote.jpg', 'after-third-crash.jpg')]);
    expect((await glimpse.ranking('after-third-crash.jpg')).map(([label]) => label).sort()).toEqual([...NAMES].sort());

    // And the work is still in storage: a reload brings it all back.
    await page.reload();
    await glimpse.waitReady();
    await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(10, { timeout: 60_000 });
    await expect(page.getByTestId('metric-accuracy')).toHaveAttribute('data-value', accuracy!);
    glimpse.expectPrivateAndClean();
  });

  test('WebGPU (SwiftShader): the device is lost; the engine restarts on a new one and goes on', async ({ page }, testInfo) => {
    const glimpse = new GlimpsePage(page);
    await page.goto('./?backend=webgpu&bench');
    await glimpse.waitReady();
    await expect(glimpse.backend()).toContainText('WebGPU');
    const bucket = page.getByTestId('class').first();
    await dropCrops(page, '[data-testid="class"]', 'brick', 0, 1, 5, 'kept');
    await expect(bucket.locator('.class-photo[data-state="ready"]')).toHaveCount(1, { timeout: 240_000 });
    await glimpse.drop([photo('flamingo.jpg')]);
    expect((await glimpse.ranking('flamingo.jpg', 240_000))[0][0]).toBe('flamingo');

    const notice = page.getByTestId('engine-notice');
    await throughFault(page, glimpse, 'device-lost', async () => {
      await expect(notice).toContainText('The GPU stopped working');
      await expect(notice).toContainText('restarted it on WebGPU', { timeout: 240_000 });
      await glimpse.waitReady();
    });
    await expect(glimpse.backend()).toContainText('WebGPU');
    await glimpse.drop([photo('coyote.jpg')]);
    expect((await glimpse.ranking('coyote.jpg', 240_000))[0][0]).toBe('coyote');
    // What was there before the loss is still there.
    expect((await glimpse.ranking('flamingo.jpg'))[0][0]).toBe('flamingo');
    await expect(bucket.locator('.class-photo[data-state="ready"]')).toHaveCount(1);
    await glimpse.screenshot(testInfo, 'fault-device-lost');
    glimpse.expectPrivateAndClean();
  });

  test('CPU: storage full: a clear message, and nothing half-written', async ({ page }) => {
    const glimpse = new GlimpsePage(page);
    await glimpse.open('cpu');
    await glimpse.waitReady();
    await expect(page.getByTestId('offline-ready')).toHaveAttribute('data-ready', 'true', { timeout: 120_000 });
    const bucket = page.getByTestId('class').first();
    await dropCrops(page, '[data-testid="class"]', 'brick', 0, 3, 7, 'stored');
    await expect(bucket.locator('.class-photo[data-state="ready"]')).toHaveCount(3, { timeout: 60_000 });
    await expect.poll(() => page.getByTestId('storage-used').getAttribute('data-bytes')).not.toBe('');

    // A quota below what is already used: no further byte fits.
    const origin = new URL(page.url()).origin;
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: 1_000 });
    // Chromium's IndexedDB keeps the space it last saw free for up to 30 s before asking again.
    await page.waitForTimeout(31_000);
    await dropCrops(page, '[data-testid="class"]', 'brick', 1, 2, 8, 'unstored');
    const error = page.getByTestId('keep-error');
    await expect(error).toContainText("the browser's storage for this page is full: nothing was saved from this change", { timeout: 60_000 });
    // The photos stay usable in this visit.
    await expect(bucket.locator('.class-photo[data-state="ready"]')).toHaveCount(5);

    // Back to a normal quota: after a reload, exactly the photos that were stored come back, whole.
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    await page.reload();
    await glimpse.waitReady();
    await expect(bucket.locator('.class-photo[data-state="ready"]')).toHaveCount(3, { timeout: 60_000 });
    await expect(bucket.getByTestId('class-photo-error')).toHaveCount(0);
    const names = await bucket.locator('.class-photo').evaluateAll((items) => items.map((i) => i.getAttribute('title')));
    expect(names.sort()).toEqual(['stored-0.png', 'stored-1.png', 'stored-2.png']);
    glimpse.expectPrivateAndClean();
  });
});
