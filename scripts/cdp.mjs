// A headless Chromium page driven over the DevTools protocol, shared by the screenshot
// scripts. Needs Node 20+ run with --experimental-websocket (for the global WebSocket).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Start Chromium, run `work(page)` on its first tab, then always stop it and drop its profile.
export async function withPage(chromium, windowSize, work) {
  const profile = mkdtempSync(join(tmpdir(), "signage-cdp-"));
  const browser = spawn(
    chromium,
    [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
      "--remote-debugging-port=0", `--user-data-dir=${profile}`, `--window-size=${windowSize}`, "about:blank",
    ],
    { stdio: "ignore" },
  );
  try {
    let port;
    for (let i = 0; i < 200 && !port; i++) {
      const file = join(profile, "DevToolsActivePort");
      if (existsSync(file)) port = readFileSync(file, "utf8").split("\n")[0];
      if (!port) await sleep(50);
    }
    if (!port) throw new Error("Chromium did not open its DevTools port");
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const ws = new WebSocket(targets.find((t) => t.type === "page").webSocketDebuggerUrl);
    await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
    const pending = new Map();
    let next = 0;
    ws.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.id && pending.has(data.id)) { pending.get(data.id)(data); pending.delete(data.id); }
    };
    const send = (method, params = {}) => new Promise((resolve) => {
      next += 1;
      pending.set(next, resolve);
      ws.send(JSON.stringify({ id: next, method, params }));
    });
    const evaluate = async (expression) =>
      (await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true })).result.result.value;
    const waitFor = async (expression, what) => {
      for (let i = 0; i < 200; i++) {
        if (await evaluate(expression)) return;
        await sleep(50);
      }
      throw new Error(`timed out waiting for ${what}`);
    };
    // Resize to the page's full height and save it as a PNG.
    const screenshot = async (out, width, mobile) => {
      const height = await evaluate("Math.ceil(document.documentElement.scrollHeight)");
      await send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile });
      const shot = await send("Page.captureScreenshot", { format: "png" });
      writeFileSync(out, Buffer.from(shot.result.data, "base64"));
    };
    await work({ send, evaluate, waitFor, screenshot });
    ws.close();
  } finally {
    if (browser.exitCode === null) {
      const exited = new Promise((resolve) => browser.once("exit", resolve));
      browser.kill();
      await exited;
    }
    rmSync(profile, { recursive: true, force: true });
  }
}
