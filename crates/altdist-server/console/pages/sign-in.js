// Sign in: an App Store Connect API key (key id, issuer id, .p8) that stays in the browser.

import * as api from "../api.js";
import * as store from "../store.js";
import { importPrivateKey, readKeyFile } from "../crypto.js";
import { announce, busy, field, fileBytes, fill, h, showError } from "../ui.js";

export function renderSignIn(slot, { onSignedIn }) {
  const keyId = h("input", { name: "keyId", required: true, autocomplete: "off", spellcheck: "false", autocapitalize: "characters" });
  const issuerId = h("input", { name: "issuerId", required: true, autocomplete: "off", spellcheck: "false" });
  const individual = h("input", { type: "checkbox", name: "individual" });
  const keyFile = h("input", { type: "file", name: "privateKey", required: true, accept: ".p8,.pem,.key,.der" });
  const remember = h("input", { type: "checkbox", name: "remember", "aria-describedby": "remember-hint" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const errors = h("div", { class: "slot" });

  individual.addEventListener("change", () => {
    issuerId.disabled = individual.checked;
    issuerId.required = !individual.checked;
  });
  // AuthKey_2X9R4HXF34.p8 names its key.
  keyFile.addEventListener("change", () => {
    const match = /AuthKey_([A-Z0-9]{10})\./.exec(keyFile.files?.[0]?.name || "");
    if (match && !keyId.value) keyId.value = match[1];
  });

  const form = h("form", { class: "card narrow", "aria-describedby": "sign-in-intro" },
    field("Key ID", keyId, "The API key's id, ten letters and digits, like 2X9R4HXF34."),
    field("Issuer ID", issuerId, "Your account's issuer id (a UUID). altdist serve writes it in altdist-data/credentials.json."),
    h("div", { class: "check" }, individual, h("label", { for: (individual.id = "individual") }, "Individual key (no issuer id: tokens carry sub “user”)")),
    field("Private key (.p8)", keyFile, "AuthKey_<key id>.p8 (PKCS#8), or an EC PRIVATE KEY PEM. It is read here and never sent."),
    h("div", { class: "check" }, remember, h("label", { for: (remember.id = "remember") }, "Remember on this browser")),
    h("p", { class: "hint", id: "remember-hint" }, "Off: the key is forgotten when you close the tab or sign out. On: it is kept in this browser's storage as a non-extractable key, which no page can read back as bytes, until you sign out."),
    h("div", { class: "actions" }, submit),
  );

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, "Signing in…", async () => {
      errors.replaceChildren();
      try {
        const file = await fileBytes(keyFile);
        if (!file) throw new Error("choose the API key's .p8 file");
        const key = readKeyFile(file.bytes);
        if (key.kind !== "private") {
          throw new Error(`${file.name} holds a public key; signing in needs the private key (.p8) of the API key`);
        }
        const credentials = {
          keyId: keyId.value.trim(),
          issuerId: individual.checked ? null : issuerId.value.trim(),
          cryptoKey: await importPrivateKey(key.pkcs8),
        };
        api.signIn(credentials);
        try {
          // One cheap request proves the key: the server checks the token's signature and key.
          await api.api("GET", "/v1/apps?limit=1");
        } catch (err) {
          api.signOut();
          throw err;
        }
        if (remember.checked) await store.remember(credentials);
        else await store.forget();
        onSignedIn();
      } catch (err) {
        showError(errors, err, "Could not sign in.");
      }
    });
  });

  fill(slot,
    h("h1", {}, "Sign in"),
    h("p", { id: "sign-in-intro" }, "The console is a client of this server's App Store Connect API. Sign in with an API key: the console signs its own short-lived tokens with it, in this browser, and never sends the private key anywhere."),
    form,
    errors,
  );
  announce("Sign in with an App Store Connect API key.");
}
