// The web console in Debian's headless Chromium, against a real `altdist serve`: sign in with
// the keyboard, the guided web-distribution setup (the downloaded private key checked with
// openssl and altdist), keys, domains, the token inspector, roles, errors, and axe-core on
// every page. Run through run.sh, which installs what it needs and finds the binary.
//
//   ALTDIST_BIN=target/debug/altdist node --test-concurrency=1 console.test.mjs
//
// On a failure each step saves a screenshot of the page; the directory is printed.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createPrivateKey, sign } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

const bin = process.env.ALTDIST_BIN;
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
const work = mkdtempSync(join(tmpdir(), "altdist-console-"));
const artifacts = process.env.CONSOLE_ARTIFACTS || join(work, "artifacts");
const data = join(work, "data");
mkdirSync(artifacts, { recursive: true });

let server;
let base;
let browser;
let context;
let page;
let admin; // {keyId, issuerId, keyPath}
let appId;
const BUNDLE_ID = "com.example.console";
const state = {};
// Script errors and CSP violations the console caused; the last test wants none.
const pageErrors = [];

function altdist(...args) {
  return execFileSync(bin, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

// One step: on failure a screenshot (named after the step) and the directory in the error.
async function step(name, work) {
  try {
    await work();
  } catch (err) {
    const file = join(artifacts, `${name.replace(/[^a-z0-9]+/gi, "-")}.png`);
    let where;
    try {
      await page.screenshot({ path: file, fullPage: true });
      where = `screenshot: ${file}\n    screenshots of this run: ${artifacts}`;
    } catch (shotErr) {
      where = `(no screenshot: ${shotErr.message})`;
    }
    // A new error: the runner prints the stack, which holds the message as it was made.
    throw new Error(`${err.message}\n    ${where}`, { cause: err });
  }
}

// axe-core on the page as it is: no serious or critical violation.
async function checkAccessibility(label) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern (a <script>
  // tag would be refused, as it should be).
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(
    bad.map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join("; ")})`),
    [],
    `accessibility violations on ${label}`,
  );
}

// The API from the test itself, as the admin key (to make data the pages then show).
async function apiAsAdmin(method, path, body) {
  const now = Math.floor(Date.now() / 1000);
  const part = (json) => Buffer.from(JSON.stringify(json)).toString("base64url");
  const input = `${part({ alg: "ES256", kid: admin.keyId, typ: "JWT" })}.${part({ iss: admin.issuerId, iat: now, exp: now + 600, aud: "appstoreconnect-v1" })}`;
  const signature = sign("sha256", Buffer.from(input), { key: createPrivateKey(readFileSync(admin.keyPath)), dsaEncoding: "ieee-p1363" });
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${input}.${signature.toString("base64url")}`, "Content-Type": "application/json", Accept: "application/json" },
    body: body && JSON.stringify(body),
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return response.status === 204 ? null : response.json();
}

async function signIn({ keyId, issuerId, keyPath }, { remember = false } = {}) {
  await page.goto(`${base}/console#/apps`);
  await page.getByLabel("Key ID", { exact: true }).fill(keyId);
  await page.getByLabel("Issuer ID", { exact: true }).fill(issuerId);
  await page.getByLabel("Private key (.p8)").setInputFiles(keyPath);
  if (remember) await page.getByLabel("Remember on this browser").check();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { level: 1, name: "Apps" }).waitFor();
}

async function signOut() {
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
}

