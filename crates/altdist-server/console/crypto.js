// Keys and tokens in the browser: base64url, a little DER, PEM, ES256 JWS through WebCrypto.
//
// Private keys stay here. A P-256 key is read from PKCS#8 (`PRIVATE KEY`, App Store Connect's
// AuthKey_*.p8) or SEC1 (`EC PRIVATE KEY`, what `openssl ecparam -genkey` writes, wrapped into
// PKCS#8 for WebCrypto), and written in both forms byte for byte as openssl writes them.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// --- base64 -----------------------------------------------------------------------------

export function base64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function fromBase64(text) {
  const binary = atob(text.replace(/\s+/g, ""));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function base64url(bytes) {
  return base64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) {
    throw new Error("not base64url: it has characters outside A-Z a-z 0-9 - _");
  }
  const padded = text.replace(/-/g, "+").replace(/_/g, "/");
  return fromBase64(padded + "=".repeat((4 - (padded.length % 4)) % 4));
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function equal(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

// --- DER --------------------------------------------------------------------------------

// One TLV at `at`: its tag, its value's bounds and where it ends. Definite lengths only.
function readTlv(bytes, at) {
  if (at + 2 > bytes.length) throw new Error("DER ends early");
  const tag = bytes[at];
  let length = bytes[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 3) throw new Error("DER length of an unsupported form");
    length = 0;
    for (let i = 0; i < count; i++) length = (length << 8) | bytes[start + i];
    start += count;
  }
  const end = start + length;
  if (end > bytes.length) throw new Error("DER value runs past the end");
  return { tag, end, value: bytes.subarray(start, end), raw: bytes.subarray(at, end) };
}

// The TLVs inside a constructed value.
function children(value) {
  const out = [];
  for (let at = 0; at < value.length; ) {
    const tlv = readTlv(value, at);
    out.push(tlv);
    at = tlv.end;
  }
  return out;
}

function tlv(tag, ...parts) {
  const value = concat(...parts);
  const n = value.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return concat(Uint8Array.of(tag, ...length), value);
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;
const OID = 0x06;

// 1.2.840.10045.2.1 id-ecPublicKey and 1.2.840.10045.3.1.7 prime256v1 (P-256), as DER.
const EC_PUBLIC_KEY = Uint8Array.of(0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01);
const PRIME256V1 = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);
const EC_ALGORITHM = tlv(SEQUENCE, EC_PUBLIC_KEY, PRIME256V1);

// --- PEM --------------------------------------------------------------------------------

// Every PEM block of `text`: [{label, der}].
export function pemBlocks(text) {
  const blocks = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let match; (match = re.exec(text)); ) {
    const body = match[2].replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) {
      throw new Error(`the ${match[1]} block is not base64`);
    }
    blocks.push({ label: match[1], der: fromBase64(body) });
  }
  return blocks;
}

