// Drive the owner page in headless Chromium over the DevTools protocol: type the phone
// number, sign in, wait for the shop's notices and commitment, save a screenshot, then
// acknowledge the notice and check the page shows it.
// Called by scripts/screenshots.py; needs Node 20+ (run with --experimental-websocket).
//
//   node --experimental-websocket scripts/owner_page_signed_in.mjs CHROMIUM URL PHONE OUT.png
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [chromium, url, phone, out] = process.argv.slice(2);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const profile = mkdtempSync(join(tmpdir(), "signage-cdp-"));
const browser = spawn(
  chromium,
  [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars",
    "--remote-debugging-port=0", `--user-data-dir=${profile}`, "--window-size=390,844", "about:blank",
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

  await send("Emulation.setDeviceMetricsOverride", { width: 390, height: 844, deviceScaleFactor: 1, mobile: true });
  await send("Page.navigate", { url });
  await waitFor('document.readyState === "complete" && !!document.getElementById("phone")', "the page");
  await evaluate(`document.getElementById("phone").value = ${JSON.stringify(phone)};
                  document.getElementById("signin-form").requestSubmit(); true`);
  await waitFor('!document.getElementById("view").hidden', "the signed-in view");
  const height = await evaluate("Math.ceil(document.documentElement.scrollHeight)");
  await send("Emulation.setDeviceMetricsOverride", { width: 390, height, deviceScaleFactor: 1, mobile: true });
  const shot = await send("Page.captureScreenshot", { format: "png" });
  writeFileSync(out, Buffer.from(shot.result.data, "base64"));
  // Then acknowledge the notice, as the owner would, and check the page says so.
  await evaluate('document.querySelector("#notices button").click(); true');
  await waitFor('/已确认收到/.test(document.getElementById("notices").textContent)', "the acknowledgement");
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
