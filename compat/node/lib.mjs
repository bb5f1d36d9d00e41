// What the Node clients share: the environment run.sh sets, the step printer, and a fetch that
// records the Authorization header so we can show the token the client itself minted.
import { readFileSync } from 'node:fs';

export const env = {
  baseUrl: need('ASC_BASE_URL'),
  issuerId: need('ASC_ISSUER_ID'),
  keyId: need('ASC_KEY_ID'),
  privateKey: readFileSync(need('ASC_PRIVATE_KEY_PATH'), 'utf8'),
  appId: need('ASC_APP_ID'),
  bundleId: need('ASC_BUNDLE_ID'),
  publicKey: readFileSync(need('COMPAT_PUBLIC_KEY'), 'utf8'),
  publicKey2: readFileSync(need('COMPAT_PUBLIC_KEY_2'), 'utf8'),
  domain: need('COMPAT_DOMAIN'),
};

function need(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run compat/run.sh)`);
  return value;
}

// Handed to the client through its own `fetch` option; the client has already put its
// bearer token on the request, we only read it.
export const tokens = new Set();
export const recordingFetch = (input, init) => {
  const headers = input instanceof Request ? input.headers : new Headers(init?.headers);
  const auth = headers.get('authorization') ?? '';
  if (auth.startsWith('Bearer ')) tokens.add(auth.slice(7));
  return globalThis.fetch(input, init);
};

export function printTokens() {
  for (const token of tokens) {
    const [header, claims] = token.split('.').slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
    const lifetime = claims.exp - (claims.iat ?? Math.floor(Date.now() / 1000));
    console.log(`token header ${JSON.stringify(header)} claims ${JSON.stringify(claims)} ` +
      `(lifetime ~${lifetime}s${claims.iat === undefined ? ', no iat: exp - now' : ''})`);
  }
}

let failed = 0;

// One line per step; a step fails by throwing.
export async function step(name, fn) {
  try {
    await fn();
    console.log(`ok ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}: ${e?.message ?? e}`);
  }
}

export function finish() {
  printTokens();
  if (tokens.size === 0) console.log('FAIL token: the client sent no bearer token');
  process.exit(failed || tokens.size === 0 ? 1 : 0);
}

export function expect(cond, why) {
  if (!cond) throw new Error(why);
}

// The exercise, written against the operation ids of Apple's OpenAPI document, which every
// hey-api generated client keeps as its function names. `api` maps those ids to the client's
// functions, `opts` is added to every call, `validate(schemaName, body)` throws on a body that
// does not match the client's own schema of that name.
export async function exercise({ api, opts, validate }) {
  // Awaits a generated call, checks its status and validates its body (`data` on success,
  // `error` otherwise; a 204 has none).
  async function call(promise, status, schema) {
    const { data, error, response } = await promise;
    const body = error ?? data;
    expect(response?.status === status, `HTTP ${response?.status}, expected ${status}: ${JSON.stringify(body)}`);
    if (schema) validate(schema, body);
    return body;
  }

  const keyBody = (publicKey) => ({
    data: {
      type: 'alternativeDistributionKeys',
      attributes: { publicKey },
      relationships: { app: { data: { type: 'apps', id: env.appId } } },
    },
  });

  let keyId;
  let domainId;

  await step('create key', async () => {
    const body = await call(api.alternativeDistributionKeysCreateInstance({ ...opts, body: keyBody(env.publicKey) }),
      201, 'AlternativeDistributionKeyResponse');
    keyId = body.data.id;
    expect(body.data.attributes.publicKey === env.publicKey, 'publicKey differs from the PEM openssl printed');
  });
  await step('list keys', async () => {
    const body = await call(api.alternativeDistributionKeysGetCollection({ ...opts }), 200, 'AlternativeDistributionKeysResponse');
    expect(body.data.some((k) => k.id === keyId), `key ${keyId} not listed`);
  });
  await step('read key', async () => {
    const body = await call(api.alternativeDistributionKeysGetInstance({ ...opts, path: { id: keyId } }),
      200, 'AlternativeDistributionKeyResponse');
    expect(body.data.id === keyId && body.data.attributes.publicKey === env.publicKey, 'wrong key');
  });
  await step('read app key', async () => {
    const body = await call(api.appsAlternativeDistributionKeyGetToOneRelated({ ...opts, path: { id: env.appId } }),
      200, 'AlternativeDistributionKeyResponse');
    expect(body.data.id === keyId, `app key is ${body.data.id}, expected ${keyId}`);
  });
  await step('read app key relationship', async () => {
    const body = await call(api.appsAlternativeDistributionKeyGetToOneRelationship({ ...opts, path: { id: env.appId } }),
      200, 'AppAlternativeDistributionKeyLinkageResponse');
    expect(body.data.id === keyId && body.data.type === 'alternativeDistributionKeys', `linkage ${JSON.stringify(body.data)}`);
  });
  await step('list apps filter[id]', async () => {
    const body = await call(api.appsGetCollection({ ...opts, query: { 'filter[id]': [env.appId] } }), 200, 'AppsResponse');
    expect(body.data.length === 1 && body.data[0].id === env.appId, `got ${body.data.map((a) => a.id)}`);
  });
  await step('read app', async () => {
    const body = await call(api.appsGetInstance({ ...opts, path: { id: env.appId } }), 200, 'AppResponse');
    expect(body.data.attributes.bundleId === env.bundleId, `bundleId ${body.data.attributes.bundleId}`);
  });
  await step('add domain', async () => {
    const body = await call(api.alternativeDistributionDomainsCreateInstance({
      ...opts,
      body: { data: { type: 'alternativeDistributionDomains', attributes: { domain: env.domain, referenceName: 'compat' } } },
    }), 201, 'AlternativeDistributionDomainResponse');
    domainId = body.data.id;
    expect(body.data.attributes.domain === env.domain, `domain ${body.data.attributes.domain}`);
  });
  await step('list domains', async () => {
    const body = await call(api.alternativeDistributionDomainsGetCollection({ ...opts }), 200, 'AlternativeDistributionDomainsResponse');
    expect(body.data.some((d) => d.id === domainId), `domain ${domainId} not listed`);
  });
  await step('delete domain', () =>
    call(api.alternativeDistributionDomainsDeleteInstance({ ...opts, path: { id: domainId } }), 204));
  await step('second key for the app is 409', async () => {
    const body = await call(api.alternativeDistributionKeysCreateInstance({ ...opts, body: keyBody(env.publicKey2) }),
      409, 'ErrorResponse');
    expect(body.errors[0].code.startsWith('ENTITY_ERROR'), `code ${body.errors[0].code}`);
  });
  await step('delete key', () => call(api.alternativeDistributionKeysDeleteInstance({ ...opts, path: { id: keyId } }), 204));
  await step('read deleted key is 404', async () => {
    const body = await call(api.alternativeDistributionKeysGetInstance({ ...opts, path: { id: keyId } }), 404, 'ErrorResponse');
    expect(body.errors[0].code === 'NOT_FOUND', `code ${body.errors[0].code}`);
  });
  finish();
}
