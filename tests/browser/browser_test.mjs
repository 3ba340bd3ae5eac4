// SPDX-License-Identifier: LGPL-2.1-or-later
// Headless Chromium against a live mjpeghttpsink (videotestsrc pattern=ball,
// a moving picture): the viewer page shows the stream at its size and keeps
// changing, its stats fill in, the snapshot button downloads a JPEG, full
// screen works, and the page reconnects after the server restarts, and when
// its stream freezes while the server still answers (behind a balancer, the
// server serving the stream died and another answers the page's polls); the
// bare stream URL also decodes and moves. Saves a screenshot of the page.
//
// Environment: CHROMIUM (browser binary), SCREENSHOT (PNG path to write),
// GST_PLUGIN_PATH_1_0 etc. for gst-launch. Exit 0 = pass, 1 = fail.
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import {
  STEP_TIMEOUT_MS, check, checkMovingImage as checkMovingPicture, launchBrowser, log, runAndExit,
  startGstLaunch, stopGstLaunch, until,
} from "./browser_support.mjs";

const WIDTH = 320;
const HEIGHT = 240;

const workdir = fs.mkdtempSync(path.join(os.tmpdir(), "mjpeghttp-browser-"));
let server = null;
let browser = null;

// Starts gst-launch serving the moving test picture; resolves with the port
// it listens on (from its current-port notification).
async function startServer(port) {
  const args = [
    "-v", "-e",
    "videotestsrc", "is-live=true", "pattern=ball", "!",
    `video/x-raw,width=${WIDTH},height=${HEIGHT},framerate=15/1`, "!",
    "jpegenc", "!", "mjpeghttpsink", "name=sink", `port=${port}`,
  ];
  const { child, result } = await startGstLaunch(args, (output) => /current-port = ([1-9][0-9]*)/.exec(output));
  return { child, port: Number(result[1]) };
}

async function stopServer() {
  if (!server) return;
  const child = server.child;
  server = null;
  await stopGstLaunch(child);
}

async function fetchStats(port) {
  const response = await fetch(`http://127.0.0.1:${port}/stats`);
  check(response.ok, `/stats answered ${response.status}`);
  return response.json();
}

// The image decodes at the stream's size, is not blank, and changes.
function checkMovingImage(page, selector, what) {
  return checkMovingPicture(page, selector, what, WIDTH, HEIGHT);
}

async function checkViewerPage(port) {
  const page = await browser.newPage();
  await page.setViewport({ width: 800, height: 520 });
  const cdp = await page.createCDPSession();
  const downloads = path.join(workdir, "downloads");
  fs.mkdirSync(downloads);
  await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });

  // The page never finishes loading (its <img> is an endless stream).
  await page.goto(`http://127.0.0.1:${port}/`, { waitUntil: "domcontentloaded" });
  await checkMovingImage(page, "#stream", "viewer page");

  // Stats from /stats fill in: this page is one viewer, the fps is measured.
  await page.waitForFunction(
    () => document.getElementById("stat-viewers").textContent === "1" &&
          parseFloat(document.getElementById("stat-fps").textContent) > 0 &&
          /[0-9]/.test(document.getElementById("stat-bytes").textContent),
    { timeout: STEP_TIMEOUT_MS, polling: 100 });
  const shown = await page.evaluate(() => ({
    viewers: document.getElementById("stat-viewers").textContent,
    fps: document.getElementById("stat-fps").textContent,
    bytes: document.getElementById("stat-bytes").textContent,
    status: document.getElementById("status").textContent,
  }));
  check(shown.status === "live", `status says "${shown.status}"`);
  log(`stats shown: viewers ${shown.viewers}, fps ${shown.fps}, served ${shown.bytes}`);

  // One connection for the page's whole life: the page does not mistake
  // frames for the end of the stream and reconnect.
  const stats = await fetchStats(port);
  check(stats.viewers_total === 1, `viewers_total ${stats.viewers_total}: the page reconnected`);
  check(/Chrom/.test(stats.viewers[0].user_agent), `viewer agent ${stats.viewers[0].user_agent}`);

  await page.click("#fullscreen-button");
  await page.waitForFunction(() => document.fullscreenElement?.id === "frame",
                             { timeout: STEP_TIMEOUT_MS, polling: 100 });
  // In full screen only the picture shows (the button is off screen), so
  // leave it the way a user would with Escape: through the Fullscreen API.
  await page.evaluate(() => document.exitFullscreen());
  await page.waitForFunction(() => document.fullscreenElement === null,
                             { timeout: STEP_TIMEOUT_MS, polling: 100 });
  log("full screen on and off");

  await page.click("#snapshot-button");
  let saved = null;
  await until("the snapshot download", async () => {
    const done = fs.readdirSync(downloads).filter((name) => name.endsWith(".jpg"));
    if (done.length === 0) return false;
    saved = path.join(downloads, done[0]);
    return true;
  });
  const jpeg = fs.readFileSync(saved);
  check(jpeg.length > 100 && jpeg[0] === 0xff && jpeg[1] === 0xd8, "the snapshot is not a JPEG");
  log(`snapshot button saved ${path.basename(saved)} (${jpeg.length} bytes)`);

  fs.mkdirSync(path.dirname(process.env.SCREENSHOT), { recursive: true });
  await page.screenshot({ path: process.env.SCREENSHOT });
  log("screenshot: " + process.env.SCREENSHOT);

  // The stream ends (EOS) and the server comes back on the same port: the
  // page notices, says so, and reconnects by itself.
  await stopServer();
  await page.waitForFunction(() => document.getElementById("status").className === "down",
                             { timeout: STEP_TIMEOUT_MS, polling: 100 });
  log("stream ended: " + await page.$eval("#status", (el) => el.textContent));
  server = await startServer(port);
  await until("the page to reconnect", async () => (await fetchStats(port)).viewers_now === 1);
  await checkMovingImage(page, "#stream", "viewer page after reconnect");
  await page.close();
}