before(async () => {
  assert.ok(bin, "ALTDIST_BIN names the altdist binary (run.sh sets it)");
  server = spawn(bin, ["serve", "--listen", "127.0.0.1:0", "--data-dir", data], {
    env: { ...process.env, RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let serverErr = "";
  server.stderr.on("data", (chunk) => (serverErr += chunk));
  base = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`altdist serve did not start:\n${out}\n${serverErr}`)), 20000);
    server.stdout.on("data", (chunk) => {
      out += chunk;
      const match = /listening on (?:http:\/\/)?([0-9.]+:[0-9]+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(`http://${match[1]}`);
      }
    });
    server.on("error", (err) => reject(new Error(`cannot run ${bin}: ${err.message}`)));
    server.on("exit", (code) => reject(new Error(`altdist serve exited ${code}:\n${out}\n${serverErr}`)));
  });
  const credentials = JSON.parse(readFileSync(join(data, "credentials.json"), "utf8"));
  admin = {
    keyId: credentials.key_id,
    issuerId: credentials.issuer_id,
    keyPath: join(data, credentials.private_key_path.replace(/^.*\//, "")),
  };
  appId = JSON.parse(altdist("admin", "app", "create", "--name", "Console Test App", "--bundle-id", BUNDLE_ID, "--data-dir", data, "--json")).id;
  altdist("admin", "app", "create", "--name", "Other App", "--bundle-id", "com.example.other", "--data-dir", data);

  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(10000);
  page.on("pageerror", (err) => {
    pageErrors.push(err.message);
    console.error(`page error: ${err.message}`);
  });
  page.on("console", (message) => {
    if (message.type() === "error" && !/Failed to load resource/.test(message.text())) {
      pageErrors.push(message.text());
      console.error(`browser console: ${message.text()}`);
    }
  });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((resolve) => server.once("exit", resolve));
  }
});

test("the console is served with its security headers", () => step("headers", async () => {
  const response = await fetch(`${base}/console`, { headers: { Accept: "text/html" } });
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type"), /^text\/html/);
  const csp = response.headers.get("content-security-policy");
  for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "form-action 'none'", "base-uri 'none'"]) {
    assert.ok(csp.includes(directive), `CSP has ${directive}: ${csp}`);
  }
  assert.equal(response.headers.get("x-content-type-options"), "nosniff");
  assert.equal(response.headers.get("referrer-policy"), "no-referrer");
  const etag = response.headers.get("etag");
  const again = await fetch(`${base}/console`, { headers: { "If-None-Match": etag } });
  assert.equal(again.status, 304);
}));

test("a wrong key is refused with the API's 401 detail", () => step("wrong-key", async () => {
  const otherKey = join(work, "AuthKey_WRONGKEY00.p8");
  execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", otherKey]);
  await page.goto(`${base}/console`);
  await page.getByLabel("Issuer ID", { exact: true }).fill(admin.issuerId);
  await page.getByLabel("Private key (.p8)").setInputFiles(otherKey);
  // The key id comes from the file's name (AuthKey_<id>.p8) when the field is empty.
  assert.equal(await page.getByLabel("Key ID", { exact: true }).inputValue(), "WRONGKEY00");
  await page.getByRole("button", { name: "Sign in" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  const text = await alert.innerText();
  assert.match(text, /HTTP 401/);
  assert.match(text, /NOT_AUTHORIZED/);
  assert.match(text, /WRONGKEY00 is unknown or revoked/);
  await checkAccessibility("the sign-in page with an error");
}));

test("sign in with the keyboard only: tab through the form, submit with Enter", () => step("keyboard-sign-in", async () => {
  await page.goto(`${base}/console`);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await checkAccessibility("the sign-in page");
  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    return el.labels?.[0]?.textContent || el.textContent.trim() || el.tagName;
  });
  // From the top of the page: the skip link, then every control of the form in order.
  await page.reload();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await page.keyboard.press("Tab");
  assert.equal(await focused(), "Skip to content");
  const order = [];
  for (let i = 0; i < 6; i++) {
    await page.keyboard.press("Tab");
    order.push(await focused());
  }
  assert.deepEqual(order, [
    "Key ID",
    "Issuer ID",
    "Individual key (no issuer id: tokens carry sub “user”)",
    "Private key (.p8)",
    "Remember on this browser",
    "Sign in",
  ]);
  // Back to the key id with Shift+Tab and type; a file is chosen through its dialog, which
  // the test stands in for.
  for (let i = 0; i < 5; i++) await page.keyboard.press("Shift+Tab");
  assert.equal(await focused(), "Key ID");
  await page.keyboard.type(admin.keyId);
  await page.keyboard.press("Tab");
  await page.keyboard.type(admin.issuerId);
  await page.getByLabel("Private key (.p8)").setInputFiles(admin.keyPath);
  await page.getByLabel("Issuer ID", { exact: true }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { level: 1, name: "Apps" }).waitFor();
  assert.match(await page.locator("#who").innerText(), new RegExp(admin.keyId));
}));

