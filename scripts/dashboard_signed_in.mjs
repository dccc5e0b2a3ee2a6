// Sign in to the supervisors' dashboard in headless Chromium and save a full-page screenshot.
// Called by scripts/screenshots.py; needs Node 20+.
//
//   node --experimental-websocket scripts/dashboard_signed_in.mjs CHROMIUM URL USER PASSWORD OUT.png
import { withPage } from "./cdp.mjs";

const [chromium, url, user, password, out] = process.argv.slice(2);

withPage(chromium, "1280,900", async ({ send, evaluate, waitFor, screenshot }) => {
  await send("Emulation.setDeviceMetricsOverride", { width: 1280, height: 900, deviceScaleFactor: 1, mobile: false });
  await send("Page.navigate", { url: `${url}/dashboard/sign-in` });
  await waitFor('document.readyState === "complete" && !!document.querySelector("input[name=username]")', "the form");
  await evaluate(`document.querySelector("input[name=username]").value = ${JSON.stringify(user)};
                  document.querySelector("input[name=password]").value = ${JSON.stringify(password)};
                  document.querySelector("form:not([action])").requestSubmit(); true`);
  await waitFor('location.pathname === "/dashboard" && document.readyState === "complete" && !!document.querySelector("svg")', "the dashboard");
  await screenshot(out, 1280, false);
}).catch((error) => {
  console.error(error.message);
  process.exit(1);
});
