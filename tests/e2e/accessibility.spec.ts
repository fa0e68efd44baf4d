// Accessibility: axe-core (the engine behind Lighthouse's and Chrome DevTools' audits) checks the
// page's DOM against WCAG 2.1 A/AA in the states a person goes through: the empty page, photos
// answered with their overlays, and a trained model with its report, light and dark. No serious or critical
// violation is allowed; the others are printed, with where they are.
import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { GlimpsePage, dropCrops, photo, teachTextures } from './glimpse-page';

async function audit(page: Page, state: string) {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  for (const v of results.violations) {
    console.log(`${state}: ${v.impact} ${v.id} (${v.nodes.length}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  }
  const blocking = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(blocking.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), `${state}: serious or critical violations`).toEqual([]);
  expect(results.passes.length, `${state}: axe ran its checks`).toBeGreaterThan(10);
}

test('accessibility: no serious or critical WCAG violation, empty, with answers, and trained', async ({ page }, testInfo) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  await audit(page, 'empty page');

  await glimpse.drop([photo('flamingo.jpg'), photo('coyote.jpg')]);
  expect((await glimpse.ranking('flamingo.jpg'))[0][0]).toBe('flamingo');
  await expect(glimpse.result('flamingo.jpg').getByTestId('saliency')).toHaveAttribute('data-method', 'grad-cam');
  await audit(page, 'answered photos');

  await teachTextures(page, ['brick', 'grass'], 4);
  await page.locator('.settings summary').click();
  await dropCrops(page, '[data-testid="drop-zone"]', 'brick', 1, 1, 61, 'brick-unseen');
  expect((await glimpse.ranking('brick-unseen-0.png'))[0][0]).toBe('brick');
  await audit(page, 'trained, with its report and settings open');
  // The dark theme has colours of its own. Reduced motion, which the page honours, makes the
  // switch instant: axe must not sample a colour halfway through its transition.
  await page.emulateMedia({ colorScheme: 'dark', reducedMotion: 'reduce' });
  await audit(page, 'trained, dark theme');
  await glimpse.screenshot(testInfo, 'accessibility-dark');
  // At 375 px the charts shrink to the screen rather than overflow it.
  await page.setViewportSize({ width: 375, height: 800 });
  for (const chart of ['training-chart', 'roc-chart', 'reliability-diagram']) {
    const box = (await page.getByTestId(chart).boundingBox())!;
    expect(box.x, chart).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, chart).toBeLessThanOrEqual(375);
  }
  await page.getByTestId('training-report').scrollIntoViewIfNeeded();
  await glimpse.screenshot(testInfo, 'report-dark-375px');
  glimpse.expectPrivateAndClean();
});