test("apps: listed with their key, filtered by name and bundle id", () => step("apps", async () => {
  const row = page.getByRole("row", { name: /Console Test App/ });
  await row.waitFor();
  await page.waitForFunction(() => !document.body.innerText.includes("loading…"));
  assert.match(await row.innerText(), /no key/);
  assert.equal(await page.getByRole("row", { name: /Other App/ }).count(), 1);
  await checkAccessibility("the apps page");
  await page.getByLabel("Bundle ID").fill(BUNDLE_ID);
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByText("1 of 1 apps shown.").waitFor();
  assert.equal(await page.getByRole("row", { name: /Other App/ }).count(), 0);
  await page.getByLabel("Bundle ID").fill("");
  await page.getByLabel("Name").fill("No Such App");
  await page.getByRole("button", { name: "Filter" }).click();
  await page.getByText("No app matches").waitFor();
}));

test("guided setup: key pair, downloads that openssl and altdist load, upload, domain, sample token", () => step("setup", async () => {
  await page.getByRole("link", { name: "Web distribution setup" }).click();
  await page.getByRole("heading", { level: 1, name: "Set up web distribution" }).waitFor();
  await page.getByLabel("App", { exact: true }).selectOption(appId);
  await page.getByText(`Apple ID ${appId}`).waitFor();
  await page.getByRole("button", { name: "Generate a P-256 key pair" }).click();
  const fingerprint = await page.locator("#setup-fingerprint").innerText();
  assert.match(fingerprint, /^[0-9a-f]{64}$/);

  const save = async (name, file) => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name }).click()]);
    const path = join(work, file);
    await download.saveAs(path);
    return path;
  };
  const sec1 = await save(/private_key\.pem \(SEC1/, "sec1.pem");
  const pkcs8 = await save(/private_key\.p8/, "pkcs8.p8");
  const pub = await save(/public_key\.pem/, "public_key.pem");
  assert.match(readFileSync(sec1, "utf8"), /^-----BEGIN EC PRIVATE KEY-----\n/);
  assert.match(readFileSync(pkcs8, "utf8"), /^-----BEGIN PRIVATE KEY-----\n/);
  // openssl checks the key; the SEC1 file is the one openssl ecparam -genkey -noout writes.
  execFileSync("openssl", ["ec", "-in", sec1, "-check", "-noout"], { stdio: "pipe" });
  execFileSync("openssl", ["pkey", "-in", pkcs8, "-check", "-noout"], { stdio: "pipe" });
  const opensslSec1 = execFileSync("openssl", ["ec", "-in", sec1], { stdio: ["ignore", "pipe", "pipe"] }).toString();
  assert.equal(opensslSec1, readFileSync(sec1, "utf8"), "openssl rewrites the SEC1 file identically");
  const opensslPkcs8 = execFileSync("openssl", ["pkey", "-in", pkcs8], { stdio: ["ignore", "pipe", "pipe"] }).toString();
  assert.equal(opensslPkcs8, readFileSync(pkcs8, "utf8"), "openssl rewrites the PKCS#8 file identically");
  const opensslPub = execFileSync("openssl", ["ec", "-in", sec1, "-pubout"], { stdio: ["ignore", "pipe", "pipe"] }).toString();
  assert.equal(opensslPub, readFileSync(pub, "utf8"), "the public key is what openssl ec -pubout writes");
  // altdist loads both, and its fingerprint is the page's.
  assert.equal(altdist("fingerprint", sec1), fingerprint);
  assert.equal(altdist("fingerprint", pkcs8), fingerprint);
  state.fingerprint = fingerprint;
  state.sec1 = sec1;

  await page.getByRole("button", { name: "Upload the public key" }).click();
  const kid = await page.locator("#setup-kid").innerText();
  assert.match(kid, /^[0-9a-f-]{36}$/);
  state.kid = kid;

  await page.getByLabel("Domain", { exact: true }).fill("apps.console.example.com");
  await page.getByLabel("Reference name").fill("Console test site");
  await page.getByRole("button", { name: "Add the domain" }).click();
  await page.getByText("Added apps.console.example.com.").waitFor();

  await page.getByRole("button", { name: "Sign a sample install verification token" }).click();
  const token = await page.locator("#setup-token").inputValue();
  assert.equal(token.split(".").length, 3);
  const [header, claims] = token.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part, "base64url")));
  assert.deepEqual(header, { alg: "ES256", kid, typ: "JWT" });
  assert.equal(claims.iss, appId);
  assert.equal(claims.bid, BUNDLE_ID);
  assert.equal(claims.aud, "AppleDownloadVerification-v1");
  assert.equal(claims.dtype, "download");
  assert.match(claims.nonce, /^[0-9a-f-]{36}$/);
  assert.ok(claims.exp > claims.iat);
  // altdist verifies it offline with the downloaded public key.
  altdist("token", "verify", token, "--public-key", pub, "--bid", BUNDLE_ID);
  state.token = token;
  await checkAccessibility("the setup page");
  await page.screenshot({ path: join(artifacts, "setup.png"), fullPage: true });
}));

