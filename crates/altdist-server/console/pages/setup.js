// Web distribution, start to finish on one page: Apple's "Creating and configuring keys for web
// distribution" (key pair, public key upload, domain) and a first install verification token.

import { api } from "../api.js";
import { generateKeyPair, signInstallToken } from "../crypto.js";
import { handoff, go } from "../app.js";
import { announce, busy, download, field, fill, h, showError } from "../ui.js";
import { appKey } from "./apps.js";
import { appChoices, createKey } from "./keys.js";

function step(number, title, ...content) {
  const id = `step-${number}`;
  return h("section", { class: "step card", "aria-labelledby": id },
    h("h2", { id }, h("span", { class: "step-number" }, `Step ${number}.`), " ", title),
    ...content,
  );
}

export function renderSetup(slot) {
  const state = { apps: [], app: null, pair: null, kid: null };

  // 1. The app.
  const app = h("select", { name: "app" }, h("option", { value: "" }, "Loading apps…"));
  const appInfo = h("div", { class: "slot", "aria-live": "polite" });
  const appErrors = h("div", { class: "slot" });

  // 2. The key pair.
  const generate = h("button", { type: "button" }, "Generate a P-256 key pair");
  const pairOut = h("div", { class: "slot" });

  // 3. The public key, uploaded.
  const upload = h("button", { type: "button", disabled: true }, "Upload the public key");
  const uploadOut = h("div", { class: "slot" });

  // 4. The domain.
  const domain = h("input", { name: "domain", autocomplete: "off", spellcheck: "false", placeholder: "apps.example.com", required: true });
  const referenceName = h("input", { name: "referenceName", autocomplete: "off", required: true });
  const addDomain = h("button", { type: "submit" }, "Add the domain");
  const domainOut = h("div", { class: "slot" });

  // 5. A sample token.
  const sign = h("button", { type: "button", disabled: true }, "Sign a sample install verification token");
  const tokenOut = h("div", { class: "slot" });

  function refresh() {
    upload.disabled = !(state.pair && state.app) || Boolean(state.kid);
    sign.disabled = !(state.pair && state.kid && state.app);
  }

  async function chooseApp() {
    state.app = state.apps.find((candidate) => candidate.id === app.value) || null;
    appInfo.replaceChildren();
    refresh();
    if (!state.app) return;
    const a = state.app.attributes || {};
    fill(appInfo, h("p", {}, "Apple ID ", h("code", {}, state.app.id), " (the tokens' ", h("code", {}, "iss"), "), bundle ID ", h("code", {}, a.bundleId), " (their ", h("code", {}, "bid"), ")."));
    try {
      const key = await appKey(state.app.id);
      if (key && state.app?.id === app.value) {
        appInfo.append(h("p", { class: "note" }, "This app already has a key: ", h("code", {}, key.id), ". A second key for the same app is refused (409); delete the old one on the Keys page first, or keep using it."));
      }
    } catch (err) {
      showError(appErrors, err, "Could not read the app's key.");
    }
  }
  app.addEventListener("change", chooseApp);

  generate.addEventListener("click", () => busy(generate, "Generating…", async () => {
    try {
      state.pair = await generateKeyPair();
      state.kid = null;
      uploadOut.replaceChildren();
      tokenOut.replaceChildren();
      const pair = state.pair;
      const save = (label, name, text) => {
        const button = h("button", { type: "button", class: "secondary" }, label);
        button.addEventListener("click", () => {
          download(name, text);
          announce(`Saved ${name}.`);
        });
        return button;
      };
      fill(pairOut,
        h("p", {}, "Generated in this browser. Fingerprint (SHA-256 of the public key): ", h("code", { class: "fingerprint", id: "setup-fingerprint" }, pair.fingerprint)),
        h("p", { class: "warning" }, h("strong", {}, "Save the private key now"), ": it exists only in this page and is gone when you leave it. Keep it as you keep passwords; never put it in a repository or in client-side code."),
        h("div", { class: "actions" },
          save("Download private_key.pem (SEC1, as openssl ecparam -genkey)", "private_key.pem", pair.sec1Pem),
          save("Download private_key.p8 (PKCS#8, as openssl genpkey)", "private_key.p8", pair.pkcs8Pem),
          save("Download public_key.pem", "public_key.pem", pair.publicPem),
        ),
        h("details", {}, h("summary", {}, "The public key (what is uploaded)"), h("pre", {}, pair.publicPem)),
      );
      announce(`Generated a key pair, fingerprint ${pair.fingerprint.slice(0, 16)}….`);
    } catch (err) {
      showError(pairOut, err, "Could not generate a key pair.");
    }
    refresh();
  }));

  upload.addEventListener("click", () => busy(upload, "Uploading…", async () => {
    try {
      const created = await createKey(state.pair.publicPem, state.app.id);
      state.kid = created.id;
      fill(uploadOut,
        h("p", { class: "good" }, "Uploaded. The key's id, the ", h("code", {}, "kid"), " of every install verification token for this app: "),
        h("p", {}, h("code", { class: "kid", id: "setup-kid" }, created.id)),
      );
      announce(`Uploaded the public key: kid ${created.id}.`);
    } catch (err) {
      showError(uploadOut, err, "Could not upload the public key.");
    }
    refresh();
  }));

  const domainForm = h("form", {},
    field("Domain", domain, "The host your install page is on, like apps.example.com."),
    field("Reference name", referenceName, "Your name for it."),
    h("div", { class: "actions" }, addDomain),
    domainOut,
  );
  domainForm.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(addDomain, "Adding…", async () => {
      try {
        const created = await api("POST", "/v1/alternativeDistributionDomains", {
          body: { data: { type: "alternativeDistributionDomains", attributes: { domain: domain.value.trim(), referenceName: referenceName.value.trim() } } },
        });
        fill(domainOut, h("p", { class: "good" }, "Added ", h("code", {}, created.data.attributes.domain), "."));
        announce(`Added domain ${created.data.attributes.domain}.`);
      } catch (err) {
        showError(domainOut, err, "Could not add the domain.");
      }
    });
  });

  sign.addEventListener("click", () => busy(sign, "Signing…", async () => {
    try {
      const a = state.app.attributes || {};
      const token = await signInstallToken(state.pair.privateKey, { kid: state.kid, appId: state.app.id, bundleId: a.bundleId });
      const text = h("textarea", { readonly: true, rows: 5, id: "setup-token", spellcheck: "false" }, token);
      const inspect = h("button", { type: "button" }, "Check it in the token inspector");
      inspect.addEventListener("click", () => {
        handoff.token = token;
        handoff.appId = state.app.id;
        go("inspect");
      });
      fill(tokenOut,
        field("Install verification token", text, "Header alg ES256, kid, typ JWT; claims iss (the app's Apple ID), iat, exp (10 minutes), aud AppleDownloadVerification-v1, bid, dtype download and a fresh nonce. Your server mints one like it for every install."),
        h("div", { class: "actions" }, inspect),
      );
      announce("Signed a sample install verification token.");
    } catch (err) {
      showError(tokenOut, err, "Could not sign the token.");
    }
  }));

  fill(slot,
    h("h1", {}, "Set up web distribution"),
    h("p", {}, "Apple's flow for distributing an app from your website, on one page: make a key pair, upload its public half for the app, register your domain, and sign a first install verification token. The private key is made here and never sent."),
    step(1, "Choose the app", field("App", app, "The app to distribute from your website."), appErrors, appInfo),
    step(2, "Generate the key pair", h("p", {}, "An ECDSA P-256 key, the same as ", h("code", {}, "openssl ecparam -name prime256v1 -genkey -noout -out private_key.pem"), " or ", h("code", {}, "altdist keygen"), " makes; the files load in either."), h("div", { class: "actions" }, generate), pairOut),
    step(3, "Upload the public key", h("p", {}, h("code", {}, "POST /v1/alternativeDistributionKeys"), " with the app as the key's relationship: one key per web-distribution app."), h("div", { class: "actions" }, upload), uploadOut),
    step(4, "Add your domain", h("p", {}, h("code", {}, "POST /v1/alternativeDistributionDomains"), ": the website your app is installed from."), domainForm),
    step(5, "Sign a sample token", h("p", {}, "Signed here with the new private key; the token inspector checks it as Apple would."), h("div", { class: "actions" }, sign), tokenOut),
  );
  return appChoices(app, "Choose an app…").then(
    (apps) => {
      state.apps = apps;
      if (!apps.length) fill(appErrors, h("p", { class: "note" }, "The account has no app yet. Create one with ", h("code", {}, "altdist admin app create --name NAME --bundle-id BUNDLE_ID"), "."));
    },
    (err) => showError(appErrors, err, "Could not list the apps."),
  );
}
