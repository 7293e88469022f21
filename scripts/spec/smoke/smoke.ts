// The smoke scenario, through the TypeScript clients @hey-api/openapi-ts made
// from the specs, against a running `ccs serve`.
//
//   node smoke.js BASE_URL ECHO_URL
//
// scripts/spec/spec-smoke copies this file beside the generated clients (gen/NAME)
// and compiles it with tsc. The scenario uses the emulator as a test double
// the way a test suite would: it resets it first, injects a 429 that the v1
// read retries after its Retry-After, and asserts on the journal of what was
// sent. `connectorFlow` then runs the whole connector flow with the hosts the
// Domain API names. `webhookFlow` last hears the answer: ECHO_URL is a second
// `ccs serve`, started with `--agent echo` and the app credentials
// `smoke-client-id` / `smoke-client-secret`; a webhook receiver on node:http is
// registered there, a consumer text goes in through the connector flow, and
// the echo agent's reply comes back as a webhook whose signature is checked
// with node:crypto (createHmac, timingSafeEqual) and whose body is read
// through the types generated from openapi/connector-webhooks.yaml. Each step
// prints one line; any answer that differs from the one expected is a
// `MISMATCH` line, and the exit code is 1.
import * as v1 from './gen/ccs-v1';
import { createClient as createV1Client, createConfig as createV1Config } from './gen/ccs-v1/client';
import * as v2 from './gen/ccs-v2';
import { createClient as createV2Client, createConfig as createV2Config } from './gen/ccs-v2/client';
import * as admin from './gen/emulator-admin';
import { createClient as createAdminClient, createConfig as createAdminConfig } from './gen/emulator-admin/client';
import * as messaging from './gen/messaging';
import { createClient as createMessagingClient, createConfig as createMessagingConfig } from './gen/messaging/client';
import * as domain from './gen/domain';
import { createClient as createDomainClient, createConfig as createDomainConfig } from './gen/domain/client';
import * as auth from './gen/connector-auth';
import { createClient as createAuthClient, createConfig as createAuthConfig } from './gen/connector-auth/client';
// The webhook bodies' types (openapi/connector-webhooks.yaml), for the receiver.
import type * as webhooks from './gen/connector-webhooks';

// Node's globals and the two standard modules the webhook receiver uses,
// typed as far as this file uses them (no @types/node is installed).
declare const process: { argv: string[]; exitCode?: number };
declare const Buffer: { concat(chunks: Uint8Array[]): Uint8Array };
interface IncomingMessage {
  url?: string;
  headers: Record<string, string | string[] | undefined>;
  on(event: 'data', listener: (chunk: Uint8Array) => void): void;
  on(event: 'end', listener: () => void): void;
}
interface ServerResponse {
  writeHead(status: number, headers: Record<string, string>): void;
  end(): void;
}
interface HttpServer {
  listen(port: number, host: string, listening: () => void): void;
  address(): { port: number };
  close(closed: () => void): void;
  closeAllConnections(): void;
}
declare function require(module: 'node:http'): {
  createServer(handler: (request: IncomingMessage, response: ServerResponse) => void): HttpServer;
};
declare function require(module: 'node:crypto'): {
  createHmac(algorithm: string, key: string): { update(data: Uint8Array): { digest(encoding: 'base64'): string } };
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
};
const http = require('node:http');
const crypto = require('node:crypto');

const baseUrl = process.argv[2];
const echoUrl = process.argv[3];
const accountId = 'le12345678';
const nameSpace = 'smoke_typescript';
const sessionId = 'conversation 42/é'; // percent-encoded on the wire
const v2SessionId = 'v2-session';