test("inspector: the sample token passes every check, then is a replay", () => step("inspector-valid", async () => {
  await page.getByRole("button", { name: "Check it in the token inspector" }).click();
  await page.getByRole("heading", { level: 1, name: "Token inspector" }).waitFor();
  assert.equal(await page.getByLabel("Token", { exact: true }).inputValue(), state.token);
  await page.getByRole("button", { name: "Check the token" }).click();
  await page.locator("#verdict").waitFor();
  assert.match(await page.locator("#verdict").innerText(), /Valid: every check passed/);
  for (const name of ["signature", "kid", "iss", "bid", "nonce", "app"]) {
    assert.match(await page.locator(`tr[data-check="${name}"] .verdict`).innerText(), /pass/, name);
  }
  assert.match(await page.getByRole("region", { name: "Claims" }).innerText(), new RegExp(BUNDLE_ID));
  await checkAccessibility("the inspector with a valid token");

  await page.getByRole("button", { name: "Check the token" }).click();
  await page.getByText(/Not valid: 1 of \d+ checks failed \(nonce\)/).waitFor();
  const nonce = page.locator('tr[data-check="nonce"]');
  assert.match(await nonce.locator(".verdict").innerText(), /fail/);
  assert.match(await nonce.innerText(), /Replay\. This nonce was first seen/);
  assert.match(await nonce.innerText(), /replayed: .* was first seen at/);
  await checkAccessibility("the inspector with a replay");
  await page.screenshot({ path: join(artifacts, "inspector.png"), fullPage: true });
}));

test("inspector: a broken token fails the right checks", () => step("inspector-broken", async () => {
  // The claims changed after signing: another bundle id, the signature no longer matches.
  const [header, , signature] = state.token.split(".");
  const claims = JSON.parse(Buffer.from(state.token.split(".")[1], "base64url"));
  claims.bid = "com.example.tampered";
  claims.nonce = "8a3f3a4e-1f2b-4c5d-9e6f-0a1b2c3d4e5f";
  const tampered = `${header}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${signature}`;
  await page.getByLabel("Token", { exact: true }).fill(tampered);
  await page.getByRole("button", { name: "Check the token" }).click();
  await page.getByText(/Not valid/).waitFor();
  const verdict = async (name) => page.locator(`tr[data-check="${name}"] .verdict`).innerText();
  assert.match(await verdict("signature"), /fail/);
  assert.match(await verdict("bid"), /fail/);
  assert.match(await page.locator('tr[data-check="bid"]').innerText(), /com\.example\.tampered/);
  assert.match(await verdict("kid"), /pass/);
  assert.match(await verdict("iss"), /pass/);

  // Not a JWS at all: decoded locally as nothing, the sandbox's format check fails.
  await page.getByLabel("Token", { exact: true }).fill("not-a-token");
  await page.getByRole("button", { name: "Check the token" }).click();
  await page.getByText(/does not decode/).waitFor();
  await page.locator('tr[data-check="format"]').waitFor();
  assert.match(await verdict("format"), /fail/);
}));

test("keys: the new key listed with its fingerprint and app", () => step("keys", async () => {
  await page.getByRole("link", { name: "Keys" }).click();
  const row = page.getByRole("row", { name: new RegExp(state.kid) });
  await row.waitFor();
  await page.waitForFunction(() => !document.querySelector("tbody").innerText.includes("loading…") && !document.querySelector("tbody").innerText.includes("…\t"));
  await row.getByText(state.fingerprint).waitFor();
  await row.getByText("Console Test App").waitFor();
  await checkAccessibility("the keys page");
  // The dark theme too (contrast is among axe's serious checks).
  await page.emulateMedia({ colorScheme: "dark" });
  await checkAccessibility("the keys page, dark");
  await page.emulateMedia({ colorScheme: "light" });
  await page.screenshot({ path: join(artifacts, "keys.png"), fullPage: true });
}));

