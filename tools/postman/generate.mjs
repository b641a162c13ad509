#!/usr/bin/env node
// Generates docs/postman/platform.postman_collection.json (Postman Collection
// v2.1) from openapi/openapi.json: a "Journey" folder that walks register →
// login → order → pay with test scripts, an "Administrator" folder that makes
// the product the journey buys, and a "Reference" folder with one request per
// operation.
//
//   node tools/postman/generate.mjs           write the collection
//   node tools/postman/generate.mjs --check   exit 1 if the committed one is stale
//
// No npm dependencies, and the output is a pure function of the document (no
// timestamps, ids hashed from names), so --check can compare bytes.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SPEC = 'openapi/openapi.json';
const OUT = 'docs/postman/platform.postman_collection.json';
const SCHEMA_URL = 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PASSWORD = 'correct horse battery';

// The collection's variables; the scripts fill the empty ones as the journey goes.
const VARIABLES = [
  ['baseUrl', 'http://127.0.0.1:3000', 'The platform (`cargo xtask up`).'],
  ['sandboxUrl', 'http://127.0.0.1:3900', 'The local Midtrans sandbox that `cargo xtask up` runs.'],
  ['token', '', 'Access token (15 min), set by Login.'],
  ['refreshToken', '', 'Refresh token, set by Login.'],
  ['adminToken', '', 'An administrator\'s access token: "Sign in as administrator", or paste `cargo xtask token --admin`.'],
  ['productId', '', 'Set by "List products" (or "Create a product").'],
  ['orderId', '', 'Set by "Place an order".'],
  ['gatewayOrderId', '', 'The payment\'s Midtrans order id, set by "Find the Midtrans order id".'],
  ['email', '', 'Set to a fresh address by Register\'s pre-request script.'],
  ['password', PASSWORD, 'Password for Register and Login.'],
  ['adminEmail', 'boss@example.com', 'A proven address listed in `admin_emails` (see the README).'],
  ['adminPassword', PASSWORD, 'Its password.'],
];
const VARIABLE_NAMES = new Set(VARIABLES.map(([key]) => key));

// Bodies are built as JSON; an integer that must come from a variable is a
// marked string, unquoted after stringifying (`"product_id": {{productId}}`).
const UNQUOTED = '__unquoted__';
const unquoted = (variable) => `${UNQUOTED}{{${variable}}}`;

function main() {
  try {
    run(process.argv.includes('--check'));
  } catch (error) {
    // A contract the Journey relies on changed: say which, without a stack.
    console.error(`tools/postman/generate.mjs: ${error.message}`);
    process.exit(2);
  }
}

function run(check) {
  const doc = JSON.parse(readFileSync(join(ROOT, SPEC), 'utf8'));
  const text = `${JSON.stringify(collection(doc), null, 2)}\n`;
  if (check) {
    checkCurrent(text);
  } else {
    mkdirSync(dirname(join(ROOT, OUT)), { recursive: true });
    writeFileSync(join(ROOT, OUT), text);
    console.log(`wrote ${OUT} (${operations(doc).length} operations)`);
  }
}

function checkCurrent(text) {
  let committed = null;
  try {
    committed = readFileSync(join(ROOT, OUT), 'utf8');
  } catch {
    // missing counts as stale
  }
  if (committed !== text) {
    console.error(`${OUT} is stale: run node tools/postman/generate.mjs`);
    process.exit(1);
  }
  console.log(`${OUT} is current`);
}

// ---------------------------------------------------------------- collection

function collection(doc) {
  return {
    info: {
      _postman_id: uuidFrom(`collection ${doc.info.title}`),
      name: doc.info.title,
      description: `${doc.info.description ?? ''}\n\nGenerated from ${SPEC} (version ${doc.info.version}) by tools/postman/generate.mjs: do not edit by hand. See docs/postman/README.md.`.trim(),
      schema: SCHEMA_URL,
    },
    item: [journeyFolder(doc), adminFolder(doc), referenceFolder(doc)],
    variable: VARIABLES.map(([key, value, description]) => ({ key, value, type: 'string', description })),
  };
}

