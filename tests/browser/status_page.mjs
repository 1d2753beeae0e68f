#!/usr/bin/env node
// The status page at "/" in Debian's Chromium: it lists every model with a loader snippet (the face snippet for a
// face model), shows a hostile folder name as text (no element, no script runs), and is saved as a screenshot
// (status-page.png in the working directory) for a person to look at.
import { chromium } from 'playwright-core';
import { chromiumFlags, runMain, startModelhost, stop } from './modelhost.mjs';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const binary = process.env.BROWSER_TEST_MODELHOST;
const hostile = '<img src=x onerror=alert(1)>';

async function main() {
  const root = mkdtempSync(join(tmpdir(), 'modelhost-status-'));
  const demo = join(here, '..', '..', 'models', 'demo');
  for (const name of ['demo', join('face_mesh', '1'), hostile]) cpSync(demo, join(root, name), { recursive: true });
  const server = await startModelhost(binary, ['--root', root, '--host', '127.0.0.1', '--port', '0', '--allow-origin', 'https://app.example'], 'status server');
  let browser;
  try {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: chromiumFlags });
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const dialogs = [];
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
    const url = `http://127.0.0.1:${server.port}/`;
    // The catalog is built off the I/O threads: the page says so until the first scan is done.
    let text = '';
    for (let i = 0; i < 50 && !text.includes('model(s)'); i++) {
      await page.goto(url);
      text = await page.innerText('body');
      if (!text.includes('model(s)')) await new Promise((r) => setTimeout(r, 100));
    }
    await page.screenshot({ path: join(process.cwd(), 'status-page.png'), fullPage: true });
    const images = await page.$$eval('img', (els) => els.length);
    const checks = [
      await page.title() === 'modelhost', 'title',
      text.includes('3 model(s)'), 'three models listed',
      text.includes(`const model = await tf.loadLayersModel('${url}demo/model.json');`), 'a layers-model snippet with the absolute URL',
      text.includes('faceLandmarksDetection.createDetector(') && text.includes(`landmarkModelUrl: '${url}face_mesh/1/model.json'`),
      'the face-landmarks-detection snippet for face_mesh/1',
      text.includes(hostile), 'the hostile name shown as text',
      images === 0 && dialogs.length === 0, `the hostile name became markup (${images} img, dialogs ${dialogs})`,
      text.includes('https://app.example'), 'the allowed origin shown',
    ];
    const failures = [];
    for (let i = 0; i < checks.length; i += 2) if (!checks[i]) failures.push(checks[i + 1]);
    if (failures.length) {
      console.log(`page text:\n${text}`);
      console.log(`FAIL status-page: ${failures.join('; ')}`);
      process.exitCode = 1;
    } else {
      console.log(`PASS status-page (screenshot: ${join(process.cwd(), 'status-page.png')})`);
    }
  } finally {
    if (browser) await browser.close();
    await stop(server);
    rmSync(root, { recursive: true, force: true });
  }
}

runMain(main, 'status-page');
