// SPDX-License-Identifier: LGPL-2.1-or-later
// A page on another origin reading /?action=stream with fetch(), the way
// Mainsail's and Fluidd's "adaptive MJPEG" reader does: a streaming fetch
// (CORS, so the element must send Access-Control-Allow-Origin), each part cut
// out of the body by its Content-Length, decoded with createImageBitmap. Also
// /?action=snapshot through fetch. The page is served by a little HTTP server
// of this script on another port, so it is a cross-origin reader for real.
//
// Environment: CHROMIUM (browser binary), GST_PLUGIN_PATH_1_0 etc. for
// gst-launch. Exit 0 = pass, 1 = fail.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import {
  STEP_TIMEOUT_MS, check, launchBrowser, log, runAndExit, startGstLaunch, stopGstLaunch,
} from "./browser_support.mjs";

const WIDTH = 320;
const HEIGHT = 240;
const FRAMES = 5;

const workdir = fs.mkdtempSync(path.join(os.tmpdir(), "mjpeghttp-mainsail-"));
let server = null;
let pageServer = null;
let browser = null;

// What the reader page runs (serialized into it): reads the multipart body
// as Mainsail does, trusting Content-Length to find each JPEG's end.
function readerScript() {
  window.decoded = [];
  window.failure = null;
  window.readStream = async (url, wanted) => {
    try {
      const response = await fetch(url, { mode: "cors" });
      if (!response.ok) throw new Error("status " + response.status);
      const reader = response.body.getReader();
      let buffer = new Uint8Array(0);
      const text = (bytes) => new TextDecoder("latin1").decode(bytes);
      while (window.decoded.length < wanted) {
        const { done, value } = await reader.read();
        if (done) throw new Error("the stream ended");
        const joined = new Uint8Array(buffer.length + value.length);
        joined.set(buffer);
        joined.set(value, buffer.length);
        buffer = joined;
        for (;;) {
          const head = text(buffer.subarray(0, Math.min(buffer.length, 4096)));
          const end = head.indexOf("\r\n\r\n");
          if (end < 0) break;
          const length = /content-length:\s*(\d+)/i.exec(head.slice(0, end));
          if (!length) throw new Error("a part without Content-Length: " + head.slice(0, end));
          const start = end + 4;
          const size = parseInt(length[1], 10);
          if (buffer.length < start + size) break;
          const jpeg = buffer.slice(start, start + size);
          buffer = buffer.slice(start + size);
          const bitmap = await createImageBitmap(new Blob([jpeg], { type: "image/jpeg" }));
          window.decoded.push({ width: bitmap.width, height: bitmap.height, bytes: size });
          bitmap.close();
        }
      }
      reader.cancel();
    } catch (error) {
      window.failure = String(error);
    }
  };
}

function startPageServer() {
  const page = `<!doctype html><html><body><script>(${readerScript})();</script></body></html>`;
  pageServer = http.createServer((request, response) => {
    response.writeHead(200, { "Content-Type": "text/html", Connection: "close" });
    response.end(page);
  });
  return new Promise((resolve) => pageServer.listen(0, "127.0.0.1", () =>
    resolve(pageServer.address().port)));
}

async function main() {
  const pagePort = await startPageServer();
  const origin = `http://127.0.0.1:${pagePort}`;
  const { child, result: port } = await startGstLaunch(
    ["-v", "-e", "videotestsrc", "is-live=true", "pattern=ball", "!",
     `video/x-raw,width=${WIDTH},height=${HEIGHT},framerate=15/1`, "!", "jpegenc", "!",
     "mjpeghttpsink", "port=0", `allow-origin=${origin}`, "async=false"],
    (output) => {
      const match = /current-port = ([1-9][0-9]*)/.exec(output);
      return match ? Number(match[1]) : 0;
    });
  server = child;
  log(`camera on port ${port}, reader page at ${origin}`);
  browser = await launchBrowser(workdir);
  const page = await browser.newPage();
  await page.goto(origin + "/", { waitUntil: "domcontentloaded" });
  const camera = `http://127.0.0.1:${port}`;

  await page.evaluate((url, wanted) => { window.readStream(url, wanted); },
                      camera + "/?action=stream", FRAMES);
  await page.waitForFunction((wanted) => window.failure || window.decoded.length >= wanted,
                             { timeout: STEP_TIMEOUT_MS, polling: 100 }, FRAMES);
  const { decoded, failure } = await page.evaluate(() => ({
    decoded: window.decoded, failure: window.failure,
  }));
  check(!failure, "the fetch() reader failed: " + failure);
  for (const frame of decoded)
    check(frame.width === WIDTH && frame.height === HEIGHT,
          `a frame decoded at ${frame.width}x${frame.height}`);
  log(`fetch() read ${decoded.length} parts by Content-Length across origins, each ${WIDTH}x${HEIGHT}`);

  const snapshot = await page.evaluate(async (url) => {
    const response = await fetch(url, { mode: "cors" });
    const bitmap = await createImageBitmap(await response.blob());
    return { status: response.status, width: bitmap.width, height: bitmap.height,
             online: response.headers.get("X-Source-Online") };
  }, camera + "/?action=snapshot");
  check(snapshot.status === 200 && snapshot.width === WIDTH && snapshot.height === HEIGHT,
        "the snapshot: " + JSON.stringify(snapshot));
  // Readable across origins only because the element exposes it.
  check(snapshot.online === "1", "X-Source-Online across origins: " + snapshot.online);
  log(`fetch() of /?action=snapshot: ${snapshot.width}x${snapshot.height}`);
}

await runAndExit(main, async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) await stopGstLaunch(server);
  if (pageServer) pageServer.close();
  fs.rmSync(workdir, { recursive: true, force: true });
});
