// @rage-against-the-pixel/app-store-connect-api: generated from Apple's OpenAPI document 4.4.1.
// Its AppStoreConnectClient mints the token; every call takes hey-api's per-request options, of
// which we use `baseUrl` (to reach altdist) and `fetch` (to see the token). Every body is
// validated with the JSON schemas the package ships (schemas.gen), compiled by ajv.
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import * as asc from '@rage-against-the-pixel/app-store-connect-api';
import { env, recordingFetch, exercise } from './lib.mjs';

const client = new asc.AppStoreConnectClient({
  issuerId: env.issuerId,
  privateKeyId: env.keyId,
  privateKey: env.privateKey,
});
const opts = { baseUrl: env.baseUrl, fetch: recordingFetch };

// The generated operations are static methods of one class per resource.
const api = {};
for (const group of [client.api.AlternativeDistributionKeys, client.api.AlternativeDistributionDomains, client.api.Apps]) {
  for (const name of Object.getOwnPropertyNames(group)) {
    if (typeof group[name] === 'function') api[name] = group[name].bind(group);
  }
}

// The package exports each component schema as `<Name>Schema`, with $refs of the form
// '#/components/schemas/<Name>': put them back into one document so the refs resolve.
const schemas = Object.fromEntries(Object.entries(asc)
  .filter(([name, value]) => name.endsWith('Schema') && typeof value === 'object')
  .map(([name, value]) => [name.slice(0, -'Schema'.length), value]));
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ components: { schemas } }, 'asc');

function validate(schema, body) {
  const check = ajv.getSchema(`asc#/components/schemas/${schema}`);
  if (!check(body)) throw new Error(`${schema}: ${ajv.errorsText(check.errors)}: ${JSON.stringify(body)}`);
}

await exercise({ api, opts, validate });
