// SPDX-License-Identifier: LGPL-2.1-or-later
// What the browser tests share: bounded waits, a gst-launch server they
// start and stop, headless Chromium, and the check that an <img> shows a
// moving picture of the expected size.
import { spawn } from "node:child_process";
import path from "node:path";
import puppeteer from "puppeteer-core";

export const STEP_TIMEOUT_MS = 20000;

export function log(text) {
  console.log("[browser] " + text);
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

// Polls `condition` (async) every 100 ms until it is true or the step times out.
export async function until(what, condition) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error("timed out waiting for " + what);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// gst-launch-1.0 with `args`; resolves with the child once its output
// matches `ready` (called with the output so far). A sanitizer build's plugin
// needs the sanitizer runtime preloaded here (and only here: Chromium does
// not start with it).
export function startGstLaunch(args, ready) {
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
      const result = ready(output);
      if (result) {
        clearTimeout(timer);
        child.stdout.off("data", onData);
        resolve({ child, result });
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
export async function stopGstLaunch(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10000);
  await exited;
  clearTimeout(timer);
}

export async function launchBrowser(workdir) {
  return puppeteer.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-dev-shm-usage",
    ],
    userDataDir: path.join(workdir, "profile"),
  });
}

// In the page: the image's pixels as a compact string, read through a canvas
// (the stream is same-origin, so the canvas is not tainted).
export function samplePixels(selector) {
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

// The image decodes at `width`x`height`, is not blank, and changes.
export async function checkMovingImage(page, selector, what, width, height) {
  await page.waitForFunction(
    (sel, w, h) => {
      const image = document.querySelector(sel);
      return image && image.naturalWidth === w && image.naturalHeight === h;
    },
    { timeout: STEP_TIMEOUT_MS, polling: 100 }, selector, width, height);
  const first = await page.evaluate(samplePixels, selector);
  check(first.width === width && first.height === height, `${what}: canvas ${first.width}x${first.height}`);
  check(first.lit > 0, `${what}: the picture is black`);
  let later = first;
  await until(`${what} to change`, async () => {
    later = await page.evaluate(samplePixels, selector);
    return later.hash !== first.hash;
  });
  log(`${what}: ${width}x${height}, pixels changed (${first.hash} -> ${later.hash})`);
}

// Runs `main`, says PASS or FAIL, always runs `cleanup` (close the browser,
// stop the servers), then exits 0 on a pass and 1 on a failure.
export async function runAndExit(main, cleanup) {
  let status = 0;
  try {
    await main();
    log("PASS");
  } catch (error) {
    console.error("[browser] FAIL: " + (error && error.stack ? error.stack : error));
    status = 1;
  } finally {
    await cleanup();
  }
  process.exit(status);
}
