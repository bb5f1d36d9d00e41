#!/usr/bin/env node
// Adds operations of Apple's App Store Connect OpenAPI document to the repository's slice of it
// (crates/altdist-server/openapi/app-store-connect-subset.openapi.json), taken from a generated
// SDK of that document: the npm package appstore-connect-sdk ships every schema unchanged as a
// JS object, and for every operation its URL, method, parameters (with their descriptions,
// enums and limits) and responses.
//
// Usage: npm pack appstore-connect-sdk@2.0.0 && tar xzf appstore-connect-sdk-2.0.0.tgz
//        for doc in crates/altdist-server/openapi/*.openapi.json; do
//          node scripts/openapi-slice.mjs package/ "$doc" packages webhooks
//        done
// Operations already in the document are left as they are; new ones are added with the schemas
// they reference. (JSON.stringify writes numeric keys first, so response codes come out sorted.)
//
// The few trims it makes (the resources altdist does not serve) are listed in TRIM below and in
// the document's info.description.
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

// The operations altdist serves, by the SDK's function name (Apple's operationId in camel case).
const GROUPS = {
  packages: [
    "appsAppStoreVersionsGetToManyRelated",
    "appStoreVersionsGetInstance",
    "appStoreVersionsAlternativeDistributionPackageGetToOneRelated",
    "appStoreVersionsAlternativeDistributionPackageGetToOneRelationship",
    "alternativeDistributionPackagesCreateInstance",
    "alternativeDistributionPackagesGetInstance",
    "alternativeDistributionPackagesVersionsGetToManyRelated",
    "alternativeDistributionPackagesVersionsGetToManyRelationship",
    "alternativeDistributionPackageVersionsGetInstance",
    "alternativeDistributionPackageVersionsVariantsGetToManyRelated",
    "alternativeDistributionPackageVersionsVariantsGetToManyRelationship",
    "alternativeDistributionPackageVersionsDeltasGetToManyRelated",
    "alternativeDistributionPackageVersionsDeltasGetToManyRelationship",
    "alternativeDistributionPackageVariantsGetInstance",
    "alternativeDistributionPackageDeltasGetInstance",
  ],
  webhooks: [
    "webhooksCreateInstance",
    "webhooksGetInstance",
    "webhooksUpdateInstance",
    "webhooksDeleteInstance",
    "appsWebhooksGetToManyRelated",
    "appsWebhooksGetToManyRelationship",
    "webhooksDeliveriesGetToManyRelated",
    "webhooksDeliveriesGetToManyRelationship",
    "webhookDeliveriesCreateInstance",
    "webhookPingsCreateInstance",
  ],
};

const [sdkDir, docPath, ...groups] = process.argv.slice(2);
if (!sdkDir || !docPath || !groups.length || groups.some((g) => !GROUPS[g])) {
  console.error(
    `usage: openapi-slice.mjs SDK_PACKAGE_DIR OPENAPI_JSON GROUP... (groups: ${Object.keys(GROUPS).join(", ")})`,
  );
  process.exit(2);
}
const OPERATIONS = groups.flatMap((g) => GROUPS[g]);

// App Store versions carry dozens of attributes and relationships for the App Store's own
// pages; altdist serves the ones a package flow reads, as the slice already does for apps.
const TRIM = {
  schemaAttributes: {
    AppStoreVersion: ["platform", "versionString", "appStoreState", "appVersionState", "createdDate"],
  },
  schemaRelationships: {
    AppStoreVersion: ["app", "alternativeDistributionPackage"],
  },
  // Operations whose `include` and unrelated `fields[...]`/`limit[...]` are left out.
  appStoreVersionOperations: ["appsAppStoreVersionsGetToManyRelated", "appStoreVersionsGetInstance"],
  appStoreVersionFilters: [
    "filter[platform]",
    "filter[versionString]",
    "filter[appStoreState]",
    "filter[appVersionState]",
    "filter[id]",
  ],
};

const sdk = await import(pathToFileURL(resolve(join(sdkDir, "dist/openapi/index.js"))).href);
const indexJs = readFileSync(join(sdkDir, "dist/openapi/index.js"), "utf8");
const typesTs = readFileSync(join(sdkDir, "dist/types/openapi/types.gen.d.ts"), "utf8");
const doc = JSON.parse(readFileSync(docPath, "utf8"));

