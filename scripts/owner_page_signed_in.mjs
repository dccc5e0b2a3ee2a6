// Drive the owner page in headless Chromium: type the phone number, sign in, wait for the
// shop's notices and commitment, save a screenshot, then acknowledge the notice and check the
// page shows it. Called by scripts/screenshots.py; needs Node 20+.
//
//   node --experimental-websocket scripts/owner_page_signed_in.mjs CHROMIUM URL PHONE OUT.png
import { withPage } from "./cdp.mjs";

const [chromium, url, phone, out] = process.argv.slice(2);

withPage(chromium, "390,844", async ({ send, evaluate, waitFor, screenshot }) => {
  await send("Emulation.setDeviceMetricsOverride", { width: 390, height: 844, deviceScaleFactor: 1, mobile: true });
  await send("Page.navigate", { url });
  await waitFor('document.readyState === "complete" && !!document.getElementById("phone")', "the page");
  await evaluate(`document.getElementById("phone").value = ${JSON.stringify(phone)};
                  document.getElementById("signin-form").requestSubmit(); true`);
  await waitFor('!document.getElementById("view").hidden', "the signed-in view");
  await screenshot(out, 390, true);
  // Then acknowledge the notice, as the owner would, and check the page says so.
  await evaluate('document.querySelector("#notices button").click(); true');
  await waitFor('/已确认收到/.test(document.getElementById("notices").textContent)', "the acknowledgement");
}).catch((error) => {
  console.error(error.message);
  process.exit(1);
});
