// Keys: the account's alternative distribution keys, with fingerprint and app; upload, delete.

import { all, api } from "../api.js";
import { fingerprintOfPem, publicKeyOf, readKeyFile, toPem } from "../crypto.js";
import { announce, busy, confirmDialog, field, fileBytes, fill, h, showError } from "../ui.js";
import { pagedRows } from "./paged.js";

// At most this many apps are asked for their key when the keys page names each key's app.
const APPS_LOOKED_UP = 400;

// Which app each app-specific key signs for: Map(keyId → app), and the account-wide key ids.
// The API has no key → app link, so this asks each app for its key (four at a time); an app
// without a key of its own answers with the account-wide key, which is told apart by listing
// the keys that have no app (`exists[app]=false`).
async function keyOwners() {
  const [accountWide, apps] = await Promise.all([
    all("/v1/alternativeDistributionKeys?exists%5Bapp%5D=false&limit=200"),
    all("/v1/apps?limit=200", APPS_LOOKED_UP),
  ]);
  const wide = new Set(accountWide.map((key) => key.id));
  const owners = new Map();
  let at = 0;
  async function worker() {
    while (at < apps.length) {
      const app = apps[at++];
      try {
        const body = await api("GET", `/v1/apps/${encodeURIComponent(app.id)}/relationships/alternativeDistributionKey`);
        if (body.data && !wide.has(body.data.id)) owners.set(body.data.id, app);
      } catch (err) {
        if (!(err.name === "ApiError" && err.status === 404)) throw err;
      }
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()]);
  return { owners, wide, complete: apps.length < APPS_LOOKED_UP };
}

// Fills `select` with "no app" and the account's apps; resolves to the apps.
export async function appChoices(select, noneLabel) {
  const apps = await all("/v1/apps?limit=200", APPS_LOOKED_UP);
  fill(select,
    noneLabel ? h("option", { value: "" }, noneLabel) : null,
    apps.map((app) => h("option", { value: app.id }, `${app.attributes?.name || app.id} (${app.attributes?.bundleId || "?"}, ${app.id})`)),
  );
  return apps;
}

// The public key PEM to upload from a chosen file or pasted text: a private key is reduced to its
// public half here, as `altdist keys create` does.
async function publicPemFrom(bytes) {
  const key = readKeyFile(bytes);
  if (key.kind === "public") return { pem: toPem("PUBLIC KEY", key.spki), fromPrivate: false };
  return { pem: toPem("PUBLIC KEY", await publicKeyOf(key.pkcs8)), fromPrivate: true };
}

export async function createKey(publicKeyPem, appId) {
  const data = { type: "alternativeDistributionKeys", attributes: { publicKey: publicKeyPem } };
  if (appId) data.relationships = { app: { data: { type: "apps", id: appId } } };
  return (await api("POST", "/v1/alternativeDistributionKeys", { body: { data } })).data;
}