// A v4-shaped UUID from a SHA-256 of the name: stable across runs.
function uuidFrom(name) {
  const hex = createHash('sha256').update(`platform-postman:${name}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function folder(name, description, items) {
  return { name, description, item: items };
}

function item(id, name, request, events = []) {
  const it = { id: uuidFrom(id), name };
  if (events.length) it.event = events;
  it.request = request;
  it.response = [];
  return it;
}

// ------------------------------------------------------------ the document

// Follows local "$ref"s ("#/components/…") until a node without one.
function deref(doc, node) {
  let seen = 0;
  while (node && typeof node.$ref === 'string') {
    if (!node.$ref.startsWith('#/') || ++seen > 32) throw new Error(`cannot follow $ref ${node.$ref}`);
    node = node.$ref.slice(2).split('/')
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((at, key) => at?.[key], doc);
  }
  return node;
}

// Every operation in document order, with its path-level parameters merged in.
function operations(doc) {
  const ops = [];
  for (const [path, pathItem] of Object.entries(doc.paths ?? {})) {
    for (const method of Object.keys(pathItem).filter((k) => METHODS.includes(k))) {
      const op = pathItem[method];
      ops.push({ path, method, op, parameters: parameters(doc, pathItem, op) });
    }
  }
  return ops;
}

// An operation's parameter overrides the path's of the same name and place.
function parameters(doc, pathItem, op) {
  const byKey = new Map();
  for (const p of [...(pathItem.parameters ?? []), ...(op.parameters ?? [])]) {
    const param = deref(doc, p);
    byKey.set(`${param.in}:${param.name}`, param);
  }
  return [...byKey.values()];
}

function findOperation(doc, operationId) {
  const found = operations(doc).find(({ op }) => op.operationId === operationId);
  if (!found) throw new Error(`${SPEC} has no operation ${operationId}: the Journey needs it`);
  return found;
}

// ---------------------------------------------------------------- auth

// 'none', 'user' or 'admin'. Bearer comes from the operation's `security`
// (else the document's) naming an http/bearer scheme. The document says
// "Administrators only." in the description of admin operations; OpenAPI 3.1's
// role list (`{"bearerAuth": ["admin"]}`) is honoured too, should it be used.
function authOf(doc, op) {
  const schemes = doc.components?.securitySchemes ?? {};
  const isBearer = (name) => {
    const scheme = deref(doc, schemes[name]);
    return scheme?.type === 'http' && scheme.scheme?.toLowerCase() === 'bearer';
  };
  const requirements = op.security ?? doc.security ?? [];
  const bearer = requirements.flatMap((req) => Object.entries(req)).filter(([name]) => isBearer(name));
  if (!bearer.length) return 'none';
  const adminRole = bearer.some(([, roles]) => Array.isArray(roles) && roles.includes('admin'));
  return adminRole || /\badministrators? only\b/i.test(op.description ?? '') ? 'admin' : 'user';
}

// ---------------------------------------------------------------- samples

// The collection variable an id is taken from: `order_id` → orderId, and a
// bare `id` after `/product/` → productId. Only integers: the platform's ids
// are integers, and a string `order_id` (Midtrans's) is another thing.
function idVariable(name, type, pathBefore = '') {
  if (type !== 'integer') return null;
  const camel = name.replace(/_(\w)/g, (_, c) => c.toUpperCase());
  const candidate = name === 'id' ? `${pathBefore.split('/').filter(Boolean).pop() ?? ''}Id` : camel;
  return /Id$/.test(candidate) && VARIABLE_NAMES.has(candidate) ? candidate : null;
}

// A value for a schema: its example, const, default or first enum value, else
// one made up from its type and format (objects and arrays recursively).
function sample(doc, schemaOrRef, name = '', depth = 0) {
  const schema = deref(doc, schemaOrRef) ?? {};
  if (depth > 8) return null;
  if ('example' in schema) return schema.example;
  if (schema.examples?.length) return schema.examples[0];
  if ('const' in schema) return schema.const;
  if ('default' in schema) return schema.default;
  if (schema.enum?.length) return schema.enum[0];
  const variant = schema.allOf?.[0] ?? schema.oneOf?.[0] ?? schema.anyOf?.[0];
  if (variant) return sample(doc, variant, name, depth + 1);
  const type = [].concat(schema.type ?? (schema.properties ? 'object' : 'string')).find((t) => t !== 'null');
  const variable = idVariable(name, type);
  if (variable) return unquoted(variable);
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(schema.properties ?? {})
        .map(([key, sub]) => [key, sample(doc, sub, key, depth + 1)]));
    case 'array':
      return [sample(doc, schema.items, name, depth + 1)];
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    default:
      return stringSample(schema.format);
  }
}

function stringSample(format) {
  const byFormat = {
    'date-time': '2024-05-01T08:30:00Z',
    date: '2024-05-01',
    email: 'budi@example.com',
    uri: 'https://example.com',
    url: 'https://example.com',
    uuid: '00000000-0000-4000-8000-000000000000',
  };
  return byFormat[format] ?? 'string';
}

// A parameter's value: the id variable if it names one, else its example.
function parameterValue(doc, param, path) {
  const before = path.slice(0, path.indexOf(`{${param.name}}`));
  const variable = param.in === 'path' ? idVariable(param.name, deref(doc, param.schema)?.type, before) : null;
  if (variable) return `{{${variable}}}`;
  if (/^idempotency-key$/i.test(param.name)) return '{{$guid}}'; // a fresh key per attempt
  if ('example' in param) return String(param.example);
  const first = Object.values(param.examples ?? {})[0];
  if (first) return String(deref(doc, first).value);
  return String(sample(doc, param.schema, param.name));
}

function jsonText(value) {
  return JSON.stringify(value, null, 2).replace(new RegExp(`"${UNQUOTED}(\\{\\{\\w+\\}\\})"`, 'g'), '$1');
}

// ---------------------------------------------------------------- requests

// A Postman request for an operation. `over` replaces parts for the Journey:
// body (a value), token (a variable name), headers (extra [key, value] pairs).
function request(doc, operation, over = {}) {
  const { path, method, op, parameters: params } = operation;
  const jsonBody = deref(doc, op.requestBody)?.content?.['application/json'];
  const req = { method: method.toUpperCase(), header: headers(doc, operation, over, Boolean(jsonBody)) };
  if (jsonBody) req.body = rawJson(over.body ?? bodyExample(doc, jsonBody));
  req.url = url(doc, path, params);
  if (op.description) req.description = op.description;
  return req;
}

// Content type for a body, the bearer token the operation needs (an
// administrator's for admin operations), then the document's header
// parameters (optional ones disabled).
function headers(doc, { path, op, parameters: params }, over, hasBody) {
  const auth = authOf(doc, op);
  const token = over.token ?? (auth === 'admin' ? 'adminToken' : 'token');
  const list = [];
  if (hasBody) list.push({ key: 'Content-Type', value: 'application/json' });
  if (auth !== 'none') {
    list.push({ key: 'Authorization', value: `Bearer {{${token}}}`, description: auth === 'admin' ? 'Administrators only.' : 'Bearer token from Login.' });
  }
  for (const p of params.filter((p) => p.in === 'header')) {
    list.push(withDescription({ key: p.name, value: parameterValue(doc, p, path), disabled: !p.required || undefined }, p.description));
  }
  for (const [key, value] of over.headers ?? []) setHeader(list, key, value);
  return list;
}

// Sets a header, enabled, in place of the document's of the same name.
function setHeader(list, key, value) {
  const at = list.findIndex((h) => h.key.toLowerCase() === key.toLowerCase());
  const entry = { ...(at >= 0 ? list[at] : { key }), value };
  delete entry.disabled;
  if (at >= 0) list[at] = entry;
  else list.push(entry);
}

function bodyExample(doc, media) {
  if ('example' in media) return media.example;
  const first = Object.values(media.examples ?? {})[0];
  if (first) return deref(doc, first).value;
  return sample(doc, media.schema);
}

function rawJson(value) {
  return { mode: 'raw', raw: jsonText(value), options: { raw: { language: 'json' } } };
}

// `{{baseUrl}}/order/:id?…`: path parameters become Postman path variables;
// optional query parameters are listed disabled, to tick when wanted.
function url(doc, path, params) {
  const segments = path.split('/').filter(Boolean).map((s) => s.replace(/^\{(.+)\}$/, ':$1'));
  const query = params.filter((p) => p.in === 'query').map((p) =>
    withDescription({ key: p.name, value: parameterValue(doc, p, path), disabled: !p.required || undefined }, p.description));
  const variable = params.filter((p) => p.in === 'path').map((p) =>
    withDescription({ key: p.name, value: parameterValue(doc, p, path) }, p.description));
  const enabled = query.filter((q) => !q.disabled).map((q) => `${q.key}=${q.value}`);
  const u = { raw: `{{baseUrl}}/${segments.join('/')}${enabled.length ? `?${enabled.join('&')}` : ''}`, host: ['{{baseUrl}}'], path: segments };
  if (query.length) u.query = query;
  if (variable.length) u.variable = variable;
  return u;
}

function withDescription(entry, description) {
  const out = Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined));
  if (description) out.description = description;
  return out;
}

// ---------------------------------------------------------------- Reference

// One request per operation, in sub-folders by first tag (the document's tag
// order, then any other tag as first met).
function referenceFolder(doc) {
  const ops = operations(doc);
  const tagOf = ({ op }) => op.tags?.[0] ?? 'other';
  const names = [...new Set([...(doc.tags ?? []).map((t) => t.name), ...ops.map(tagOf)])];
  const folders = names
    .map((tag) => {
      const items = ops.filter((o) => tagOf(o) === tag).map((o) =>
        item(`reference ${o.method} ${o.path}`, o.op.summary ?? o.op.operationId ?? `${o.method.toUpperCase()} ${o.path}`, request(doc, o)));
      return folder(tag, doc.tags?.find((t) => t.name === tag)?.description ?? '', items);
    })
    .filter((f) => f.item.length);
  return folder('Reference', `Every operation of ${SPEC}, one request each, with the document's examples. Ids come from the collection variables the Journey sets; operations for administrators send {{adminToken}}.`, folders);
}

// ---------------------------------------------------------------- contract checks

// The Journey's scripts read fields of replies and send bodies of its own:
// both are checked against the document here, so a contract change that
// breaks them fails generation (and --check) instead of a run.
function responseSchema(doc, operationId, status) {
  const { op } = findOperation(doc, operationId);
  const schema = deref(doc, op.responses?.[status])?.content?.['application/json']?.schema;
  if (!schema) throw new Error(`${SPEC}: ${operationId} has no JSON ${status} reply`);
  return schema;
}

// `fields` walks properties; '[]' steps into an array's items.
function expectField(doc, operationId, status, fields) {
  let schema = deref(doc, responseSchema(doc, operationId, status));
  for (const field of fields) {
    schema = deref(doc, field === '[]' ? schema?.items : schema?.properties?.[field]);
    if (!schema) throw new Error(`${SPEC}: ${operationId}'s ${status} reply has no ${fields.join('.')}; update tools/postman/generate.mjs`);
  }
  return schema;
}

function expectBodyFits(doc, operationId, body) {
  const { op } = findOperation(doc, operationId);
  const schema = deref(doc, op.requestBody)?.content?.['application/json']?.schema;
  const problem = bodyProblem(doc, schema, body, 'body');
  if (problem) throw new Error(`${SPEC}: the Journey's ${operationId} ${problem}; update tools/postman/generate.mjs`);
}

function bodyProblem(doc, schemaOrRef, value, at) {
  const schema = deref(doc, schemaOrRef);
  if (!schema) return `sends ${at}, which the document does not describe`;
  if (Array.isArray(value)) {
    return value.map((v, i) => bodyProblem(doc, schema.items, v, `${at}[${i}]`)).find(Boolean) ?? null;
  }
  if (value === null || typeof value !== 'object') return null;
  const missing = (schema.required ?? []).find((key) => !(key in value));
  if (missing) return `lacks ${at}.${missing}, which is required`;
  return Object.entries(value)
    .map(([key, v]) => (schema.properties?.[key] ? bodyProblem(doc, schema.properties[key], v, `${at}.${key}`) : `sends ${at}.${key}, which the document does not describe`))
    .find(Boolean) ?? null;
}

// ---------------------------------------------------------------- Journey

const script = (listen, lines) => ({ listen, script: { type: 'text/javascript', exec: lines } });

const expectStatus = (code, what) => `pm.test('${what} (${code})', () => pm.response.to.have.status(${code}));`;

// A Journey step: an operation by operationId, with a body (checked against
// the document) and the test lines that pass values on to the next steps.
function step(doc, name, operationId, { body, token, headers, tests = [], prerequest = [], description }) {
  const operation = findOperation(doc, operationId);
  if (body !== undefined) expectBodyFits(doc, operationId, body);
  const req = request(doc, operation, { body, token, headers });
  if (description) req.description = description;
  const events = [];
  if (prerequest.length) events.push(script('prerequest', prerequest));
  if (tests.length) events.push(script('test', tests));
  return item(`step ${name}`, name, req, events);
}

function journeyFolder(doc) {
  // The reply fields the scripts read, checked against the document.
  expectField(doc, 'login', '200', ['token']);
  expectField(doc, 'login', '200', ['refresh_token']);
  expectField(doc, 'listProducts', '200', ['products', '[]', 'id']);
  expectField(doc, 'listProducts', '200', ['products', '[]', 'stock']);
  expectField(doc, 'createOrder', '201', ['order', 'id']);
  expectField(doc, 'initiatePayment', '200', ['gateway_redirect_url']);
  expectField(doc, 'getPaymentForOrder', '200', ['payment', 'gateway_order_id']);
  const status = expectField(doc, 'getOrder', '200', ['order', 'status']);
  for (const s of ['pending', 'paid']) {
    if (!status.enum?.includes(s)) throw new Error(`${SPEC}: an order's status can no longer be ${s}; update tools/postman/generate.mjs`);
  }
  const items = [
    step(doc, 'Register', 'register', {
      body: { full_name: 'Ayu', email: '{{email}}', password: '{{password}}' },
      prerequest: [
        '// A fresh address each run: registering one twice is a 409.',
        "pm.collectionVariables.set('email', `shopper-${Date.now()}@example.com`);",
      ],
      tests: [expectStatus(201, 'account created')],
      description: 'Creates a customer with a fresh address ({{email}}, set by the pre-request script) and {{password}}. To use an account you have, set email and password and start at Login.',
    }),
    step(doc, 'Login', 'login', {
      body: { email: '{{email}}', password: '{{password}}' },
      tests: [
        expectStatus(200, 'signed in'),
        'const session = pm.response.json();',
        "pm.test('the reply carries both tokens', () => {",
        "  pm.expect(session.token).to.be.a('string');",
        "  pm.expect(session.refresh_token).to.be.a('string');",
        '});',
        "pm.collectionVariables.set('token', session.token);",
        "pm.collectionVariables.set('refreshToken', session.refresh_token);",
      ],
      description: 'Saves the access token (15 minutes) in {{token}} and the refresh token in {{refreshToken}}.',
    }),
    step(doc, 'List products', 'listProducts', {
      tests: [
        expectStatus(200, 'catalog listed'),
        'const product = pm.response.json().products.find((p) => p.stock > 0);',
        "pm.test('a product in stock exists (if not, an administrator must create one: see the Administrator folder)', () => {",
        "  pm.expect(product, 'no product in stock on the first page').to.be.an('object');",
        '});',
        "if (product) pm.collectionVariables.set('productId', String(product.id));",
      ],
      description: 'Saves the first product in stock in {{productId}}. An empty catalog fails here: an administrator creates products first (the Administrator folder).',
    }),
    step(doc, 'Place an order', 'createOrder', {
      body: { items: [{ product_id: unquoted('productId'), quantity: 1 }] },
      headers: [['Idempotency-Key', '{{$guid}}']],
      tests: [
        expectStatus(201, 'order placed'),
        'const order = pm.response.json().order;',
        "pm.test('the order is pending', () => pm.expect(order.status).to.eql('pending'));",
        "pm.collectionVariables.set('orderId', String(order.id));",
      ],
      description: 'One unit of {{productId}}; a fresh Idempotency-Key each send. Saves the order id in {{orderId}}.',
    }),
    step(doc, 'Initiate payment', 'initiatePayment', {
      body: { order_id: unquoted('orderId'), customer_name: 'Ayu', customer_email: '{{email}}' },
      tests: [
        expectStatus(200, 'Snap transaction created'),
        "pm.test('a payment page to open', () => pm.expect(pm.response.json().gateway_redirect_url).to.be.a('string'));",
      ],
      description: 'Creates the Snap transaction. Open gateway_redirect_url in a browser and press Pay, or let the next two requests pay from here. The reply does not name the Midtrans order id: the next request reads it.',
    }),
    step(doc, 'Find the Midtrans order id', 'getPaymentForOrder', {
      tests: [
        expectStatus(200, 'payment found'),
        'const payment = pm.response.json().payment;',
        "pm.test('it names its Midtrans order id', () => pm.expect(payment.gateway_order_id).to.be.a('string').and.not.empty);",
        "pm.collectionVariables.set('gatewayOrderId', payment.gateway_order_id);",
      ],
      description: 'Saves payment.gateway_order_id, the id Midtrans (here, the sandbox) knows the transaction by, in {{gatewayOrderId}}.',
    }),
    sandboxPay(),
    step(doc, 'Order is paid', 'getOrder', {
      tests: [
        expectStatus(200, 'order read'),
        'const status = pm.response.json().order.status;',
        "pm.test('the order is paid, or pending while the saga settles it', () => pm.expect(status).to.be.oneOf(['paid', 'pending']));",
        "if (status === 'pending') console.log(`Order ${pm.collectionVariables.get('orderId')} is still pending: the saga settles it within a second; send this request again.`);",
      ],
      description: 'The notification marks the payment paid at once; the order follows through the saga (payment.updated → payment-updated-worker), within a second. A run cannot poll, so this accepts paid or pending: if it says pending, send it again and it says paid.',
    }),
  ];
  return folder('Journey', 'Register → login → order → pay, as in the README\'s quick start. Run the folder in order (Collection Runner, or `newman run … --folder Journey`) against `cargo xtask up`; each step saves what the next one needs in the collection variables. Needs a product in stock: see the Administrator folder.', items);
}

// The sandbox is not part of the platform's document: this request follows
// tools/midtrans-sandbox (`POST /simulate/{order_id}`) and the README.
function sandboxPay() {
  const req = {
    method: 'POST',
    header: [{ key: 'Content-Type', value: 'application/json' }],
    body: rawJson({ transaction_status: 'settlement', fraud_status: 'accept' }),
    url: { raw: '{{sandboxUrl}}/simulate/{{gatewayOrderId}}', host: ['{{sandboxUrl}}'], path: ['simulate', '{{gatewayOrderId}}'] },
    description: 'What the sandbox payment page\'s Pay button does: the local Midtrans settles the transaction and sends the platform its signed notification (POST /payment/webhook). Only with the local sandbox ({{sandboxUrl}}), never real Midtrans.',
  };
  const tests = [
    expectStatus(200, 'the sandbox settled the transaction'),
    "pm.test('the platform accepted the notification', () => pm.expect(pm.response.json().webhook_status).to.eql(200));",
  ];
  return item('step Pay in the sandbox', 'Pay in the sandbox', req, [script('test', tests)]);
}

// ---------------------------------------------------------------- Administrator

function adminFolder(doc) {
  const { op } = findOperation(doc, 'createProduct');
  const product = bodyExample(doc, deref(doc, op.requestBody).content['application/json']);
  expectField(doc, 'login', '200', ['user', 'role']);
  expectField(doc, 'createProduct', '201', ['product', 'id']);
  const items = [
    step(doc, 'Sign in as administrator', 'login', {
      body: { email: '{{adminEmail}}', password: '{{adminPassword}}' },
      tests: [
        expectStatus(200, 'signed in'),
        'const session = pm.response.json();',
        "pm.test('the account is an administrator', () => pm.expect(session.user.role).to.eql('admin'));",
        "pm.collectionVariables.set('adminToken', session.token);",
      ],
      description: 'Saves an administrator\'s access token in {{adminToken}}. {{adminEmail}} must be listed in `admin_emails` and proven (README: "An administrator is …"), or made one with `cargo xtask admin <email>`. Without an account: paste `cargo xtask token --admin` into adminToken.',
    }),
    step(doc, 'Create a product', 'createProduct', {
      body: product,
      token: 'adminToken',
      tests: [
        expectStatus(201, 'product created'),
        "pm.collectionVariables.set('productId', String(pm.response.json().product.id));",
      ],
      description: 'Creates a product the Journey can buy and saves its id in {{productId}}.',
    }),
  ];
  return folder('Administrator', 'Once per database: an administrator signs in and creates a product, so the Journey has something to buy.', items);
}

main();