const ucfirst = (s) => s[0].toUpperCase() + s.slice(1);
const lcfirst = (s) => s[0].toLowerCase() + s.slice(1);

function methodAndUrl(name) {
  const re = new RegExp(
    `var ${name} = \\(options\\) => \\(options\\.client \\?\\? client\\)\\.(get|post|patch|delete)\\(\\{[\\s\\S]*?\\n  url: "([^"]+)"`,
  );
  const m = indexJs.match(re);
  if (!m) throw new Error(`no operation ${name} in the SDK`);
  return { method: m[1], url: m[2] };
}

// Apple's operationId: resource_relationship_action, e.g. apps_appStoreVersions_getToManyRelated.
function operationId(name, url) {
  const segments = url.split("/").slice(2);
  const resource = segments[0];
  const last = segments[segments.length - 1];
  const relationship = last !== "{id}" && last !== resource ? last : null;
  const prefix = resource + (relationship ? ucfirst(relationship) : "");
  if (!name.startsWith(prefix)) throw new Error(`cannot split ${name} at ${prefix}`);
  const action = lcfirst(name.slice(prefix.length));
  return relationship ? `${resource}_${relationship}_${action}` : `${resource}_${action}`;
}

// A `export type NAME = { ... };` block of types.gen.d.ts, by brace matching.
function typeBlock(typeName) {
  const start = typesTs.indexOf(`export type ${typeName} = {`);
  if (start < 0) return null;
  let depth = 0;
  for (let i = typesTs.indexOf("{", start); i < typesTs.length; i++) {
    if (typesTs[i] === "{") depth++;
    else if (typesTs[i] === "}" && --depth === 0) return typesTs.slice(start, i + 1);
  }
  throw new Error(`unterminated type ${typeName}`);
}

