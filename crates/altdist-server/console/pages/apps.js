// Apps: the account's apps, filtered by name or bundle id, each with its key.

import { api, page, query } from "../api.js";
import { announce, busy, field, fill, h, showError } from "../ui.js";

// The key that signs for an app: its own, else the account-wide one; null when none (404).
export async function appKey(appId) {
  try {
    const body = await api("GET", `/v1/apps/${encodeURIComponent(appId)}/alternativeDistributionKey`);
    return body.data;
  } catch (err) {
    if (err.name === "ApiError" && err.status === 404) return null;
    throw err;
  }
}

export function renderApps(slot) {
  const name = h("input", { name: "name", autocomplete: "off" });
  const bundleId = h("input", { name: "bundleId", autocomplete: "off", spellcheck: "false" });
  const apply = h("button", { type: "submit" }, "Filter");
  const clear = h("button", { type: "button", class: "secondary" }, "Clear");
  const errors = h("div", { class: "slot" });
  const body = h("tbody");
  const table = h("table", {},
    h("caption", { class: "visually-hidden" }, "Apps of the account"),
    h("thead", {}, h("tr", {}, ["Name", "Bundle ID", "Apple ID", "SKU", "Alternative distribution key"].map((title) => h("th", { scope: "col" }, title)))),
    body,
  );
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more apps");
  const summary = h("p", { class: "summary" });
  let next = null;
  let shown = 0;

  async function load(path, reset) {
    errors.replaceChildren();
    if (reset) {
      body.replaceChildren();
      shown = 0;
    }
    try {
      const result = await page(path);
      for (const app of result.data) body.append(row(app));
      shown += result.data.length;
      next = result.next;
      more.hidden = !next;
      fill(summary, result.total === undefined ? `${shown} apps shown.` : `${shown} of ${result.total} apps shown.`);
      if (!shown) body.append(h("tr", {}, h("td", { colspan: 5 }, "No app matches. Apps are created with ", h("code", {}, "altdist admin app create"), ".")));
      announce(summary.textContent);
    } catch (err) {
      showError(errors, err, "Could not list the apps.");
    }
  }

  function row(app) {
    const a = app.attributes || {};
    const keyCell = h("td", {}, h("span", { class: "muted" }, "loading…"));
    appKey(app.id).then(
      (key) => fill(keyCell, key ? h("code", {}, key.id) : h("span", { class: "muted" }, "no key")),
      (err) => fill(keyCell, h("span", { class: "bad" }, `error: HTTP ${err.status || ""} ${err.code?.() || err.message}`)),
    );
    return h("tr", {}, h("td", {}, a.name || ""), h("td", {}, h("code", {}, a.bundleId || "")), h("td", {}, h("code", {}, app.id)), h("td", {}, a.sku || ""), keyCell);
  }

  const firstPage = () => `/v1/apps${query({ "filter[name]": name.value.trim(), "filter[bundleId]": bundleId.value.trim(), limit: 50 })}`;
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter apps" },
    field("Name", name, "Exact name"),
    field("Bundle ID", bundleId, "Exact bundle id, like com.example.app"),
    h("div", { class: "actions" }, apply, clear),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(apply, "Filtering…", () => load(firstPage(), true));
  });
  clear.addEventListener("click", () => {
    name.value = "";
    bundleId.value = "";
    load(firstPage(), true);
  });
  more.addEventListener("click", () => busy(more, "Loading…", () => load(next, false)));

  fill(slot,
    h("h1", {}, "Apps"),
    h("p", {}, "The account's apps, and the alternative distribution key that signs for each: its own, else the account-wide key."),
    form,
    errors,
    summary,
    h("div", { class: "table-wrap" }, table),
    more,
  );
  return load(firstPage(), true);
}
