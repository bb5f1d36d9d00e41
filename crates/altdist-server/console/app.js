// The console: a hash router over the pages, and who is signed in.

import * as api from "./api.js";
import * as store from "./store.js";
import { announce, clearStatus, fill, h } from "./ui.js";
import { renderSignIn } from "./pages/sign-in.js";
import { renderApps } from "./pages/apps.js";
import { renderKeys } from "./pages/keys.js";
import { renderDomains } from "./pages/domains.js";
import { renderSetup } from "./pages/setup.js";
import { renderInspect } from "./pages/inspect.js";

const pages = {
  apps: { title: "Apps", render: renderApps },
  keys: { title: "Alternative distribution keys", render: renderKeys },
  domains: { title: "Alternative distribution domains", render: renderDomains },
  setup: { title: "Set up web distribution", render: renderSetup },
  inspect: { title: "Token inspector", render: renderInspect },
};

// What one page hands the next (the setup page's sample token to the inspector).
export const handoff = {};

export function go(route) {
  if (location.hash === `#/${route}`) render();
  else location.hash = `#/${route}`;
}

function currentRoute() {
  const match = /^#\/([a-z-]+)/.exec(location.hash);
  return match ? match[1] : "apps";
}

function showChrome() {
  const who = api.identity();
  document.getElementById("nav").hidden = !who;
  document.getElementById("who").hidden = !who;
  if (who) {
    fill(document.getElementById("who-text"), "Key ", h("code", {}, who.keyId), who.issuerId ? "" : " (individual)");
  }
}

let rendering = 0;
// The first page is a page load: focus starts at the top, on the skip link.
let loaded = false;

async function render() {
  const main = document.getElementById("main");
  const route = currentRoute();
  const ticket = ++rendering;
  clearStatus();
  showChrome();
  let page = pages[route];
  if (!api.signedIn()) {
    page = { title: "Sign in", render: (slot) => renderSignIn(slot, { onSignedIn }) };
  } else if (!page) {
    page = { title: "Not found", render: (slot) => fill(slot, h("h1", {}, "Not found"), h("p", {}, `The console has no page “${route}”. `, h("a", { href: "#/apps" }, "Go to the apps."))) };
  }
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.getAttribute("href") === `#/${route}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${page.title} · altdist console`;
  const slot = h("div", { class: "page" });
  main.replaceChildren(slot);
  await page.render(slot);
  if (ticket !== rendering) return;
  // Move focus to the new page's heading, as a page load would, so a screen reader reads it.
  const heading = slot.querySelector("h1");
  const first = !loaded;
  loaded = true;
  if (heading && !first && !slot.contains(document.activeElement)) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
}

function onSignedIn() {
  showChrome();
  announce(`Signed in with key ${api.identity().keyId}.`);
  if (currentRoute() === "apps" || !pages[currentRoute()]) go("apps");
  else render();
}

async function signOut() {
  api.signOut();
  await store.forget();
  announce("Signed out. The console forgot the key.");
  render();
}

async function start() {
  document.getElementById("sign-out").addEventListener("click", signOut);
  document.getElementById("skip-link").addEventListener("click", (event) => {
    event.preventDefault();
    document.getElementById("main").focus();
  });
  window.addEventListener("hashchange", () => {
    if (location.hash.startsWith("#/")) render();
  });
  const remembered = await store.recall();
  if (remembered?.cryptoKey) api.signIn(remembered);
  render();
}

start();