let mismatches = 0;
const check = (step: string, got: unknown, want: unknown): void => {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g === w) {
    console.log(`typescript: ok   ${step}: ${g}`);
  } else {
    mismatches += 1;
    console.log(`typescript: MISMATCH ${step}: got ${g}, want ${w}`);
  }
};
// Objects compared whatever their key order.
const sorted = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(sorted)
    : value !== null && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, sorted(v)]))
      : value;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  // The emulator's admin routes need no credentials. Start clean, as a test would.
  const ca = createAdminClient(createAdminConfig<admin.ClientOptions>({ baseUrl }));
  const reset = await admin.resetEmulator({ client: ca });
  check('admin resetEmulator -> status', reset.response.status, 204);
  const empty = await admin.listRequests({ client: ca });
  check('admin listRequests after the reset -> empty', [empty.response.status, empty.data], [200, []]);

  // CCS v1: the developer key in the `maven-api-key` header (its security scheme).
  const c1 = createV1Client(createV1Config<v1.ClientOptions>({ baseUrl, auth: () => 'smoke-key' }));
  const ns = { accountId, customNamespace: nameSpace };
  const session = { ...ns, sessionId };

  let r1: { response: Response; data?: unknown; error?: unknown } = await v1.createNamespace({
    client: c1,
    path: { accountId },
    body: { name: nameSpace },
  });
  check('v1 createNamespace -> status', r1.response.status, 204);
  const listed = await v1.listNamespaces({ client: c1, path: { accountId } });
  check('v1 listNamespaces -> has the namespace', (listed.data ?? []).filter((n) => n.name === nameSpace).map((n) => n.name), [nameSpace]);

  const written = { intent: { name: 'billing', confidence: 0.92 }, tier: 'gold', orders: [1, 2, 3] };
  r1 = await v1.setSessionProperties({ client: c1, path: session, body: written });
  check('v1 setSessionProperties -> status', r1.response.status, 204);
  r1 = await v1.setSessionProperty({ client: c1, path: { ...session, property: 'agentNote' }, body: 'call back at 5' });
  check('v1 setSessionProperty agentNote -> status', r1.response.status, 204);
  const all = await v1.getSessionProperties({ client: c1, path: session });
  check('v1 getSessionProperties', [all.response.status, sorted(all.data)], [200, sorted({ ...written, agentNote: 'call back at 5' })]);
  const some = await v1.getSessionProperties({ client: c1, path: session, query: { include: 'tier,nope' } });
  check('v1 getSessionProperties include=tier,nope', some.data, { tier: 'gold' });
  const one = await v1.getSessionProperty({ client: c1, path: { ...session, property: 'intent' } });
  check('v1 getSessionProperty intent', [one.response.status, sorted(one.data)], [200, sorted(written.intent)]);
  const missing = await v1.getSessionProperty({ client: c1, path: { ...session, property: 'missing' } });
  check('v1 getSessionProperty missing', [missing.response.status, typeof missing.error?.message], [404, 'string']);
  const noKey = await v1.getSessionProperties({ client: createV1Client(createV1Config({ baseUrl })), path: session });
  check('v1 without maven-api-key -> status', noKey.response.status, 401);

  // CCS v2: the access token as the `access_token` query parameter (its security scheme).
  const c2 = createV2Client(createV2Config<v2.ClientOptions>({ baseUrl, auth: () => 'smoke-token' }));
  // The fetch client of @hey-api/openapi-ts 0.95 drops a query apiKey from a
  // call that has no query parameters of its own (every v2 call):
  // hey-api/hey-api#3852, fixed upstream in later releases, which need Node
  // 22. Until then the token goes on through a request interceptor where it
  // is missing.
  c2.interceptors.request.use((request) => {
    const url = new URL(request.url);
    if (url.searchParams.has('access_token')) return request;
    url.searchParams.set('access_token', 'smoke-token');
    return new Request(url, request);
  });
  const upsert = (payload: v2.Payload) =>
    v2.upsertDocument({ client: c2, body: { accountId, nameSpace, sessionId: v2SessionId, ttlSeconds: 3600, payload } });
  let up = await upsert({ property1: 100, Property2: 'abc' });
  check('v2 upsertDocument -> status', up.response.status, 201);
  check('v2 upsertDocument -> result', [up.data?.documentKey, up.data?.tenantId, up.data?.success], [`${accountId}:${nameSpace}:${v2SessionId}`, accountId, true]);
  up = await upsert({ property1: 101, property3: [true, null] });
  check('v2 upsertDocument again (merge) -> status', up.response.status, 201);
  const before = Date.now();
  const doc = await v2.getSessionDocument({ client: c2, path: { accountId, nameSpace, sessionId: v2SessionId } });
  check('v2 getSessionDocument -> status', doc.response.status, 200);
  check(
    'v2 getSessionDocument -> key, type, namespace, session',
    [doc.data?.documentKey, doc.data?.documentType, doc.data?.nameSpace, doc.data?.sessionId],
    [`${accountId}:${nameSpace}:${v2SessionId}`, 'CONTEXT', nameSpace, v2SessionId],
  );
  check('v2 getSessionDocument -> payload (merged)', sorted(doc.data?.payload), sorted({ property1: 101, Property2: 'abc', property3: [true, null] }));
  const ttlLeft = (Date.parse(doc.data?.ttl ?? '') - before) / 1000;
  check('v2 getSessionDocument -> ttl about an hour ahead', ttlLeft > 3500 && ttlLeft <= 3601, true);
  const filtered = await v2.getDocumentProperties({
    client: c2,
    body: { accountId, nameSpace, sessionId: v2SessionId, filter: [`${nameSpace}.property1`, `${nameSpace}.nope`] },
  });
  check('v2 getDocumentProperties', [filtered.response.status, filtered.data], [200, { [`${nameSpace}.property1`]: 101 }]);
  // One store: the session written through v1 above is a v2 document too.
  const v1Doc = await v2.getSessionDocument({ client: c2, path: { accountId, nameSpace, sessionId } });
  check('v2 getSessionDocument of the v1 session -> payload', [v1Doc.response.status, sorted(v1Doc.data?.payload)], [200, sorted({ ...written, agentNote: 'call back at 5' })]);
  const noToken = await v2.getSessionDocument({ client: createV2Client(createV2Config({ baseUrl })), path: { accountId, nameSpace, sessionId } });
  check('v2 without access_token -> status', noToken.response.status, 401);

  // Messaging: the AppJWT in `Authorization`, the ConsumerJWS in `X-LP-ON-BEHALF`.
  const tokens: Record<string, string> = { Authorization: 'smoke-app-jwt', 'X-LP-ON-BEHALF': 'smoke-consumer-jws' };
  const cm = createMessagingClient(createMessagingConfig<messaging.ClientOptions>({ baseUrl, auth: (a) => tokens[a.name ?? ''] }));
  const batch: messaging.ConversationRequest = [
    {
      kind: 'req',
      id: '1,',
      type: 'userprofile.SetUserProfile',
      body: {
        authenticatedData: {
          lp_sdes: [
            { type: 'ctmrinfo', info: { socialId: '1234567890', ctype: 'vip' } },
            { type: 'personal', personal: { firstname: 'John', lastname: 'Doe', gender: 'MALE' } },
          ],
        },
      },
    },
    {
      kind: 'req',
      id: '2,',
      type: 'cm.ConsumerRequestConversation',
      body: { brandId: accountId, campaignInfo: { campaignId: '99999', engagementId: '888888' } },
    },
  ];
  const conv = await messaging.createConversation({ client: cm, path: { accountId }, query: { v: 3 }, body: batch });
  check('messaging createConversation -> status', conv.response.status, 200);
  check('messaging createConversation -> codes and reqIds', (conv.data ?? []).map((i) => [i.code, i.reqId]), [['OK', '1,'], ['OK', '2,']]);
  const conversationId = conv.data?.[1]?.body.conversationId;
  check('messaging createConversation -> has a conversationId', typeof conversationId === 'string' && conversationId !== '', true);
  console.log(`typescript: conversation ${conversationId}`);
  const appOnly = createMessagingClient(createMessagingConfig({ baseUrl, auth: (a) => (a.name === 'Authorization' ? 'smoke-app-jwt' : undefined) }));
  const noJws = await messaging.createConversation({ client: appOnly, path: { accountId }, query: { v: 3 }, body: batch });
  check('messaging without X-LP-ON-BEHALF -> status', noJws.response.status, 401);

  // A 429 with Retry-After on the next v1 read, and a client that retries it.
  const fault = await admin.injectFault({
    client: ca,
    body: { path: `/v1/account/${accountId}/*`, status: 429, method: 'GET', retry_after: 1, times: 1 },
  });
  check('admin injectFault 429 -> status', fault.response.status, 201);
  const attempts: number[] = [];
  let tier: { response: Response; data?: unknown } | undefined;
  for (let i = 0; i < 3; i += 1) {
    tier = await v1.getSessionProperty({ client: c1, path: { ...session, property: 'tier' } });
    attempts.push(tier.response.status);
    if (tier.response.status !== 429) break;
    await sleep(1000 * Number(tier.response.headers.get('retry-after') ?? '1'));
  }
  check('v1 getSessionProperty through the 429 -> attempts', attempts, [429, 200]);
  check('v1 getSessionProperty through the 429 -> value', tier?.data, 'gold');
  const faults = await admin.listFaults({ client: ca });
  check('admin listFaults -> the fault is used up', faults.data, []);

  // The journal: what this scenario sent, credentials redacted.
  const recorded = await admin.listRequests({ client: ca });
  const journal = recorded.data ?? [];
  check(
    'journal -> the last two requests: the faulted read and its retry',
    journal.slice(-2).map((e) => [e.method, e.status, e.fault ?? null]),
    [['GET', 429, fault.data?.id], ['GET', 200, null]],
  );
  check(
    'journal -> the first request is the namespace creation, with its body',
    journal.length > 0 ? [journal[0].method, journal[0].path, journal[0].status, journal[0].body] : null,
    ['POST', `/v1/account/${accountId}`, 204, { name: nameSpace }],
  );
  check(
    'journal -> maven-api-key redacted',
    [...new Set(journal.filter((e) => e.path.startsWith('/v1/')).map((e) => e.headers['maven-api-key'] ?? null))].sort(),
    ['[redacted]', null].sort(),
  );
  check(
    'journal -> access_token redacted',
    journal.filter((e) => e.path.startsWith('/v2/') && e.path.includes('access_token')).every((e) => e.path.includes('access_token=[redacted]')),
    true,
  );
  const text = JSON.stringify(journal);
  for (const secret of ['smoke-key', 'smoke-token', 'smoke-app-jwt', 'smoke-consumer-jws']) {
    check(`journal -> ${secret} appears nowhere`, text.includes(secret), false);
  }
}