async function checkBareStream(port) {
  const page = await browser.newPage();
  // Chrome shows a bare image URL in an image document of its own, whose
  // loading never finishes: do not wait for navigation events, wait for the
  // document's one image.
  const navigation = page.goto(`http://127.0.0.1:${port}/stream`).catch(() => {});
  await until("the image document", async () =>
    page.evaluate(() => location.pathname === "/stream" && document.images.length === 1)
      .catch(() => false));
  await checkMovingImage(page, "img", "bare /stream");
  await page.close();
  await navigation;
}

// A TCP proxy in front of the server that can freeze the streams passing
// through it: their connections stay open but no byte flows any more, as
// when the server behind a balancer that serves a stream dies while the
// balancer's other servers go on answering everything else.
function startFreezingProxy(port) {
  const streams = [];
  const proxy = net.createServer((client) => {
    const upstream = net.connect(port, "127.0.0.1");
    client.once("data", (first) => {
      if (first.toString("latin1").startsWith("GET /stream")) streams.push({ client, upstream });
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    const close = () => { client.destroy(); upstream.destroy(); };
    client.on("error", close);
    upstream.on("error", close);
    client.on("close", close);
    upstream.on("close", close);
  });
  return new Promise((resolve) => proxy.listen(0, "127.0.0.1", () => resolve({
    port: proxy.address().port,
    streamsOpened: () => streams.length,
    freeze: () => {
      for (const { client, upstream } of streams) {
        upstream.unpipe(client);
        upstream.pause();
      }
    },
    close: () => {
      for (const { client, upstream } of streams) { client.destroy(); upstream.destroy(); }
      proxy.close();
    },
  })));
}

async function checkFrozenStreamReopens(port) {
  const proxy = await startFreezingProxy(port);
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${proxy.port}/`, { waitUntil: "domcontentloaded" });
    await checkMovingImage(page, "#stream", "viewer page through the proxy");
    check(proxy.streamsOpened() === 1, `${proxy.streamsOpened()} streams opened`);
    proxy.freeze();
    log("stream frozen; the page's polls still reach the server");
    await until("the page to open its stream again", async () => proxy.streamsOpened() === 2);
    await checkMovingImage(page, "#stream", "viewer page after the frozen stream");
  } finally {
    await page.close();
    proxy.close();
  }
}

async function main() {
  server = await startServer(0);
  const port = server.port;
  log(`server on port ${port}`);
  browser = await launchBrowser(workdir);
  log("browser: " + await browser.version());
  await checkViewerPage(port);
  await checkFrozenStreamReopens(port);
  await checkBareStream(port);
}

await runAndExit(main, async () => {
  if (browser) await browser.close().catch(() => {});
  await stopServer();
  fs.rmSync(workdir, { recursive: true, force: true });
});
