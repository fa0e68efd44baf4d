import { expect, test, type Page } from '@playwright/test';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { GlimpsePage, photo } from './glimpse-page';
import { StaticSite } from './static-site';

/** Asks the browser to look for a new service worker now, and waits until it has looked. */
async function checkForUpdate(page: Page) {
  await page.evaluate(async () => {
    const registration = await navigator.serviceWorker.getRegistration();
    await registration!.update();
  });
}

async function waitOfflineReady(glimpse: GlimpsePage) {
  await expect(glimpse.page.getByTestId('offline-ready')).toHaveAttribute('data-ready', 'true', { timeout: 240_000 });
  // The page is controlled once the service worker has claimed it.
  await glimpse.page.waitForFunction(() => navigator.serviceWorker.controller !== null);
}

test('offline: after one visit the page reloads and classifies with the network off', async ({ page, context }) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  await waitOfflineReady(glimpse);

  await context.setOffline(true);
  await page.reload();
  await glimpse.waitReady();
  await glimpse.drop([photo('flamingo.jpg')]);
  expect((await glimpse.ranking('flamingo.jpg'))[0][0]).toBe('flamingo');
  await context.setOffline(false);
  glimpse.expectPrivateAndClean();
});

test('static hosting: dist/ served from a sub-path works, and a new deploy is announced and applied', async ({ page }) => {
  const site = new StaticSite('tools/glimpse', 8091);
  await site.start();
  try {
    const glimpse = new GlimpsePage(page);
    await page.goto(`${site.url}?backend=cpu`);
    await glimpse.waitReady();
    await glimpse.drop([photo('coyote.jpg')]);
    expect((await glimpse.ranking('coyote.jpg'))[0][0]).toBe('coyote');
    // Every file came from under the sub-path.
    const manifest = await page.evaluate(async () => (await fetch('manifest.webmanifest')).json());
    expect(manifest.start_url).toBe('./');
    await waitOfflineReady(glimpse);
    // No new deploy: an update check, finished, offers nothing.
    await checkForUpdate(page);
    await expect(page.getByTestId('update-ready')).toHaveCount(0);

    // A new deploy: the service worker changes; the page offers the update and applies it.
    appendFileSync(path.join(site.dir, 'sw.js'), '\n// deploy 2\n');
    await checkForUpdate(page);
    await expect(page.getByTestId('update-ready')).toBeVisible({ timeout: 120_000 });
    await Promise.all([page.waitForEvent('load'), page.getByTestId('update-reload').click()]);
    await glimpse.waitReady();
    // The update is applied: checking again finds nothing newer.
    await checkForUpdate(page);
    await expect(page.getByTestId('update-ready')).toHaveCount(0);
    expect(page.url()).toContain('/tools/glimpse/');
    glimpse.expectPrivateAndClean();
  } finally {
    await site.stop();
  }
});
