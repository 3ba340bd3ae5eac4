// SPDX-License-Identifier: LGPL-2.1-or-later
// Headless Chromium on the listing page of a server shared by two
// mjpeghttpsink elements (mounts /cam1 and /cam2, no root mount, so "/" is
// the list): every card's thumbnail loads and keeps reloading, the fps
// figures fill in, and a card leads to its mount's viewer page, whose stream
// plays. The two streams have different sizes, so a thumbnail shows which
// stream it came from. Saves a screenshot of the list.
//
// Environment: CHROMIUM (browser binary), SCREENSHOT_DIR (where the PNG goes),
// GST_PLUGIN_PATH_1_0 etc. for gst-launch. Exit 0 = pass, 1 = fail.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {
  STEP_TIMEOUT_MS, check, checkMovingImage, launchBrowser, log, runAndExit, startGstLaunch,
  stopGstLaunch, until,
} from "./browser_support.mjs";

const CAMERAS = [
  { mount: "/cam1", width: 320, height: 240 },
  { mount: "/cam2", width: 160, height: 120 },
];

const workdir = fs.mkdtempSync(path.join(os.tmpdir(), "mjpeghttp-listing-"));
let server = null;
let browser = null;

// A port free a moment ago: elements that share a port cannot ask for port 0.
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

// Two sinks in one gst-launch, on one port; resolves once both serve.
async function startServer() {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ["-v", "-e"];
    for (const camera of CAMERAS) {
      args.push("videotestsrc", "is-live=true", "pattern=ball", "!",
                `video/x-raw,width=${camera.width},height=${camera.height},framerate=15/1`, "!",
                "jpegenc", "!", "mjpeghttpsink", `name=${camera.mount.slice(1)}`,
                `mount=${camera.mount}`, `port=${port}`, "async=false");
    }
    try {
      const { child } = await startGstLaunch(args, (output) =>
        (output.match(new RegExp(`current-port = ${port}\\b`, "g")) || []).length === CAMERAS.length);
      return { child, port };
    } catch (error) {
      // Another process took the port first; try another.
      if (attempt >= 3) throw error;
    }
  }
}

async function checkListing(port) {
  const page = await browser.newPage();
  await page.setViewport({ width: 800, height: 420 });
  await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: "domcontentloaded" });
  const mounts = await page.$$eval(".card", (cards) => cards.map((card) => card.dataset.mount));
  check(JSON.stringify(mounts) === JSON.stringify(CAMERAS.map((c) => c.mount)),
        `the cards are ${JSON.stringify(mounts)}`);

  // Count each thumbnail's loads from now on: they must keep coming.
  await page.evaluate(() => {
    window.thumbnailLoads = {};
    for (const card of document.querySelectorAll(".card")) {
      window.thumbnailLoads[card.dataset.mount] = 0;
      card.querySelector("img").addEventListener("load", () => {
        window.thumbnailLoads[card.dataset.mount]++;
      });
    }
  });
  for (const camera of CAMERAS) {
    const selector = `.card[data-mount="${camera.mount}"] img`;
    await page.waitForFunction(
      (sel, w, h) => {
        const image = document.querySelector(sel);
        return image.complete && image.naturalWidth === w && image.naturalHeight === h;
      },
      { timeout: STEP_TIMEOUT_MS, polling: 100 }, selector, camera.width, camera.height);
  }
  await page.waitForFunction(
    () => Object.values(window.thumbnailLoads).every((loads) => loads >= 3),
    { timeout: STEP_TIMEOUT_MS, polling: 100 });
  log("thumbnails: " + JSON.stringify(await page.evaluate(() => window.thumbnailLoads)) +
      " loads, each at its stream's size");

  // The fps figures come from two polls of /streams.
  await page.waitForFunction(
    () => Array.from(document.querySelectorAll(".card .fps"))
      .every((fps) => parseFloat(fps.textContent) > 0),
    { timeout: STEP_TIMEOUT_MS, polling: 100 });
  const figures = await page.$$eval(".card", (cards) => cards.map((card) =>
    `${card.dataset.mount}: fps ${card.querySelector(".fps").textContent}, viewers ${card.querySelector(".viewers").textContent}`));
  log("figures: " + figures.join("; "));

  const screenshot = path.join(process.env.SCREENSHOT_DIR || workdir, "listing-page.png");
  fs.mkdirSync(path.dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });
  log("screenshot: " + screenshot);

  // A card leads to its mount's viewer page, whose stream plays.
  const target = CAMERAS[1];
  await Promise.all([
    page.waitForNavigation({ waitUntil: "domcontentloaded", timeout: STEP_TIMEOUT_MS }),
    page.click(`.card[data-mount="${target.mount}"]`),
  ]);
  const location = await page.evaluate(() => location.pathname);
  check(location === target.mount + "/", `the card led to ${location}`);
  await checkMovingImage(page, "#stream", `viewer page of ${target.mount}`, target.width,
                         target.height);
  await until(`a viewer of ${target.mount} in its stats`, async () => {
    const response = await fetch(`http://127.0.0.1:${port}${target.mount}/stats`);
    return response.ok && (await response.json()).viewers_now === 1;
  });
  await page.close();
}

async function main() {
  server = await startServer();
  log(`two elements on port ${server.port}`);
  browser = await launchBrowser(workdir);
  log("browser: " + await browser.version());
  await checkListing(server.port);
}

await runAndExit(main, async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await stopGstLaunch(server.child);
  fs.rmSync(workdir, { recursive: true, force: true });
});
