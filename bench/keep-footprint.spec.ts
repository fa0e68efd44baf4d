// What keeping a person's work costs: IndexedDB footprint and export sizes for 3 classes x 30
// photos (crops of the texture fixtures), with a trained head.
// Run: E2E_DIR=bench npx playwright test keep-footprint   (after `trunk build --release`)
import { expect, test, type Page } from '@playwright/test';
import { statSync } from 'node:fs';
import path from 'node:path';
import { GlimpsePage, teachTextures } from '../tests/e2e/glimpse-page';

const NAMES = ['brick', 'grass', 'gravel'];
const PER_CLASS = 30;

async function saved(page: Page, testId: string, name: string): Promise<number> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testId).click()]);
  const target = path.join(__dirname, '..', 'tests', 'e2e', 'artifacts', name);
  await file.saveAs(target);
  return statSync(target).size;
}

test('keep footprint: 3 classes x 30 photos', async ({ page }) => {
  test.setTimeout(900_000);
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  await teachTextures(page, NAMES, PER_CLASS, 600_000);
  await page.reload();
  await glimpse.waitReady();
  await expect(page.locator('.class-photo[data-state="ready"]')).toHaveCount(NAMES.length * PER_CLASS);
  const usage = await page.evaluate(async () => {
    const estimate: any = await navigator.storage.estimate();
    return { total: estimate.usage, indexedDB: estimate.usageDetails?.indexedDB, caches: estimate.usageDetails?.caches };
  });
  const withPhotos = await saved(page, 'export', 'footprint-with-photos.zip');
  await page.getByTestId('export-photos').uncheck();
  const withoutPhotos = await saved(page, 'export', 'footprint-without-photos.zip');
  const network = await saved(page, 'export-network', 'footprint-network.zip');
  const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
  console.log(`3 x ${PER_CLASS} photos: IndexedDB ${mb(usage.indexedDB)}, offline copy of the site ${mb(usage.caches)}`);
  console.log(`export: ${mb(withPhotos)} with photos, ${mb(withoutPhotos)} without; model for other tools ${mb(network)}`);
});