export function renderKeys(slot) {
  const keyFile = h("input", { type: "file", name: "publicKeyFile", accept: ".pem,.der,.pub,.key" });
  const pasted = h("textarea", { name: "publicKey", rows: 5, spellcheck: "false", placeholder: "-----BEGIN PUBLIC KEY-----" });
  const app = h("select", { name: "app" }, h("option", { value: "" }, "Loading apps…"));
  const upload = h("button", { type: "submit" }, "Upload public key");
  const formErrors = h("div", { class: "slot" });
  const listErrors = h("div", { class: "slot" });
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more keys");
  const summary = h("p", { class: "summary" });
  const rows = pagedRows({ body, more, summary, errors: listErrors, row, noun: "keys", empty: "No key yet." });
  let owners = null;

  function appCell(cell, keyId) {
    if (!owners) return fill(cell, h("span", { class: "muted" }, "loading…"));
    const owner = owners.owners.get(keyId);
    if (owner) return fill(cell, `${owner.attributes?.name || ""} `, h("code", {}, owner.id));
    if (owners.wide.has(keyId)) return fill(cell, "Account-wide (every app without a key of its own)");
    return fill(cell, h("span", { class: "muted" }, owners.complete ? "an app" : "an app (not among the first apps looked up)"));
  }

  function row(key) {
    const pem = key.attributes?.publicKey || "";
    const print = h("td", {}, h("span", { class: "muted" }, "…"));
    fingerprintOfPem(pem).then((value) => fill(print, value ? h("code", { class: "fingerprint" }, value) : h("span", { class: "bad" }, "unreadable key")));
    const appTd = h("td", { "data-key": key.id });
    appCell(appTd, key.id);
    const remove = h("button", { type: "button", class: "danger small", "aria-label": `Delete key ${key.id}` }, "Delete");
    const tr = h("tr", {}, h("td", {}, h("code", { class: "id" }, key.id)), print, appTd, h("td", {}, remove));
    remove.addEventListener("click", async () => {
      if (!(await confirmDialog(`Delete the key ${key.id}? Install verification tokens signed with it stop verifying at once. This cannot be undone.`, "Delete key"))) return;
      try {
        await api("DELETE", `/v1/alternativeDistributionKeys/${encodeURIComponent(key.id)}`);
        rows.removed(tr);
        announce(`Deleted key ${key.id}.`);
      } catch (err) {
        showError(listErrors, err, `Could not delete key ${key.id}.`);
      }
    });
    return tr;
  }

  async function loadOwners() {
    try {
      owners = await keyOwners();
    } catch (err) {
      owners = { owners: new Map(), wide: new Set(), complete: false };
      showError(listErrors, err, "Could not tell which app each key belongs to.");
    }
    for (const cell of body.querySelectorAll("td[data-key]")) appCell(cell, cell.dataset.key);
  }

  const form = h("form", { class: "card", "aria-labelledby": "upload-key" },
    h("h2", { id: "upload-key" }, "Upload a public key"),
    field("Public key file", keyFile, ["public_key.pem from ", h("code", {}, "openssl ec -in private_key.pem -pubout"), " or ", h("code", {}, "altdist pubkey"), ". A private key file is reduced to its public half here; only that is sent."]),
    field("Or paste the PEM", pasted),
    field("App", app, "An app-specific key signs for one app; without an app the key is account-wide."),
    h("div", { class: "actions" }, upload),
    formErrors,
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(upload, "Uploading…", async () => {
      formErrors.replaceChildren();
      try {
        const file = await fileBytes(keyFile);
        const text = pasted.value.trim();
        if (!file && !text) throw new Error("choose a public key file or paste a PEM");
        const { pem, fromPrivate } = await publicPemFrom(file ? file.bytes : new TextEncoder().encode(text));
        const created = await createKey(pem, app.value);
        announce(`Uploaded key ${created.id}${fromPrivate ? "; only the public half of the private key was sent" : ""}.`);
        keyFile.value = "";
        pasted.value = "";
        await rows.reload("/v1/alternativeDistributionKeys?limit=50");
        loadOwners();
      } catch (err) {
        showError(formErrors, err, "Could not upload the key.");
      }
    });
  });
  more.addEventListener("click", () => busy(more, "Loading…", () => rows.loadMore().then(() => loadOwners())));

  fill(slot,
    h("h1", {}, "Alternative distribution keys"),
    h("p", {}, "Each key's id is the ", h("code", {}, "kid"), " of the install verification tokens it signs. The fingerprint is SHA-256 of the public key's DER, as ", h("code", {}, "altdist fingerprint"), " prints it."),
    h("h2", {}, "Keys"),
    listErrors,
    summary,
    h("div", { class: "table-wrap" },
      h("table", {},
        h("caption", { class: "visually-hidden" }, "Keys of the account"),
        h("thead", {}, h("tr", {}, ["Key ID (kid)", "Fingerprint (SHA-256)", "App", h("span", { class: "visually-hidden" }, "Actions")].map((title) => h("th", { scope: "col" }, title)))),
        body,
      ),
    ),
    more,
    form,
  );
  appChoices(app, "No app: an account-wide key").catch((err) => showError(formErrors, err, "Could not list the apps."));
  return rows.reload("/v1/alternativeDistributionKeys?limit=50").then(() => loadOwners());
}