// ---------------------------------------------------------------------------
// The connector flow (issue 13): every host from the Domain API, the AppJWT
// from Sentinel, the ConsumerJWS from the IDP, then CONVERSATION and SEND.
// ---------------------------------------------------------------------------

// The shape of a JSON answer: each leaf replaced by its JSON type name.
const skeleton = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(skeleton)
    : value !== null && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, skeleton(v)]))
      : value === null
        ? 'null'
        : typeof value;

// The claims of a JWT-shaped token, or undefined when it is not one.
const jwtClaims = (token: unknown): Record<string, unknown> | undefined => {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) return undefined;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

async function connectorFlow(): Promise<void> {
  const clientId = 'smoke-client-id';
  const clientSecret = 'smoke-client-secret';
  const extConsumerId = 'smoke_typescript_consumer';

  // Domain API (no credential): every service at once, then one service.
  // `ccs serve` is the Domain API host; the hosts it names are used over its
  // scheme (http:), as the Rust layer does.
  const domainApi = createDomainClient(createDomainConfig<domain.ClientOptions>({ baseUrl }));
  const { protocol, host: ownHost } = new URL(baseUrl);
  const all = await domain.listServiceDomains({ client: domainApi, path: { accountId }, query: { version: '1.0' } });
  check('connector listServiceDomains -> status', all.response.status, 200);
  const entries = all.data?.baseURIs ?? [];
  check(
    'connector listServiceDomains -> shape',
    sorted(skeleton(all.data)),
    sorted({ baseURIs: entries.map(() => ({ service: 'string', account: 'string', baseURI: 'string' })) }),
  );
  const hosts = new Map(entries.map((d) => [d.service, d.baseURI]));
  const connectorServices = ['asyncMessagingEnt', 'sentinel', 'idp'];
  check(
    "connector listServiceDomains -> the connector's services, at the emulator's host:port",
    connectorServices.map((s) => hosts.get(s)),
    connectorServices.map(() => ownHost),
  );
  check('connector listServiceDomains -> every entry names the account', [...new Set(entries.map((d) => d.account))], [accountId]);
  const one = await domain.getServiceDomain({
    client: domainApi,
    path: { accountId, serviceName: 'asyncMessagingEnt' },
    query: { version: '1.0' },
  });
  check(
    'connector getServiceDomain asyncMessagingEnt',
    [one.response.status, sorted(one.data)],
    [200, sorted({ service: 'asyncMessagingEnt', account: accountId, baseURI: hosts.get('asyncMessagingEnt') })],
  );
  const unknown = await domain.getServiceDomain({
    client: domainApi,
    path: { accountId, serviceName: 'asyncMessagingEntt' },
    query: { version: '1.0' },
  });
  check('connector getServiceDomain unknown service -> 404 {message}', [unknown.response.status, skeleton(unknown.error)], [404, { message: 'string' }]);
  const url = (service: string): string => `${protocol}//${hosts.get(service) ?? `missing-${service}`}`;

  // Sentinel: the client credentials as a form body, no credential header.
  const sentinel = createAuthClient(createAuthConfig<auth.ClientOptions>({ baseUrl: url('sentinel') }));
  const query = { v: '1.0', grant_type: 'client_credentials' } as const;
  const token = await auth.getAppJwt({
    client: sentinel,
    path: { accountId },
    query,
    body: { client_id: clientId, client_secret: clientSecret },
  });
  check('connector getAppJwt -> status', token.response.status, 200);
  check('connector getAppJwt -> shape', sorted(skeleton(token.data)), { access_token: 'string', expires_in: 'string', token_type: 'string' });
  check('connector getAppJwt -> token_type', token.data?.token_type, 'Bearer');
  const appJwt = token.data?.access_token ?? '';
  const appClaims = jwtClaims(appJwt) ?? {};
  check(
    'connector getAppJwt -> AppJWT claims',
    [appClaims.aud, appClaims.azp, appClaims.scope, appClaims.iss],
    [accountId, clientId, 'msg.consumer', 'Sentinel'],
  );
  check('connector getAppJwt -> valid one hour (exp - iat)', Number(appClaims.exp) - Number(appClaims.iat), 3600);
  const noSecret = await auth.getAppJwt({ client: sentinel, path: { accountId }, query, body: { client_id: clientId, client_secret: '' } });
  check('connector getAppJwt empty client_secret -> 401 invalid_client', [noSecret.response.status, noSecret.error && 'error' in noSecret.error ? noSecret.error.error : undefined], [401, 'invalid_client']);

  // IDP: the AppJWT as issued in `Authorization` (its security scheme), JSON body.
  const idp = createAuthClient(createAuthConfig<auth.ClientOptions>({ baseUrl: url('idp'), auth: () => appJwt }));
  const jws = await auth.getConsumerJws({ client: idp, path: { accountId }, query: { v: '1.0' }, body: { ext_consumer_id: extConsumerId } });
  check('connector getConsumerJws -> status', jws.response.status, 201);
  check('connector getConsumerJws -> shape', skeleton(jws.data), { token: 'string' });
  const consumerJws = jws.data?.token ?? '';
  const jwsClaims = jwtClaims(consumerJws) ?? {};
  check(
    'connector getConsumerJws -> ConsumerJWS claims (no exp)',
    [jwsClaims.account_id, jwsClaims.ext_consumer_id, 'lp_consumer_id' in jwsClaims, 'exp' in jwsClaims],
    [accountId, extConsumerId, true, false],
  );
  // The ConsumerJWS where the AppJWT goes is refused. By default `ccs serve`
  // accepts any token it did not issue, so this refusal also shows that the
  // client sends the token exactly as issued (no `Bearer ` prefix).
  const noAppJwt = await auth.getConsumerJws({
    client: createAuthClient(createAuthConfig<auth.ClientOptions>({ baseUrl: url('idp'), auth: () => consumerJws })),
    path: { accountId },
    query: { v: '1.0' },
    body: { ext_consumer_id: extConsumerId },
  });
  check('connector getConsumerJws with a ConsumerJWS as AppJWT -> 401 {message}', [noAppJwt.response.status, skeleton(noAppJwt.error)], [401, { message: 'string' }]);

  // CONVERSATION with the SDEs: the AppJWT and the ConsumerJWS as issued.
  const messagingHost = url('asyncMessagingEnt');
  const tokens: Record<string, string> = { Authorization: appJwt, 'X-LP-ON-BEHALF': consumerJws };
  const conn = createMessagingClient(createMessagingConfig<messaging.ClientOptions>({ baseUrl: messagingHost, auth: (a) => tokens[a.name ?? ''] }));
  const conv = await messaging.createConversation({
    client: conn,
    path: { accountId },
    query: { v: 3 },
    body: [
      {
        kind: 'req',
        id: '1,',
        type: 'userprofile.SetUserProfile',
        body: {
          authenticatedData: {
            lp_sdes: [
              { type: 'ctmrinfo', info: { socialId: '1234567890', ctype: 'vip' } },
              { type: 'personal', personal: { firstname: 'John', lastname: 'Doe', gender: 'MALE' } },
            ],
          },
        },
      },
      {
        kind: 'req',
        id: '2,',
        type: 'cm.ConsumerRequestConversation',
        body: { brandId: accountId, campaignInfo: { campaignId: '99999', engagementId: '888888' } },
      },
    ],
  });
  check('connector createConversation -> status', conv.response.status, 200);
  check('connector createConversation -> shape', sorted(skeleton(conv.data)), sorted([
    { code: 'string', body: { msg: 'string' }, reqId: 'string' },
    { code: 'string', body: { conversationId: 'string' }, reqId: 'string' },
  ]));
  const conversationId = conv.data?.[1]?.body.conversationId ?? '';
  check('connector createConversation -> a conversationId', conversationId !== '', true);
  console.log(`typescript: connector conversation ${conversationId} at ${messagingHost}`);

  const send = (body: messaging.SendRequest, client = conn) =>
    messaging.sendToConversation({ client, path: { accountId }, query: { v: 3 }, body });
  const publish = (id: string, event: messaging.PublishedEvent): messaging.SendRequest => ({
    kind: 'req',
    id,
    type: 'ms.PublishEvent',
    body: { dialogId: conversationId, event },
  });
  const published = async (step: string, body: messaging.SendRequest, sequence: number): Promise<void> => {
    const r = await send(body);
    check(`${step} -> status`, r.response.status, 200);
    check(`${step} -> answer`, sorted(r.data), sorted({ reqId: body.id, code: 'OK', body: { sequence } }));
  };
  const text: messaging.PublishedEvent = { type: 'ContentEvent', contentType: 'text/plain', message: 'Hello, I need your support' };
  await published('connector SEND text', publish('1', text), 0);
  await published('connector SEND chat state COMPOSING', publish('2', { type: 'ChatStateEvent', chatState: 'COMPOSING' }), 1);
  await published('connector SEND accept status', publish('3', { type: 'AcceptStatusEvent', status: 'ACCEPT', sequenceList: [1, 2] }), 2);

  // Bad tokens (a token of the other kind; as above, a refusal also shows
  // that each header carries the token as issued): the documented 401 body,
  // errorCode 40102 (Invalid AppJWT) or 40103 (Invalid ConsumerJWS); nothing
  // is published.
  const swapped = createMessagingClient(createMessagingConfig<messaging.ClientOptions>({ baseUrl: messagingHost, auth: () => consumerJws }));
  const swappedAnswer = await send(publish('4', text), swapped);
  check('connector SEND with a ConsumerJWS as AppJWT -> 401 errorCode 40102', [swappedAnswer.response.status, swappedAnswer.error && 'body' in swappedAnswer.error ? swappedAnswer.error.body.errorCode : undefined], [401, 40102]);
  const wrong = createMessagingClient(createMessagingConfig<messaging.ClientOptions>({ baseUrl: messagingHost, auth: () => appJwt }));
  const refused = await send(publish('4', text), wrong);
  check('connector SEND with an AppJWT as ConsumerJWS -> status', refused.response.status, 401);
  check(
    'connector SEND with an AppJWT as ConsumerJWS -> documented body',
    sorted(refused.error),
    sorted({
      kind: 'resp',
      code: 401,
      body: { title: 'Invalid ConsumerJWS', details: 'ConsumerJWS is invalid', errorCode: 40103 },
      type: '.ReqBody$ErrorResp',
    }),
  );
  // It published nothing: the next event still gets sequence 3. After
  // COMPOSING another state says the consumer stopped typing.
  await published('connector SEND chat state ACTIVE', publish('4', { type: 'ChatStateEvent', chatState: 'ACTIVE' }), 3);

  const close: messaging.SendRequest = {
    kind: 'req',
    id: '5',
    type: 'cm.UpdateConversationField',
    body: { conversationId, conversationField: { field: 'ConversationStateField', conversationState: 'CLOSE' } },
  };
  const closed = await send(close);
  check('connector SEND close', [closed.response.status, sorted(closed.data)], [200, sorted({ reqId: '5', code: 'OK', body: {} })]);
  const late = await send(publish('6', text));
  check('connector SEND text to the closed conversation -> 409 {message}', [late.response.status, late.error], [409, { message: 'conversation is closed' }]);
  check('connector SEND close again (idempotent) -> status', (await send(close)).response.status, 200);
}