test("keys: upload a pasted public key (account-wide) and a private key file (its public half, for an app)", () => step("keys-upload", async () => {
  const dir = join(work, "upload");
  mkdirSync(dir);
  const wide = join(dir, "wide.pem");
  const specific = join(dir, "specific.pem");
  for (const file of [wide, specific]) execFileSync("openssl", ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file]);
  const widePublic = execFileSync("openssl", ["ec", "-in", wide, "-pubout"], { stdio: ["ignore", "pipe", "pipe"] }).toString();
  await page.getByLabel("Or paste the PEM").fill(widePublic);
  await page.getByRole("button", { name: "Upload public key" }).click();
  const wideRow = page.getByRole("row", { name: new RegExp(altdist("fingerprint", wide)) });
  await wideRow.getByText("Account-wide").waitFor();

  const other = JSON.parse(altdist("admin", "app", "create", "--name", "Upload App", "--bundle-id", "com.example.upload", "--data-dir", data, "--json")).id;
  // Away and back: the page lists the apps anew.
  await page.getByRole("link", { name: "Apps" }).click();
  await page.getByRole("link", { name: "Keys" }).click();
  await page.getByRole("option", { name: /Upload App/ }).waitFor({ state: "attached" });
  await page.getByLabel("Public key file").setInputFiles(specific);
  await page.getByLabel("App", { exact: true }).selectOption(other);
  await page.getByRole("button", { name: "Upload public key" }).click();
  await page.getByRole("status").getByText(/only the public half of the private key was sent/).waitFor();
  const row = page.getByRole("row", { name: new RegExp(altdist("fingerprint", specific)) });
  await row.getByText("Upload App").waitFor();
  // A second account-wide key is the API's 409, shown with its detail.
  await page.getByLabel("Or paste the PEM").fill(widePublic);
  await page.getByRole("button", { name: "Upload public key" }).click();
  assert.match(await page.getByRole("alert").innerText(), /HTTP 409[\s\S]*ENTITY_ERROR/);
}));