// PEM as openssl writes it: 64-column lines, each ended by "\n".
export function toPem(label, der) {
  const lines = base64(der).match(/.{1,64}/g) || [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

// --- keys -------------------------------------------------------------------------------

// An ECPrivateKey (SEC1) as `openssl ecparam -name prime256v1 -genkey -noout` writes it:
// version 1, the 32-byte private key, [0] prime256v1, [1] the uncompressed public point.
function sec1(d, point) {
  return tlv(
    SEQUENCE,
    tlv(INTEGER, Uint8Array.of(1)),
    tlv(OCTET_STRING, d),
    tlv(0xa0, PRIME256V1),
    tlv(0xa1, tlv(BIT_STRING, Uint8Array.of(0), point)),
  );
}

// PKCS#8 as `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` writes it: the
// curve in the algorithm identifier, the ECPrivateKey inside without it.
function pkcs8(d, point) {
  const inner = tlv(
    SEQUENCE,
    tlv(INTEGER, Uint8Array.of(1)),
    tlv(OCTET_STRING, d),
    tlv(0xa1, tlv(BIT_STRING, Uint8Array.of(0), point)),
  );
  return tlv(SEQUENCE, tlv(INTEGER, Uint8Array.of(0)), EC_ALGORITHM, tlv(OCTET_STRING, inner));
}

// SubjectPublicKeyInfo of a P-256 point: what `openssl ec -pubout` writes.
function spki(point) {
  return tlv(SEQUENCE, EC_ALGORITHM, tlv(BIT_STRING, Uint8Array.of(0), point));
}

// Wraps a SEC1 ECPrivateKey into PKCS#8, the form WebCrypto imports; refuses other curves.
export function sec1ToPkcs8(der) {
  const outer = readTlv(der, 0);
  if (outer.tag !== SEQUENCE) throw new Error("the EC PRIVATE KEY is not a DER SEQUENCE");
  const fields = children(outer.value);
  if (fields.length < 2 || fields[0].tag !== INTEGER || fields[1].tag !== OCTET_STRING) {
    throw new Error("the EC PRIVATE KEY is not an ECPrivateKey (version, privateKey, ...)");
  }
  const params = fields.find((field) => field.tag === 0xa0);
  if (params && !equal(params.value, PRIME256V1)) {
    throw new Error("the EC PRIVATE KEY is not on P-256 (prime256v1), the curve Apple requires");
  }
  // The curve lives in the algorithm identifier; the inner key drops its own copy.
  const inner = tlv(
    SEQUENCE,
    ...fields.filter((field) => field.tag !== 0xa0).map((field) => field.raw),
  );
  return tlv(SEQUENCE, tlv(INTEGER, Uint8Array.of(0)), EC_ALGORITHM, tlv(OCTET_STRING, inner));
}

function checkPkcs8Curve(der) {
  const outer = readTlv(der, 0);
  const fields = outer.tag === SEQUENCE ? children(outer.value) : [];
  const algorithm = fields[1];
  if (!algorithm || algorithm.tag !== SEQUENCE) {
    throw new Error("the PRIVATE KEY is not PKCS#8 (version, algorithm, privateKey)");
  }
  const [kind, curve] = children(algorithm.value);
  const kindDer = kind?.raw;
  const curveDer = curve?.raw;
  if (!kindDer || !equal(kindDer, EC_PUBLIC_KEY)) {
    throw new Error("the PRIVATE KEY is not an EC key; App Store Connect keys are ECDSA P-256");
  }
  if (!curveDer || !equal(curveDer, PRIME256V1)) {
    throw new Error("the PRIVATE KEY is not on P-256 (prime256v1)");
  }
}

// What a key file holds: {kind: "private", pkcs8} or {kind: "public", spki}. Takes PEM (SEC1,
// PKCS#8, SPKI; other blocks such as EC PARAMETERS are skipped) or DER bytes.
export function readKeyFile(bytes) {
  const text = decoder.decode(bytes);
  if (text.includes("-----BEGIN")) {
    const blocks = pemBlocks(text);
    const block = blocks.find((b) => ["PRIVATE KEY", "EC PRIVATE KEY", "PUBLIC KEY"].includes(b.label));
    if (!block) {
      const found = blocks.map((b) => b.label).join(", ") || "no complete PEM block";
      throw new Error(`expected a PRIVATE KEY, EC PRIVATE KEY or PUBLIC KEY PEM block, found ${found}`);
    }
    if (block.label === "PRIVATE KEY") {
      checkPkcs8Curve(block.der);
      return { kind: "private", pkcs8: block.der };
    }
    if (block.label === "EC PRIVATE KEY") return { kind: "private", pkcs8: sec1ToPkcs8(block.der) };
    return { kind: "public", spki: checkSpki(block.der) };
  }
  // DER: PKCS#8 starts with INTEGER 0 after the SEQUENCE, SEC1 with INTEGER 1, SPKI with a SEQUENCE.
  const outer = readTlv(bytes, 0);
  const first = children(outer.value)[0];
  if (first?.tag === SEQUENCE) return { kind: "public", spki: checkSpki(bytes) };
  if (first?.tag === INTEGER && first.value[0] === 0) {
    checkPkcs8Curve(bytes);
    return { kind: "private", pkcs8: bytes };
  }
  if (first?.tag === INTEGER && first.value[0] === 1) return { kind: "private", pkcs8: sec1ToPkcs8(bytes) };
  throw new Error("not a key: no PEM block, and the DER is neither PKCS#8, SEC1 nor SubjectPublicKeyInfo");
}

function checkSpki(der) {
  if (der.length !== 91 || !equal(der.subarray(0, 26), spki(new Uint8Array(65)).subarray(0, 26))) {
    throw new Error("the PUBLIC KEY is not a P-256 (prime256v1) key with an uncompressed point");
  }
  return der;
}

const ECDSA = { name: "ECDSA", namedCurve: "P-256" };

// A signing CryptoKey from PKCS#8; not extractable unless asked, so it never leaves as bytes.
export async function importPrivateKey(pkcs8Der, extractable = false) {
  try {
    return await crypto.subtle.importKey("pkcs8", pkcs8Der, ECDSA, extractable, ["sign"]);
  } catch (err) {
    throw new Error(`the browser refused the private key (${err.message || err.name}); expected a P-256 key`);
  }
}

// The SubjectPublicKeyInfo DER of a private key given as PKCS#8 (the key is imported
// extractable only for this, and dropped).
export async function publicKeyOf(pkcs8Der) {
  const key = await importPrivateKey(pkcs8Der, true);
  const jwk = await crypto.subtle.exportKey("jwk", key);
  return spki(concat(Uint8Array.of(4), fromBase64url(jwk.x), fromBase64url(jwk.y)));
}

// A fresh key pair: the signing key and every file the setup page offers.
export async function generateKeyPair() {
  const pair = await crypto.subtle.generateKey(ECDSA, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const d = fromBase64url(jwk.d);
  const point = concat(Uint8Array.of(4), fromBase64url(jwk.x), fromBase64url(jwk.y));
  const publicDer = spki(point);
  return {
    privateKey: pair.privateKey,
    sec1Pem: toPem("EC PRIVATE KEY", sec1(d, point)),
    pkcs8Pem: toPem("PRIVATE KEY", pkcs8(d, point)),
    publicPem: toPem("PUBLIC KEY", publicDer),
    fingerprint: await fingerprint(publicDer),
  };
}

// SHA-256 of the SubjectPublicKeyInfo DER, lower-case hex: `altdist fingerprint`, and
// `openssl pkey -pubin -in public_key.pem -outform DER | openssl dgst -sha256`.
export async function fingerprint(spkiDer) {
  return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", spkiDer)));
}

// The fingerprint of a PUBLIC KEY PEM, or null when it does not parse.
export async function fingerprintOfPem(pem) {
  try {
    const block = pemBlocks(pem).find((b) => b.label === "PUBLIC KEY");
    return block ? await fingerprint(block.der) : null;
  } catch {
    return null;
  }
}

// --- tokens -----------------------------------------------------------------------------

// A compact JWS signed ES256 with `key`; WebCrypto's ECDSA signature is already r || s.
export async function signJws(key, header, claims) {
  const input = `${base64url(encoder.encode(JSON.stringify(header)))}.${base64url(encoder.encode(JSON.stringify(claims)))}`;
  const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, encoder.encode(input));
  return `${input}.${base64url(new Uint8Array(signature))}`;
}

// An App Store Connect API token, as `altdist token api` mints it: team keys carry iss, the
// issuer id; individual keys sub "user". At most 20 minutes; the console asks for 15.
export const API_TOKEN_LIFETIME = 15 * 60;

export function apiTokenClaims({ issuerId }, now) {
  const identity = issuerId ? { iss: issuerId } : { sub: "user" };
  return { ...identity, iat: now, exp: now + API_TOKEN_LIFETIME, aud: "appstoreconnect-v1" };
}

export function signApiToken(credentials, now = Math.floor(Date.now() / 1000)) {
  const header = { alg: "ES256", kid: credentials.keyId, typ: "JWT" };
  return signJws(credentials.cryptoKey, header, apiTokenClaims(credentials, now));
}

// An install verification token, as `altdist token install` mints it.
export function signInstallToken(key, { kid, appId, bundleId, lifetime = 600 }) {
  const now = Math.floor(Date.now() / 1000);
  return signJws(
    key,
    { alg: "ES256", kid, typ: "JWT" },
    {
      iss: appId,
      iat: now,
      exp: now + lifetime,
      aud: "AppleDownloadVerification-v1",
      bid: bundleId,
      dtype: "download",
      nonce: crypto.randomUUID(),
    },
  );
}

// The header and claims of a compact JWS, read without checking anything; throws with why not.
export function decodeJws(token) {
  const parts = token.trim().split(".");
  if (parts.length !== 3) {
    throw new Error(`a compact JWS has three parts separated by dots, this has ${parts.length}`);
  }
  const part = (text, name) => {
    let json;
    try {
      json = JSON.parse(decoder.decode(fromBase64url(text)));
    } catch (err) {
      throw new Error(`the ${name} is not base64url JSON: ${err.message}`);
    }
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new Error(`the ${name} is not a JSON object`);
    }
    return json;
  };
  return { header: part(parts[0], "header"), claims: part(parts[1], "claims") };
}
