// Sign in to the supervisors' dashboard in headless Chromium over the DevTools protocol and
// save a full-page screenshot. Called by scripts/screenshot_dashboard.py; needs Node 20+.
//
//   node --experimental-websocket scripts/dashboard_signed_in.mjs CHROMIUM URL USER PASSWORD OUT.png
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [chromium, url, user, password, out] = process.argv.slice(2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const profile = mkdtempSync(join(tmpdir(), "signage-cdp-"));
const browser = spawn(
  chromium,
  [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
    "--remote-debugging-port=0", `--user-data-dir=${profile}`, "--window-size=1280,900", "about:blank",
  ],
  { stdio: "ignore" },
);

async function main() {
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

  await send("Emulation.setDeviceMetricsOverride", { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });
  await send("Page.navigate", { url: `${url}/dashboard/sign-in` });
  await waitFor('document.readyState === "complete" && !!document.querySelector("input[name=username]")', "the form");
  await evaluate(`document.querySelector("input[name=username]").value = ${JSON.stringify(user)};
                  document.querySelector("input[name=password]").value = ${JSON.stringify(password)};
                  document.querySelector("form:not([action])").requestSubmit(); true`);
  await waitFor('location.pathname === "/dashboard" && document.readyState === "complete" && !!document.querySelector("svg")', "the dashboard");
  const height = await evaluate("Math.ceil(document.documentElement.scrollHeight)");
  await send("Emulation.setDeviceMetricsOverride", { width: 1280, height, deviceScaleFactor: 1, mobile: false });
  const shot = await send("Page.captureScreenshot", { format: "png" });
  writeFileSync(out, Buffer.from(shot.result.data, "base64"));
  ws.close();
}

async function stop() {
  if (browser.exitCode === null) {
    const exited = new Promise((resolve) => browser.once("exit", resolve));
    browser.kill();
    await exited;
  }
  rmSync(profile, { recursive: true, force: true });
}

main()
  .then(stop)
  .catch(async (error) => {
    console.error(error.message);
    await stop();
    process.exit(1);
  });