// ---------------------------------------------------------------------------
// The return channel (issue 24): what LivePerson sends back arrives as signed
// webhooks. A receiver on Node's standard library only (`http`), registered
// with the `ccs serve --agent echo` at echoUrl, hears the echo agent's reply
// to a consumer text sent through the connector flow.
// ---------------------------------------------------------------------------

// The event types of the App Installation manifest's `capabilities.webhooks`.
const webhookEvents: (keyof webhooks.WebhooksCapability)[] = [
  'ms.MessagingEventNotification.ContentEvent',
  'ms.MessagingEventNotification.RichContentEvent',
  'ms.MessagingEventNotification.AcceptStatusEvent',
  'ms.MessagingEventNotification.ChatStateEvent',
  'cqm.ExConversationChangeNotification',
];
// How long to wait for the agent's reply: no timing is asserted, this only
// bounds a run in which nothing arrives.
const webhookWaitMs = 30_000;

// One POST the receiver got: its path, headers (lower-case names, as Node
// gives them), the raw body bytes as received, and the status it answered.
interface Delivery {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
  answered: number;
}

// A webhook endpoint on node:http, on a free port of 127.0.0.1. It keeps each
// POST as it came and answers 200 at once; `next` waits for the next one.
class WebhookReceiver {
  private readonly queue: Delivery[] = [];
  private waiting: ((d: Delivery) => void) | undefined;
  private readonly server: HttpServer;
  url = '';

