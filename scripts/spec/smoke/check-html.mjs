// Opens each HTML reference of a scripts/spec/publish-spec folder in headless
// Chromium and checks that it renders every operation, offline.
//
//   node --experimental-websocket scripts/spec/smoke/check-html.mjs [target/spec]
//
// A one-off check, not in CI: it needs the Debian package `chromium`
// (apt-get install -y chromium). For each NAME.html beside NAME.json it
// loads the page from disk, opens the page of each tag (`#/TAG`, Redoc's own
// routes), scrolls it through, and counts the operation summaries of the
// bundle shown in its main panel. It fails when an operation is not shown,
// when the page throws, or when it asks for anything that is not in the file
// (a script from a CDN, a font), except the one image of Redoc's "API docs
// by" badge on Redocly's CDN: offline it fails to load and Redoc hides it.
// Writes a screenshot of each page (its last tag) to FOLDER-screenshots/.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// Redoc's attribution badge image (hidden by Redoc when it cannot load).
const BADGE = /^https:\/\/cdn\.redoc\.ly\/redoc\/logo-mini(-full)?\.svg$/;
const folder = resolve(process.argv[2] ?? 'target/spec');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Screenshots go beside the folder, not into it: the folder is the hand-off.
const shots = `${folder}-screenshots`;
mkdirSync(shots, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'check-html-'));
const chromium = spawn('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`,
  '--remote-debugging-port=0', '--window-size=1400,1000', 'about:blank'], { stdio: 'ignore' });
const done = async (code) => {
  chromium.kill();
  if (chromium.exitCode === null && chromium.signalCode === null) await once(chromium, 'exit');
  rmSync(profile, { recursive: true, force: true });
  process.exit(code);
};
setTimeout(() => { console.error('check-html: timed out'); done(2); }, 120_000).unref();

// The DevTools protocol over the page's WebSocket.
let port;
for (let i = 0; i < 100 && !port; i++) {
  await sleep(100);
  const file = join(profile, 'DevToolsActivePort');
  if (existsSync(file)) port = readFileSync(file, 'utf8').split('\n')[0];
}
if (!port) { console.error('check-html: chromium did not start'); await done(2); }
const page = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()).find((t) => t.type === 'page');
const ws = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((r) => ws.addEventListener('open', r));
let lastId = 0;
const pending = new Map();
const events = [];
ws.addEventListener('message', (m) => {
  const msg = JSON.parse(m.data);
  if (msg.id && pending.has(msg.id)) { pending.get(msg.id)(msg); pending.delete(msg.id); } else events.push(msg);
});
const send = (method, params = {}) => new Promise((r) => {
  const id = ++lastId;
  pending.set(id, r);
  ws.send(JSON.stringify({ id, method, params }));
});
const evaluate = async (expression) =>
  (await send('Runtime.evaluate', { expression, awaitPromise: true, returnByValue: true })).result?.result?.value;
// Scrolls the page through and returns the main panel's text as seen at
// each step: Redoc renders only the operations near the viewport, so no
// single moment holds them all. (The sidebar lists the summaries too: only
// the main panel counts.)
const mainPanelText = () => evaluate(`(async () => {
  const seen = [];
  for (let y = 0; y < document.body.scrollHeight + 1000; y += 500) {
    window.scrollTo(0, y);
    await new Promise((r) => setTimeout(r, 80));
    seen.push(document.getElementById('api-content')?.innerText ?? '');
  }
  return seen.join('\\n');
})()`);
await send('Page.enable');
await send('Runtime.enable');
await send('Network.enable');

let failed = false;
const pages = readdirSync(folder).filter((f) => f.endsWith('.html') && existsSync(join(folder, f.replace(/\.html$/, '.json'))));
for (const html of pages.sort()) {
  const name = html.replace(/\.html$/, '');
  const spec = JSON.parse(readFileSync(join(folder, `${name}.json`), 'utf8'));
  const operations = Object.values(spec.paths).flatMap((item) =>
    Object.entries(item).filter(([k]) => k !== 'parameters' && !k.startsWith('x-')).map(([, op]) => op));
  const tags = spec.tags.map((t) => t.name);
  events.length = 0;
  await send('Page.navigate', { url: `file://${join(folder, html)}` });
  for (let i = 0; i < 100 && !events.some((e) => e.method === 'Page.loadEventFired'); i++) await sleep(100);
  await sleep(1000);
  const perTag = [];
  const seen = new Set();
  for (const tag of tags) {
    await evaluate(`location.hash = ${JSON.stringify(`#/${tag}`)}`);
    await sleep(600);
    const text = await mainPanelText();
    const here = operations.filter((op) => text.includes(op.summary));
    here.forEach((op) => seen.add(op.operationId));
    perTag.push(`${tag} ${here.length}`);
  }
  const missing = operations.filter((op) => !seen.has(op.operationId)).map((op) => op.operationId);
  const thrown = events.filter((e) => e.method === 'Runtime.exceptionThrown')
    .map((e) => e.params.exceptionDetails.exception?.description ?? e.params.exceptionDetails.text);
  const fetched = events.filter((e) => e.method === 'Network.requestWillBeSent')
    .map((e) => e.params.request.url).filter((u) => !/^(file|data|blob|about):/.test(u) && !BADGE.test(u));
  const shot = await send('Page.captureScreenshot', { format: 'png' });
  writeFileSync(join(shots, `${name}.png`), Buffer.from(shot.result.data, 'base64'));
  const ok = missing.length === 0 && thrown.length === 0 && fetched.length === 0;
  failed ||= !ok;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${html}: ${seen.size}/${operations.length} operations shown`
    + ` (per tag: ${perTag.join(', ')}), ${thrown.length} exceptions, ${fetched.length} outside requests`);
  for (const id of missing) console.log(`    not shown: ${id}`);
  for (const t of thrown) console.log(`    exception: ${t.split('\n')[0]}`);
  for (const u of fetched) console.log(`    requested: ${u}`);
}
if (pages.length === 0) { console.log(`check-html: no NAME.html with NAME.json in ${folder}`); failed = true; }
ws.close();
await done(failed ? 1 : 0);
