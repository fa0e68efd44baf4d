// A classifier hosted for others: dist/ and an exported project file on a static host, under a
// sub-path, opened as index.html?project=<relative URL>. The visitor sees the project's classes
// and model, read-only; their own stored work is untouched until they copy the project into it.
import { expect, test, type Page } from '@playwright/test';
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { GlimpsePage, download, dropCrops, photo, teachTextures } from './glimpse-page';
import { StaticSite } from './static-site';

const NAMES = ['brick', 'grass', 'gravel'];

async function classCounts(page: Page): Promise<Record<string, string>> {
  const counts: Record<string, string> = {};
  for (const cls of await page.getByTestId('class').all()) {
    counts[(await cls.getAttribute('data-class-name'))!] = (await cls.getByTestId('class-count').getAttribute('data-value'))!;
  }
  return counts;
}

/** How many training photos this origin's IndexedDB holds. */
async function storedPhotos(page: Page): Promise<number> {
  return page.evaluate(() => new Promise<number>((resolve, reject) => {
    const open = indexedDB.open('glimpse');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const count = open.result.transaction('photos').objectStore('photos').count();
      count.onsuccess = () => { resolve(count.result); open.result.close(); };
    };
  }));
}

async function expectProjectAnswers(page: Page, glimpse: GlimpsePage) {
  await expect(page.getByTestId('hosted-project')).toHaveAttribute('data-state', 'open', { timeout: 120_000 });
  expect(await classCounts(page)).toEqual({ brick: '10', grass: '10', gravel: '10' });
  await expect(page.getByTestId('model-select')).toHaveValue('personal');
  for (const [i, name] of NAMES.entries()) {
    await dropCrops(page, '[data-testid="drop-zone"]', name, 1, 1, 61 + i, `${name}-visitor`);
  }
  for (const name of NAMES) {
    expect((await glimpse.ranking(`${name}-visitor-0.png`))[0][0], name).toBe(name);
  }
}

test('a project hosted under a sub-path opens read-only, leaves the visitor\'s own work alone, and can be copied into it', async ({ page: author, browser }) => {
  // The author trains and exports a project with its photos (on the suite's own site).
  const authorPage = new GlimpsePage(author);
  await authorPage.open('cpu');
  await authorPage.waitReady();
  await teachTextures(author, NAMES, 10);
  const exported = await download(author, 'export', 'hosted-textures.zip');
  authorPage.expectPrivateAndClean();

  const site = new StaticSite('shared/glimpse', 8093);
  mkdirSync(path.join(site.dir, 'projects'));
  copyFileSync(exported, path.join(site.dir, 'projects', 'textures.zip'));
  await site.start();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const glimpse = new GlimpsePage(page);
    const hostedUrl = `${site.url}index.html?backend=cpu&project=projects/textures.zip`;

    // Nothing stored: the project's classes and model, ready to answer.
    await page.goto(hostedUrl);
    await glimpse.waitReady();
    await expectProjectAnswers(page, glimpse);
    await expect(page.getByTestId('hosted-project')).toContainText('3 classes, 30 photos and a trained model');
    // Read-only: no training, no import or clearing, nothing written.
    await expect(page.getByTestId('train')).toBeDisabled();
    await expect(page.getByTestId('clear-all')).toHaveCount(0);
    expect(await storedPhotos(page)).toBe(0);
    await page.goto(`${site.url}?backend=cpu`);
    await glimpse.waitReady();
    await expect(page.getByTestId('hosted-project')).toHaveCount(0);
    expect(await classCounts(page)).toEqual({ 'Class 1': '0', 'Class 2': '0' });

    // The visitor's own work, stored; the project again; their work is unchanged after.
    await page.getByTestId('class').first().getByTestId('class-name-input').fill('my cats');
    await page.getByTestId('class').first().getByTestId('class-file-input').setInputFiles({
      name: 'cat.jpg', mimeType: 'image/jpeg', buffer: photo('cat.jpg').bytes,
    });
    await expect.poll(() => storedPhotos(page), { timeout: 60_000 }).toBe(1);
    await page.goto(hostedUrl);
    await glimpse.waitReady();
    await expectProjectAnswers(page, glimpse);
    expect(await storedPhotos(page)).toBe(1);
    await page.goto(`${site.url}?backend=cpu`);
    await glimpse.waitReady();
    await expect(page.locator('.classes')).toHaveAttribute('data-restored', 'true');
    expect(await classCounts(page)).toEqual({ 'my cats': '1', 'Class 2': '0' });

    // Copied into their work (after saying it replaces theirs): their own page now holds it.
    await page.goto(hostedUrl);
    await expect(page.getByTestId('hosted-project')).toHaveAttribute('data-state', 'open', { timeout: 120_000 });
    await page.getByTestId('copy-project').click();
    await expect(page.getByTestId('import-confirm')).toBeVisible();
    await Promise.all([page.waitForURL((url) => !url.search.includes('project=')), page.getByTestId('import-confirm').click()]);
    await glimpse.waitReady();
    await expect(page.getByTestId('hosted-project')).toHaveCount(0);
    await expect(page.locator('.classes')).toHaveAttribute('data-restored', 'true');
    expect(await classCounts(page)).toEqual({ brick: '10', grass: '10', gravel: '10' });
    await expect(page.getByTestId('model-select')).toHaveValue('personal');
    expect(await storedPhotos(page)).toBe(30);
    expect(page.url()).toContain('/shared/glimpse/');
    glimpse.expectPrivateAndClean();
    await context.close();
  } finally {
    await site.stop();
  }
});

test('a hosted project that is missing, damaged or on another site says so and shows the visitor\'s own work', async ({ page }) => {
  const glimpse = new GlimpsePage(page);
  const cases: [string, RegExp][] = [
    ['projects/missing.zip', /The shared project missing\.zip could not be opened: the site answered 404/],
    ['index.html', /The shared project index\.html could not be opened: .*not a zip archive/],
    ['https://example.com/p.zip', /could not be opened: it is on another site, and Glimpse opens projects from its own site only/],
  ];
  for (const [project, message] of cases) {
    await page.goto(`./?backend=cpu&project=${encodeURIComponent(project)}`);
    await glimpse.waitReady();
    await expect(page.getByTestId('keep-error')).toHaveText(new RegExp(`${message.source}.*Your own work is shown instead\\.`));
    await expect(page.getByTestId('hosted-project')).toHaveCount(0);
    await expect(page.locator('.classes')).toHaveAttribute('data-restored', 'true');
    expect(await classCounts(page)).toEqual({ 'Class 1': '0', 'Class 2': '0' });
  }
  // The one error the browser may log is the 404 itself; nothing went to another origin.
  const logged = glimpse.consoleErrors.splice(0);
  expect(logged.filter((e) => !/^Failed to load resource: the server responded with a status of 404 \(Not Found\)$/.test(e))).toEqual([]);
  glimpse.expectPrivateAndClean();
});