  constructor() {
    this.server = http.createServer((request, response) => {
      const chunks: Uint8Array[] = [];
      request.on('data', (chunk: Uint8Array) => chunks.push(chunk));
      request.on('end', () => {
        response.writeHead(200, { 'content-length': '0' });
        response.end();
        this.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks), answered: 200 });
      });
    });
  }

  start(): Promise<void> {
    return new Promise((resolve) =>
      this.server.listen(0, '127.0.0.1', () => {
        this.url = `http://127.0.0.1:${this.server.address().port}`;
        resolve();
      }),
    );
  }

  private push(delivery: Delivery): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(delivery);
    else this.queue.push(delivery);
  }

  // The next delivery, or undefined when none comes within `ms`.
  next(ms: number): Promise<Delivery | undefined> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve(undefined);
      }, Math.max(ms, 0));
      this.waiting = (d) => {
        clearTimeout(timer);
        resolve(d);
      };
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

// LivePerson's `x-liveperson-signature`: `sha1=` and the Base64 of the
// HMAC-SHA1 of the raw body bytes, keyed with the app's client secret;
// compared in constant time.
const signatureOk = (clientSecret: string, header: unknown, body: Uint8Array): boolean => {
  const expected = new TextEncoder().encode(`sha1=${crypto.createHmac('sha1', clientSecret).update(body).digest('base64')}`);
  const got = new TextEncoder().encode(typeof header === 'string' ? header : '');
  return got.length === expected.length && crypto.timingSafeEqual(got, expected);
};

