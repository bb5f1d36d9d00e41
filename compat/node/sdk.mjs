// appstore-connect-sdk: generated from Apple's OpenAPI document, with zod schemas for every
// component. Its createClient takes `baseUrl` (documented "to point to a local mock server") and
// mints the token; hey-api's setConfig adds our `fetch` to see the token. Every body is checked
// with the package's own zod schema of that name (z<Name>).
import * as sdk from 'appstore-connect-sdk';
import { env, recordingFetch, exercise } from './lib.mjs';

const client = sdk.createClient({
  issuerId: env.issuerId,
  privateKeyId: env.keyId,
  privateKey: env.privateKey,
  baseUrl: env.baseUrl,
});
client.setConfig({ fetch: recordingFetch });

function validate(schema, body) {
  const result = sdk[`z${schema}`].safeParse(body);
  if (!result.success) throw new Error(`${schema}: ${result.error.message}: ${JSON.stringify(body)}`);
}

// The generated operations are plain functions named by operation id; each takes the client.
await exercise({ api: sdk, opts: { client }, validate });
