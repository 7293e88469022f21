// Takes the screenshots of scripts/docs-check/docs-screenshot (which says
// what they are): node screenshot.mjs CHROMIUM URL OUT_DIR HEIGHT [ANCHOR...]
// playwright-core drives the given Chromium; it downloads no browser. No
// JavaScript of the page is needed: the page has none.
import { chromium } from "playwright-core";

const [executablePath, url, out, height, ...anchors] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
try {
  for (const width of [1400, 400]) {
    const page = await browser.newPage({
      viewport: { width, height: Number(height) },
    });
    const shots = [["top", ""], ...anchors.map((a) => [a.replaceAll("/", "_"), a])];
    for (const [name, anchor] of shots) {
      await page.goto(anchor ? `${url}#${anchor}` : url);
      if (anchor) {
        // An id with `/` is no CSS selector: find it by attribute.
        const target = page.locator(`[id="${anchor}"]`);
        if ((await target.count()) !== 1) {
          throw new Error(`no element #${anchor} on ${url}`);
        }
        await target.scrollIntoViewIfNeeded();
        await page.evaluate((id) => document.getElementById(id).scrollIntoView(), anchor);
      }
      const file = `${out}/${name}-${width}.png`;
      await page.screenshot({ path: file });
      console.log(file);
    }
    await page.close();
  }
} finally {
  await browser.close();
}