type Change = { dialogId?: unknown; event?: { type?: unknown; message?: unknown; contentType?: unknown }; originatorMetadata?: { role?: unknown } };

async function webhookFlow(): Promise<void> {
  // The app credentials the echo emulator was started with
  // (scripts/spec/spec-smoke): they sign the webhooks.
  const clientId = 'smoke-client-id';
  const clientSecret = 'smoke-client-secret';
  const text = 'Hello 👋, ça va? Ünïcode in the signed body';

  const adminEcho = createAdminClient(createAdminConfig<admin.ClientOptions>({ baseUrl: echoUrl }));
  check('webhook echo emulator resetEmulator -> status', (await admin.resetEmulator({ client: adminEcho })).response.status, 204);

  const receiver = new WebhookReceiver();
  await receiver.start();
  console.log(`typescript: webhook receiver at ${receiver.url}`);
  try {
    // Every event type to its own path of the receiver, as the App
    // Installation manifest's `capabilities.webhooks` would register it.
    const registration: webhooks.WebhooksCapability = Object.fromEntries(
      webhookEvents.map((e) => [e, { endpoint: `${receiver.url}/webhooks/${e}` }]),
    );
    const registered = sorted(Object.fromEntries(webhookEvents.map((e) => [e, { endpoint: registration[e]?.endpoint, max_retries: 0 }])));
    const put = await admin.putWebhooks({ client: adminEcho, body: registration });
    check('webhook admin putWebhooks -> the registrations (max_retries 0 by default)', [put.response.status, sorted(put.data)], [200, registered]);
    const got = await admin.getWebhooks({ client: adminEcho });
    check('webhook admin getWebhooks -> the same', [got.response.status, sorted(got.data)], [200, registered]);

    // The connector flow, short: hosts, AppJWT (the app credentials the echo
    // emulator requires), ConsumerJWS, CONVERSATION, one SEND.
    const { protocol } = new URL(echoUrl);
    const all = await domain.listServiceDomains({
      client: createDomainClient(createDomainConfig<domain.ClientOptions>({ baseUrl: echoUrl })),
      path: { accountId },
      query: { version: '1.0' },
    });
    check('webhook listServiceDomains -> status', all.response.status, 200);
    const hosts = new Map((all.data?.baseURIs ?? []).map((d) => [d.service, d.baseURI]));
    const url = (service: string): string => `${protocol}//${hosts.get(service) ?? `missing-${service}`}`;
    const token = await auth.getAppJwt({
      client: createAuthClient(createAuthConfig<auth.ClientOptions>({ baseUrl: url('sentinel') })),
      path: { accountId },
      query: { v: '1.0', grant_type: 'client_credentials' },
      body: { client_id: clientId, client_secret: clientSecret },
    });
    check('webhook getAppJwt -> status', token.response.status, 200);
    const appJwt = token.data?.access_token ?? '';
    const jws = await auth.getConsumerJws({
      client: createAuthClient(createAuthConfig<auth.ClientOptions>({ baseUrl: url('idp'), auth: () => appJwt })),
      path: { accountId },
      query: { v: '1.0' },
      body: { ext_consumer_id: 'smoke_typescript_webhooks' },
    });
    check('webhook getConsumerJws -> status', jws.response.status, 201);
    const tokens: Record<string, string> = { Authorization: appJwt, 'X-LP-ON-BEHALF': jws.data?.token ?? '' };
    const conn = createMessagingClient(
      createMessagingConfig<messaging.ClientOptions>({ baseUrl: url('asyncMessagingEnt'), auth: (a) => tokens[a.name ?? ''] }),
    );
    const conv = await messaging.createConversation({
      client: conn,
      path: { accountId },
      query: { v: 3 },
      body: [
        { kind: 'req', id: '1,', type: 'userprofile.SetUserProfile', body: { authenticatedData: { lp_sdes: [{ type: 'ctmrinfo', info: { socialId: '1234567890', ctype: 'vip' } }] } } },
        { kind: 'req', id: '2,', type: 'cm.ConsumerRequestConversation', body: { brandId: accountId } },
      ],
    });
    check('webhook createConversation -> status', conv.response.status, 200);
    const conversationId = conv.data?.[1]?.body.conversationId ?? '';
    console.log(`typescript: webhook conversation ${conversationId}`);
    const sent = await messaging.sendToConversation({
      client: conn,
      path: { accountId },
      query: { v: 3 },
      body: { kind: 'req', id: '1', type: 'ms.PublishEvent', body: { dialogId: conversationId, event: { type: 'ContentEvent', contentType: 'text/plain', message: text } } },
    });
    check('webhook SEND text -> status', sent.response.status, 200);

    // Every delivery until the agent's ContentEvent in this conversation.
    const isReply = (c: Change): boolean =>
      c.dialogId === conversationId && c.event?.type === 'ContentEvent' && c.originatorMetadata?.role === 'ASSIGNED_AGENT';
    const received: [Delivery, any][] = [];
    let reply: Change | undefined;
    const deadline = Date.now() + webhookWaitMs;
    while (reply === undefined) {
      const delivery = await receiver.next(deadline - Date.now());
      if (delivery === undefined) break;
      let notification: any;
      try {
        notification = JSON.parse(new TextDecoder().decode(delivery.body));
      } catch {
        notification = undefined;
      }
      received.push([delivery, notification]);
      const changes: unknown = notification?.body?.changes;
      reply = Array.isArray(changes) ? changes.find((c: Change) => c !== null && typeof c === 'object' && isReply(c)) : undefined;
    }
    check(`webhook -> the echo agent's reply arrived within ${webhookWaitMs / 1000} s`, reply !== undefined, true);

    // Each delivery: signed with the client secret over the raw bytes, the
    // account and client id headers, LivePerson's envelope, and sent to the
    // endpoint registered for its event type.
    received.forEach(([delivery, notification], i) => {
      const envelope = notification !== null && typeof notification === 'object' ? notification : {};
      const changes: unknown = envelope.body?.changes;
      const kind: unknown = envelope.type;
      const events =
        kind === 'ms.MessagingEventNotification' && Array.isArray(changes)
          ? [...new Set(changes.map((c: Change) => `${kind}.${String(c?.event?.type)}`))]
          : [String(kind)];
      check(
        `webhook delivery ${i + 1} (${events.sort().join('/')}) -> signature, headers, envelope, endpoint, answered`,
        {
          signature: signatureOk(clientSecret, delivery.headers['x-liveperson-signature'], delivery.body),
          account: delivery.headers['x-liveperson-account-id'],
          client: delivery.headers['x-liveperson-client-id'],
          contentType: String(delivery.headers['content-type'] ?? '').split(';')[0].trim(),
          kind: envelope.kind,
          type: kind === 'ms.MessagingEventNotification' || kind === 'cqm.ExConversationChangeNotification',
          changes: Array.isArray(changes) && changes.length > 0,
          endpoint: events.length === 1 && delivery.path === `/webhooks/${events[0]}`,
          answered: delivery.answered,
        },
        {
          signature: true,
          account: accountId,
          client: clientId,
          contentType: 'application/json',
          kind: 'notification',
          type: true,
          changes: true,
          endpoint: true,
          answered: 200,
        },
      );
    });
    if (reply !== undefined) {
      check(
        'webhook agent reply -> the echoed text, by the assigned agent',
        [reply.event?.message, reply.event?.contentType, reply.originatorMetadata?.role, reply.dialogId],
        [text, 'text/plain', 'ASSIGNED_AGENT', conversationId],
      );
      // The same reply through the types generated from the spec.
      const typed = received[received.length - 1][1] as webhooks.Notification;
      const typedReply =
        typed.type === 'ms.MessagingEventNotification'
          ? typed.body.changes.find((c) => c.dialogId === conversationId && c.originatorMetadata?.role === 'ASSIGNED_AGENT')
          : undefined;
      check(
        "webhook agent reply, through connector-webhooks' types -> text and role",
        typedReply?.event.type === 'ContentEvent' ? [typedReply.event.message, typedReply.originatorMetadata?.role] : undefined,
        [text, 'ASSIGNED_AGENT'],
      );
      // The check can fail: a wrong secret, or one byte more, and the same
      // header no longer matches.
      const [delivery] = received[received.length - 1];
      const header = delivery.headers['x-liveperson-signature'];
      const tampered = new Uint8Array(delivery.body.length + 1);
      tampered.set(delivery.body);
      tampered[delivery.body.length] = 0x20;
      check(
        'webhook agent reply -> signature with a wrong secret, and over a tampered body, refused',
        [signatureOk('not-the-secret', header, delivery.body), signatureOk(clientSecret, header, tampered)],
        [false, false],
      );
    }

    // The emulator's record of the same deliveries: each to this receiver,
    // delivered at its first attempt, which the receiver answered 200. A
    // delivery whose answer the emulator has not recorded yet is `pending`:
    // wait for it (as above, only a bound on a broken run).
    const until = Date.now() + webhookWaitMs;
    let held = await admin.getConversation({ client: adminEcho, path: { conversationId } });
    while ((held.data?.deliveries ?? []).some((d) => d.state === 'pending') && Date.now() < until) {
      await sleep(100);
      held = await admin.getConversation({ client: adminEcho, path: { conversationId } });
    }
    const recorded = held.data?.deliveries ?? [];
    const outcomes = [...new Set(recorded.map((d) => JSON.stringify([d.state, d.attempts.map((a) => a.status), d.endpoint.startsWith(receiver.url)])))];
    check(
      'webhook admin getConversation -> each delivery to this receiver, answered 200 at once',
      [held.response.status, recorded.length >= received.length, outcomes.sort()],
      [200, true, [JSON.stringify(['delivered', [200], true])]],
    );
    console.log(`typescript: webhook event types delivered: ${JSON.stringify(recorded.map((d) => d.event_type).sort())}`);
    // The journal records each attempt, its signature `[redacted]`: no
    // signature received, nor the client secret, appears in it.
    const journal = await admin.listRequests({ client: adminEcho });
    const attempts = (journal.data ?? []).filter((e) => e.webhook?.conversation_id === conversationId);
    const shown = JSON.stringify(journal.data);
    check(
      'webhook admin listRequests -> every attempt, signature redacted, no signature and no client secret',
      [
        journal.response.status,
        attempts.length >= received.length,
        [...new Set(attempts.map((e) => e.headers['x-liveperson-signature']))],
        received.map(([d]) => shown.includes(String(d.headers['x-liveperson-signature'] ?? '').slice(5))),
        shown.includes(clientSecret),
      ],
      [200, true, ['[redacted]'], received.map(() => false), false],
    );

    // Unregister before the receiver stops.
    const cleared = await admin.putWebhooks({ client: adminEcho, body: {} });
    check('webhook admin putWebhooks {} -> none left', [cleared.response.status, cleared.data], [200, {}]);
  } finally {
    await receiver.stop();
  }
}

main().then(connectorFlow).then(webhookFlow).then(
  () => {
    console.log(`typescript: ${mismatches === 0 ? 'all answers as expected' : `${mismatches} mismatches`}`);
    process.exitCode = mismatches === 0 ? 0 : 1;
  },
  (err: unknown) => {
    console.log(`typescript: FAILED: ${err instanceof Error ? err.stack : String(err)}`);
    process.exitCode = 1;
  },
);
