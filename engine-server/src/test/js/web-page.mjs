// The web page in headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core): node web-page.mjs <url> <chromium>
// Types a prompt, presses Generate, waits for the image; then starts a long generation and cancels it.
// Prints one JSON line with what it saw.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, executablePath] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), 'sdj-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const out = {};
try {
  const page = context.pages()[0] || await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => document.querySelectorAll('#sampler option').length > 1);
  out.samplers = await page.$$eval('#sampler option', (os) => os.map((o) => o.textContent));
  await page.fill('#prompt', 'a lighthouse on a cliff at dusk');
  await page.fill('#width', '64');
  await page.fill('#height', '64');
  await page.fill('#steps', '3');
  await page.fill('#seed', '42');
  await page.click('#generate');
  await page.waitForSelector('#result:not([hidden])', { timeout: 120000 });
  out.result = await page.$eval('#result', (img) => ({ src: img.src.slice(0, 22), complete: img.complete, width: img.naturalWidth, height: img.naturalHeight }));
  out.parameters = await page.textContent('#parameters');
  out.status = await page.textContent('#status');

  // a long one: the progress bar and the preview move, then Cancel stops it
  await page.fill('#width', '256');
  await page.fill('#height', '256');
  await page.fill('#steps', '150');
  await page.click('#generate');
  await page.waitForSelector('#preview:not([hidden])', { timeout: 120000 });
  await page.waitForFunction(() => document.getElementById('progress').value > 0, null, { timeout: 120000 });
  out.progressSeen = await page.$eval('#progress', (p) => p.value);
  await page.click('#cancel');
  await page.waitForFunction(() => document.getElementById('status').textContent === 'cancelled', null, { timeout: 60000 });
  out.afterCancel = await page.textContent('#status');
  // the aborted request's connection is gone: the server stops that generation (its queue empties)
  const t0 = Date.now();
  out.idleAfterCancel = await page.evaluate(async () => {
    for (let i = 0; i < 100; i++) {
      const p = await (await fetch('/sdapi/v1/progress?skip_current_image=true')).json();
      if (p.state.job_count === 0) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  });
  out.idleAfterMs = Date.now() - t0;
  out.errors = errors;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