// `/** doc */ 'name'?: T;` members of a block, with their descriptions.
function documentedMembers(block) {
  const members = [];
  const re = /\/\*\*\s*\n((?:\s*\*.*\n)+?)\s*\*\/\s*\n\s*('?[^':?\s]+'?)(\??):/g;
  let m;
  while ((m = re.exec(block))) {
    const description = m[1]
      .split("\n")
      .map((l) => l.replace(/^\s*\*\s?/, "").trim())
      .filter(Boolean)
      .join(" ");
    members.push({ name: m[2].replace(/'/g, ""), optional: m[3] === "?", description });
  }
  return members;
}

function section(block, key) {
  const start = block.search(new RegExp(`\\n\\s{4}${key.replace("?", "\\?")}:? ?\\{`));
  if (start < 0) return "";
  let depth = 0;
  for (let i = block.indexOf("{", start); i < block.length; i++) {
    if (block[i] === "{") depth++;
    else if (block[i] === "}" && --depth === 0) return block.slice(start, i + 1);
  }
  return "";
}

// The JSON schema of a zod query parameter, as Apple's document writes it.
function parameterSchema(zodType) {
  let t = zodType;
  while (t.def.type === "optional") t = t.def.innerType;
  switch (t.def.type) {
    case "array": {
      const item = t.def.element;
      if (item.def.type === "enum")
        return { type: "array", items: { type: "string", enum: Object.values(item.def.entries) } };
      return { type: "array", items: { type: "string" } };
    }
    case "number": {
      const schema = { type: "integer" };
      for (const check of t.def.checks ?? []) {
        const c = check._zod?.def ?? check.def ?? check;
        if (c.check === "less_than") schema.maximum = Number(c.value);
      }
      return schema;
    }
    case "boolean":
      return { type: "boolean" };
    case "string":
      return { type: "string" };
    case "enum":
      return { type: "string", enum: Object.values(t.def.entries) };
    default:
      throw new Error(`unhandled zod type ${t.def.type}`);
  }
}

function responses(pascal) {
  const out = {};
  for (const suffix of ["Errors", "Responses"]) {
    const block = typeBlock(pascal + suffix);
    if (!block) continue;
    const re = /\/\*\*\s*\n\s*\*\s*(.+?)\n\s*\*\/\s*\n\s*(\d{3}): (\w+);/g;
    let m;
    while ((m = re.exec(block))) {
      const [, description, status, schema] = m;
      out[status] =
        schema === "void" || schema === "unknown"
          ? { description }
          : { description, content: { "application/json": { schema: { $ref: `#/components/schemas/${schema}` } } } };
    }
  }
  return out;
}

const neededSchemas = new Set();
for (const name of OPERATIONS) {
  const { method, url } = methodAndUrl(name);
  if (doc.paths[url]?.[method]) continue;
  const pascal = ucfirst(name);
  const data = typeBlock(pascal + "Data");
  const zod = sdk[`z${pascal}Data`];
  const operation = { tags: [ucfirst(url.split("/")[2])], operationId: operationId(name, url) };

  const query = section(data, "query?") || section(data, "query");
  const zodQuery = zod.shape.query ? (zod.shape.query.def.innerType ?? zod.shape.query).shape : {};
  const parameters = [];
  for (const member of documentedMembers(query)) {
    if (TRIM.appStoreVersionOperations.includes(name)) {
      const keep =
        member.name === "limit" ||
        member.name === "fields[appStoreVersions]" ||
        TRIM.appStoreVersionFilters.includes(member.name);
      if (!keep) continue;
    }
    const schema = parameterSchema(zodQuery[member.name]);
    if (member.name === "fields[appStoreVersions]") {
      const kept = [...TRIM.schemaAttributes.AppStoreVersion, ...TRIM.schemaRelationships.AppStoreVersion];
      schema.items.enum = schema.items.enum.filter((field) => kept.includes(field));
    }
    if (schema.type === "integer" && member.name.startsWith("limit")) schema.minimum = 1;
    const parameter = { name: member.name, in: "query", description: member.description, schema, style: "form" };
    if (schema.type === "array") parameter.explode = false;
    if (!member.name.startsWith("limit")) parameter.required = !member.optional;
    parameters.push(parameter);
  }
  if (parameters.length) operation.parameters = parameters;

  const body = data.match(/\n\s{4}body: (\w+);/);
  if (body) {
    const resource = body[1].replace(/(Create|Update)Request$/, "");
    operation.requestBody = {
      description: `${resource} representation`,
      content: { "application/json": { schema: { $ref: `#/components/schemas/${body[1]}` } } },
      required: true,
    };
    neededSchemas.add(body[1]);
  }
  operation.responses = responses(pascal);
  for (const r of Object.values(operation.responses)) {
    const ref = r.content?.["application/json"].schema.$ref;
    if (ref) neededSchemas.add(ref.split("/").pop());
  }

  const item = (doc.paths[url] ??= {});
  item[method] = operation;
  if (url.includes("{id}") && !item.parameters) {
    item.parameters = [
      {
        name: "id",
        in: "path",
        description: "the id of the requested resource",
        schema: { type: "string" },
        style: "simple",
        required: true,
      },
    ];
  }
}

function trimmed(name, schema) {
  const copy = structuredClone(schema);
  const attributes = TRIM.schemaAttributes[name];
  const relationships = TRIM.schemaRelationships[name];
  const target = copy.properties?.data?.properties ?? copy.properties;
  if (attributes && target.attributes) {
    for (const key of Object.keys(target.attributes.properties))
      if (!attributes.includes(key)) delete target.attributes.properties[key];
  }
  if (relationships && target.relationships) {
    for (const key of Object.keys(target.relationships.properties))
      if (!relationships.includes(key)) delete target.relationships.properties[key];
  }
  // Documents about App Store versions include nothing: altdist serves no `include` for them.
  if (/^AppStoreVersions?Response$/.test(name)) delete copy.properties.included;
  return copy;
}

function collect(name) {
  if (doc.components.schemas[name]) return;
  const schema = sdk[`${name}Schema`];
  if (!schema) throw new Error(`no schema ${name} in the SDK`);
  const result = trimmed(name, schema);
  doc.components.schemas[name] = result;
  const refs = JSON.stringify(result).match(/#\/components\/schemas\/\w+/g) ?? [];
  for (const ref of refs) {
    const dep = ref.split("/").pop();
    if (!doc.components.schemas[dep]) collect(dep);
  }
}
for (const name of neededSchemas) collect(name);

const indent = readFileSync(docPath, "utf8").match(/^\{\n( +)"/)[1].length;
writeFileSync(docPath, JSON.stringify(doc, null, indent) + "\n");
console.log(`${OPERATIONS.length} operations, ${Object.keys(doc.components.schemas).length} schemas in ${docPath}`);
