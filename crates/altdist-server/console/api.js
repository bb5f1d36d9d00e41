// The API, from the browser: requests to this origin with a bearer token the console signs
// itself, renewed before it expires, and errors as the API wrote them.

import { signApiToken, API_TOKEN_LIFETIME } from "./crypto.js";

// Renew the token once less than this is left of it (seconds).
const RENEW_MARGIN = 120;

let credentials = null; // {keyId, issuerId, cryptoKey}
let token = null; // {value, exp}

export function signIn(next) {
  credentials = next;
  token = null;
}

export function signOut() {
  credentials = null;
  token = null;
}

export function signedIn() {
  return credentials !== null;
}

export function identity() {
  return credentials && { keyId: credentials.keyId, issuerId: credentials.issuerId };
}

// The current token, signed anew when it is missing or about to expire.
async function bearer() {
  const now = Math.floor(Date.now() / 1000);
  if (!token || token.exp - now < RENEW_MARGIN) {
    token = { value: await signApiToken(credentials, now), exp: now + API_TOKEN_LIFETIME };
  }
  return token.value;
}

// An error answer of the API: its status and `errors` array.
export class ApiError extends Error {
  constructor(response, body, method, path) {
    const errors = Array.isArray(body?.errors) ? body.errors : [];
    super(errors[0]?.detail || `${method} ${path}: HTTP ${response.status}`);
    this.name = "ApiError";
    this.status = response.status;
    this.statusText = response.statusText;
    this.method = method;
    this.path = path;
    this.errors = errors.length ? errors : [{ code: null, title: `HTTP ${response.status}`, detail: typeof body === "string" ? body : "" }];
  }

  code() {
    return this.errors[0]?.code || "";
  }

  // What to do about it, for the errors a console user meets.
  hint() {
    if (this.status === 401) {
      return "The server refused the console's API token. Check the key id, the issuer id (or the individual key box) and the .p8 file; a revoked or unknown key is refused the same way. Sign out and sign in with a valid key.";
    }
    if (this.status === 403 && this.method !== "GET") {
      return "The API key's role cannot create or delete keys and domains: an ADMIN key is needed (see Roles in docs/API.md). Sign in with an ADMIN key to make this change.";
    }
    if (this.status === 403) return "The API key may not make this request (its role or its token's scope).";
    if (this.status === 429) return "The API key used up its hourly request budget; wait, or use another key.";
    return "";
  }
}

// `links.next` is an absolute URL built from the server's --public-url, which may name another
// host than the one this page came from; the console follows its path and query here.
export function sameOrigin(link) {
  const url = new URL(link, location.href);
  return url.pathname + url.search;
}

// A request to the API; resolves to the parsed body (null for 204), rejects with ApiError.
export async function api(method, path, { body } = {}) {
  if (!credentials) throw new Error("not signed in");
  const headers = { Accept: "application/json", Authorization: `Bearer ${await bearer()}` };
  const init = { method, headers, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new Error(`${method} ${path}: the server did not answer (${err.message}); is altdist serve still running?`);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's page, a 406): kept as text for the error.
  }
  if (!response.ok) throw new ApiError(response, parsed, method, path);
  return parsed;
}

// One page of a list: {data, next (a same-origin path or null), total}.
export async function page(path) {
  const body = await api("GET", path);
  return {
    data: body.data || [],
    included: body.included || [],
    next: body.links?.next ? sameOrigin(body.links.next) : null,
    total: body.meta?.paging?.total,
  };
}

// Every item of a list, following `links.next`; stops after `max` items.
export async function all(path, max = 1000) {
  const items = [];
  for (let next = path; next && items.length < max; ) {
    const result = await page(next);
    items.push(...result.data);
    next = result.next;
  }
  return items;
}

// A query string from an object, skipping empty values.
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
