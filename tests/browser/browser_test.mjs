// Headless Chromium against a live mjpeghttpsink (videotestsrc pattern=ball,
// a moving picture): the viewer page shows the stream at its size and keeps
// changing, its stats fill in, the snapshot button downloads a JPEG, full
// screen works, and the page reconnects after the server restarts; the bare
// stream URL also decodes and moves. Saves a screenshot of the page.
//
// Environment: CHROMIUM (browser binary), SCREENSHOT (PNG path to write),
// GST_PLUGIN_PATH_1_0 etc. for gst-launch. Exit 0 = pass, 1 = fail.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

const WIDTH = 320;
const HEIGHT = 240;
const STEP_TIMEOUT_MS = 20000;

const workdir = fs.mkdtempSync(path.join(os.tmpdir(), "mjpeghttp-browser-"));
let server = null;
let browser = null;

function log(text) {
  console.log("[browser] " + text);
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Starts gst-launch serving the moving test picture; resolves with the port
// it listens on (from its current-port notification).
function startServer(port) {
  const args = [
    "-v", "-e",
    "videotestsrc", "is-live=true", "pattern=ball", "!",
    `video/x-raw,width=${WIDTH},height=${HEIGHT},framerate=15/1`, "!",
    "jpegenc", "!", "mjpeghttpsink", "name=sink", `port=${port}`,
  ];
  const env = { ...process.env };
  if (process.env.MJPEGHTTP_SERVER_PRELOAD) {
    env.LD_PRELOAD = process.env.MJPEGHTTP_SERVER_PRELOAD;
    env.ASAN_OPTIONS = "detect_leaks=0";
  }
  const child = spawn("gst-launch-1.0", args, { stdio: ["ignore", "pipe", "pipe"], env });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("gst-launch did not start:\n" + output)),
                             STEP_TIMEOUT_MS);
    const onData = (data) => {
      output += data;
      const found = /current-port = ([1-9][0-9]*)/.exec(output);
      if (found) {
        clearTimeout(timer);
        child.stdout.off("data", onData);
        resolve({ child, port: Number(found[1]) });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (data) => { output += data; });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gst-launch exited (${code}):\n${output}`));
    });
  });
}

// SIGINT with -e: EOS first, so viewers get the closing boundary.
async function stopServer() {
  if (!server) return;
  const child = server.child;
  server = null;
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
  await exited;
  clearTimeout(timer);
}

async function fetchStats(port) {
  const response = await fetch(`http://127.0.0.1:${port}/stats`);
  check(response.ok, `/stats answered ${response.status}`);
  return response.json();
}

// Polls `condition` (async) every 100 ms until it is true or the step times out.
async function until(what, condition) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error("timed out waiting for " + what);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// In the page: the image's pixels as a compact string, read through a canvas
// (the stream is same-origin, so the canvas is not tainted).
function samplePixels(selector) {
  const image = document.querySelector(selector);
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  let hash = 0;
  let lit = 0;
  for (let i = 0; i < data.length; i += 4) {
    hash = (hash * 31 + data[i] + data[i + 1] * 7 + data[i + 2] * 13) | 0;
    if (data[i] + data[i + 1] + data[i + 2] > 30) lit++;
  }
  return { hash, lit, width: canvas.width, height: canvas.height };
}

// The image decodes at the stream's size, is not blank, and changes.
async function checkMovingImage(page, selector, what) {
  await page.waitForFunction(
    (sel, w, h) => {
      const image = document.querySelector(sel);
      return image && image.naturalWidth === w && image.naturalHeight === h;
    },
    { timeout: STEP_TIMEOUT_MS, polling: 100 }, selector, WIDTH, HEIGHT);
  const first = await page.evaluate(samplePixels, selector);
  check(first.width === WIDTH && first.height === HEIGHT, `${what}: canvas ${first.width}x${first.height}`);
  check(first.lit > 0, `${what}: the picture is black`);
  let later = first;
  await until(`${what} to change`, async () => {
    later = await page.evaluate(samplePixels, selector);
    return later.hash !== first.hash;
  });
  log(`${what}: ${WIDTH}x${HEIGHT}, pixels changed (${first.hash} -> ${later.hash})`);
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

async function main() {
  server = await startServer(0);
  const port = server.port;
  log(`server on port ${port}`);
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage",
    ],
    userDataDir: path.join(workdir, "profile"),
  });
  log("browser: " + await browser.version());
  await checkViewerPage(port);
  await checkBareStream(port);
}

let status = 0;
try {
  await main();
  log("PASS");
} catch (error) {
  console.error("[browser] FAIL: " + (error && error.stack ? error.stack : error));
  status = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  await stopServer();
  fs.rmSync(workdir, { recursive: true, force: true });
}
process.exit(status);