test("domains: listed and paged; an invalid domain shows the API's error with its pointer", () => step("domains", async () => {
  // More than a page (50): the list follows links.next.
  for (let i = 0; i < 51; i++) {
    await apiAsAdmin("POST", "/v1/alternativeDistributionDomains", {
      data: { type: "alternativeDistributionDomains", attributes: { domain: `d${i}.paging.example.com`, referenceName: `Paging ${i}` } },
    });
  }
  await page.getByRole("link", { name: "Domains" }).click();
  await page.getByRole("row", { name: /apps\.console\.example\.com/ }).waitFor();
  await page.getByText("50 of 52 domains shown.").waitFor();
  await page.getByRole("button", { name: "Load more domains" }).click();
  await page.getByText("52 of 52 domains shown.").waitFor();
  await page.getByRole("row", { name: /d50\.paging\.example\.com/ }).waitFor();
  assert.equal(await page.getByRole("button", { name: "Load more domains" }).isVisible(), false);
  await page.getByLabel("Domain", { exact: true }).fill("https://not a domain/");
  await page.getByLabel("Reference name").fill("Bad");
  await page.getByRole("button", { name: "Add domain" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  const text = await alert.innerText();
  assert.match(text, /HTTP 409/);
  assert.match(text, /ENTITY_ERROR\.ATTRIBUTE\.INVALID/);
  assert.match(text, /source\.pointer: \/data\/attributes\/domain/);
  await checkAccessibility("the domains page with an error");
}));

test("a DEVELOPER key reads but may not delete: the 403 says ADMIN is needed", () => step("forbidden", async () => {
  const developer = JSON.parse(altdist("admin", "api-key", "create", "--role", "DEVELOPER", "--data-dir", data, "--out", join(work, "developer.p8"), "--json"));
  await signOut();
  await signIn({ keyId: developer.key_id, issuerId: developer.issuer_id, keyPath: join(work, "developer.p8") });
  await page.getByRole("link", { name: "Keys" }).click();
  const row = page.getByRole("row", { name: new RegExp(state.kid) });
  await row.getByRole("button", { name: `Delete key ${state.kid}` }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete key" }).click();
  const alert = page.getByRole("alert");
  await alert.waitFor();
  const text = await alert.innerText();
  assert.match(text, /HTTP 403/);
  assert.match(text, /FORBIDDEN_ERROR/);
  assert.match(text, /role cannot create or delete keys and domains: an ADMIN key is needed/);
  assert.equal(await row.count(), 1, "the key is still listed");

  // Revoked: the next request is refused with the API's 401.
  altdist("admin", "api-key", "revoke", developer.key_id, "--data-dir", data);
  await new Promise((resolve) => setTimeout(resolve, 600));
  await page.getByRole("link", { name: "Domains" }).click();
  await page.getByText(/unknown or revoked/).waitFor();
  assert.match(await page.getByRole("alert").innerText(), /HTTP 401/);
}));

test("an individual key given as a SEC1 PEM signs in (tokens with sub \"user\")", () => step("individual-sec1", async () => {
  const p8 = join(work, "individual.p8");
  const individual = JSON.parse(altdist("admin", "api-key", "create", "--role", "ADMIN", "--individual", "--data-dir", data, "--out", p8, "--json"));
  const sec1 = join(work, "individual-sec1.pem");
  execFileSync("openssl", ["ec", "-in", p8, "-out", sec1], { stdio: "pipe" });
  assert.match(readFileSync(sec1, "utf8"), /BEGIN EC PRIVATE KEY/);
  await signOut();
  await page.getByLabel("Key ID", { exact: true }).fill(individual.key_id);
  await page.getByLabel("Individual key", { exact: false }).check();
  assert.equal(await page.getByLabel("Issuer ID", { exact: true }).isDisabled(), true);
  await page.getByLabel("Private key (.p8)").setInputFiles(sec1);
  await page.getByRole("button", { name: "Sign in" }).click();
  // Signing in keeps the page asked for (the domains, where the last test left off).
  await page.locator("#who").getByText("(individual)").waitFor();
  await page.getByRole("heading", { level: 1, name: "Alternative distribution domains" }).waitFor();
}));

test("remembered sign-in survives a reload; sign out forgets it", () => step("remember", async () => {
  await signOut();
  await signIn(admin, { remember: true });
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Apps" }).waitFor();
  await signOut();
  await page.reload();
  await page.getByRole("heading", { level: 1, name: "Sign in" }).waitFor();
  await signIn(admin);
}));

test("an ADMIN deletes the key after confirming; cancelling keeps it", () => step("delete", async () => {
  await page.getByRole("link", { name: "Keys" }).click();
  const row = page.getByRole("row", { name: new RegExp(state.kid) });
  await row.waitFor();
  await row.getByRole("button", { name: `Delete key ${state.kid}` }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
  assert.equal(await row.count(), 1);
  await row.getByRole("button", { name: `Delete key ${state.kid}` }).click();
  // The dialog opens on Cancel: Escape closes it, as Cancel does.
  await page.keyboard.press("Escape");
  assert.equal(await page.getByRole("dialog").count(), 0);
  await row.getByRole("button", { name: `Delete key ${state.kid}` }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete key" }).click();
  await row.waitFor({ state: "detached" });
  await page.getByRole("status").getByText(`Deleted key ${state.kid}.`).waitFor();
  await page.getByRole("link", { name: "Apps" }).click();
  await page.waitForFunction(() => !document.body.innerText.includes("loading…"));
  // The app has no key of its own now: the account-wide key signs for it.
  const appRow = await page.getByRole("row", { name: /Console Test App/ }).innerText();
  assert.doesNotMatch(appRow, new RegExp(state.kid));
  assert.doesNotMatch(appRow, /no key|error/);
}));

test("deep links and unknown console files", () => step("links", async () => {
  await page.goto(`${base}/console/keys`);
  await page.waitForURL(/\/console#\/keys$/);
  const missing = await fetch(`${base}/console/nope.js`);
  assert.equal(missing.status, 404);
  if (process.env.CONSOLE_SCREENSHOT) copyFileSync(join(artifacts, process.env.CONSOLE_SCREENSHOT_FROM || "keys.png"), process.env.CONSOLE_SCREENSHOT);
  writeFileSync(join(artifacts, "done"), "");
}));

test("the console ran without a script error or a Content-Security-Policy violation", () => {
  assert.deepEqual(pageErrors, []);
});
