// The token inspector: a token's header and claims, and every check of the sandbox, each with
// its verdict and why.

import { api } from "../api.js";
import { decodeJws } from "../crypto.js";
import { handoff } from "../app.js";
import { announce, busy, dateText, field, fill, h, relative, showError } from "../ui.js";

const INSTALL_AUDIENCE = "AppleDownloadVerification-v1";
const PATHS = {
  install: "/sandbox/v1/installVerificationTokens/verify",
  marketplace: "/sandbox/v1/marketplaceTokens/verify",
};

// Which sandbox endpoint a token is for, from its claims: install tokens have their own
// audience; marketplace tokens share the API's and carry pid.
function kindOf(claims) {
  if (claims?.aud === INSTALL_AUDIENCE) return "install";
  if (claims && "pid" in claims) return "marketplace";
  return "install";
}

function valueText(name, value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  if ((name === "iat" || name === "exp" || name === "nbf") && Number.isInteger(value)) {
    const now = Date.now() / 1000;
    return [h("code", {}, text), " · ", dateText(value), ` (${relative(value - now)})`];
  }
  return h("code", {}, text);
}

function members(title, object) {
  const entries = Object.entries(object || {});
  return h("section", { class: "decoded", "aria-label": title },
    h("h3", {}, title),
    entries.length
      ? h("dl", {}, entries.map(([name, value]) => [h("dt", {}, name), h("dd", {}, valueText(name, value))]))
      : h("p", { class: "muted" }, "none"),
  );
}

function checksTable(checks) {
  return h("table", { class: "checks" },
    h("caption", {}, "Checks, in the order the sandbox made them"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Check"), h("th", { scope: "col" }, "Result"), h("th", { scope: "col" }, "Detail"))),
    h("tbody", {}, checks.map((check) => h("tr", { class: check.ok ? "pass" : "fail", "data-check": check.name },
      h("th", { scope: "row" }, h("code", {}, check.name)),
      h("td", { class: "verdict" }, h("span", { "aria-hidden": "true" }, check.ok ? "✓ " : "✗ "), check.ok ? "pass" : "fail"),
      h("td", {}, check.detail, check.firstSeen ? firstSeen(check.firstSeen) : null),
    ))),
  );
}

function firstSeen(at) {
  const seconds = (new Date(at).getTime() - Date.now()) / 1000;
  return h("p", { class: "first-seen" }, h("strong", {}, "Replay."), " This nonce was first seen ", dateText(at), ` (${relative(seconds)}).`);
}

export function renderInspect(slot) {
  const token = h("textarea", { name: "token", rows: 6, required: true, spellcheck: "false", autocomplete: "off", placeholder: "eyJhbGciOiJFUzI1NiIs…" });
  const kind = h("select", { name: "kind" },
    h("option", { value: "auto" }, "Tell from the token (aud, pid)"),
    h("option", { value: "install" }, "Install verification token"),
    h("option", { value: "marketplace" }, "Marketplace token"),
  );
  const appId = h("input", { name: "appId", autocomplete: "off", inputmode: "numeric", spellcheck: "false" });
  const check = h("button", { type: "submit" }, "Check the token");
  const out = h("div", { class: "slot", id: "inspect-result" });

  const form = h("form", { class: "card" },
    field("Token", token, "A compact JWS: three base64url parts separated by dots."),
    field("Kind", kind),
    field("App ID (optional)", appId, "The Apple ID of the app being installed, when the key alone does not tell (an account-wide key)."),
    h("p", { class: "note" }, "Checking an install verification token records its nonce, as Apple does: checking the same token again reports a replay."),
    h("div", { class: "actions" }, check),
  );

  async function inspect() {
    const text = token.value.trim();
    let decoded = null;
    let localProblem = null;
    try {
      decoded = decodeJws(text);
    } catch (err) {
      localProblem = err.message;
    }
    const chosen = kind.value === "auto" ? kindOf(decoded?.claims) : kind.value;
    const parts = [
      h("h2", {}, "Decoded"),
      localProblem ? h("p", { class: "bad" }, `The token does not decode: ${localProblem}.`) : h("div", { class: "decoded-pair" }, members("Header", decoded.header), members("Claims", decoded.claims)),
    ];
    fill(out, parts);
    try {
      const body = { token: text };
      if (appId.value.trim()) body.appId = appId.value.trim();
      const answer = await api("POST", PATHS[chosen], { body });
      const failed = answer.checks.filter((c) => !c.ok);
      out.append(
        h("h2", {}, `Verdict (${chosen === "install" ? "install verification token" : "marketplace token"})`),
        h("p", { class: `verdict-banner ${answer.valid ? "pass" : "fail"}`, id: "verdict" },
          h("span", { "aria-hidden": "true" }, answer.valid ? "✓ " : "✗ "),
          answer.valid ? "Valid: every check passed." : `Not valid: ${failed.length} of ${answer.checks.length} checks failed (${failed.map((c) => c.name).join(", ")}).`,
        ),
        h("div", { class: "table-wrap" }, checksTable(answer.checks)),
      );
      announce(answer.valid ? "The token is valid: every check passed." : `The token is not valid: ${failed.map((c) => c.name).join(", ")} failed.`);
    } catch (err) {
      const errors = h("div", { class: "slot" });
      out.append(errors);
      showError(errors, err, "The sandbox could not check the token.");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(check, "Checking…", inspect);
  });

  fill(slot,
    h("h1", {}, "Token inspector"),
    h("p", {}, "Paste an install verification token or a marketplace token. The sandbox checks it against this account's keys and apps the way Apple does, and says why each check passed or failed. A JWT debugger cannot: it knows neither your keys nor Apple's rules."),
    form,
    out,
  );
  if (handoff.token) {
    token.value = handoff.token;
    if (handoff.appId) appId.value = handoff.appId;
    delete handoff.token;
    delete handoff.appId;
  }
}
