import { expect, test } from '@playwright/test';
import { GlimpsePage, gridDistance, photo, saliencyStats } from './glimpse-page';

test('saliency overlay: drawn for the top class, follows the clicked class, the method and the controls', async ({ page }, testInfo) => {
  const glimpse = new GlimpsePage(page);
  await glimpse.open('cpu');
  await glimpse.waitReady();
  await glimpse.drop([photo('coyote.jpg')]);
  const card = glimpse.result('coyote.jpg');
  const overlay = card.getByTestId('saliency');

  // The top class is explained by default, with Grad-CAM.
  await expect(overlay).toHaveAttribute('data-method', 'grad-cam');
  const rows = glimpse.predictions('coyote.jpg');
  const topClass = await overlay.getAttribute('data-class-index');
  await expect(rows.first()).toHaveAttribute('data-selected', 'true');
  const first = await saliencyStats(card);
  expect(first.width).toBe(224);
  expect(first.variance, 'the overlay is not blank').toBeGreaterThan(100);

  // Clicking another prediction explains that class instead.
  await rows.nth(1).click();
  await expect(rows.nth(1)).toHaveAttribute('data-selected', 'true');
  await expect(rows.first()).toHaveAttribute('data-selected', 'false');
  await expect(overlay).not.toHaveAttribute('data-class-index', topClass!);
  // The canvas repaints in an effect right after the attributes change: poll its pixels.
  const distance = async () => gridDistance(await saliencyStats(card), first);
  await expect.poll(distance, { message: 'the map changed' }).toBeGreaterThan(3);
  expect((await saliencyStats(card)).variance).toBeGreaterThan(100);

  // Keyboard: Enter on the first row brings the first map back.
  await rows.first().getByRole('button').focus();
  await page.keyboard.press('Enter');
  await expect(overlay).toHaveAttribute('data-class-index', topClass!);
  await expect.poll(distance, { message: 'the first map is back' }).toBeLessThan(1);

  // The high-resolution gradient method.
  await card.getByTestId('saliency-method').selectOption('smoothgrad');
  await expect(overlay).toHaveAttribute('data-method', 'smoothgrad', { timeout: 120_000 });
  await expect.poll(distance, { message: 'SmoothGrad differs from Grad-CAM' }).toBeGreaterThan(3);
  expect((await saliencyStats(card)).variance).toBeGreaterThan(100);

  // Opacity and on/off.
  await card.getByTestId('saliency-opacity').fill('0.3');
  await expect(overlay).toHaveCSS('opacity', '0.3');
  await glimpse.screenshot(testInfo, 'saliency-cpu');
  await card.getByTestId('saliency-toggle').uncheck();
  await expect(overlay).toBeHidden();
  await card.getByTestId('saliency-toggle').check();
  await expect(overlay).toBeVisible();
  glimpse.expectPrivateAndClean();
});
