import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerDocument, type FabricView } from '../../src/simulator/answers.ts';
import type { Route } from '../../src/simulator/routes.ts';

const view: FabricView = {
  containerId: 'c-1',
  instanceId: 'i-1',
  incarnation: 3,
  documentUrl: 'http://127.0.0.1:1/machine/c/i',
  certificates: [],
  pfx: undefined,
  supportedCiphers: ['AES128_CBC'],
  envelope: { keyTransport: 'rsaes-pkcs1-v1_5', recipientId: 'subjectKeyIdentifier' },
  stranger: () => Promise.reject(new Error('not used')),
};
const headers = { 'x-ms-agent-name': 'a', 'x-ms-version': '2012-11-30' };
const route = (endpoint: Route['endpoint'], incarnation?: string): Route => ({ endpoint, incarnation });
const text = (body: string | Uint8Array): string => (typeof body === 'string' ? body : Buffer.from(body).toString());

test('versions needs no header; the goal-state documents need both agent headers', async () => {
  assert.equal((await answerDocument(route('versions'), {}, view, undefined)).status, 200);
  for (const endpoint of ['goalstate', 'hostingEnvironmentConfig', 'sharedConfig'] as const) {
    const refused = await answerDocument(route(endpoint, '3'), { 'x-ms-version': '2012-11-30' }, view, undefined);
    assert.equal(refused.status, 400, endpoint);
    assert.equal(refused.contentType, 'text/plain; charset=utf-8');
    assert.equal((await answerDocument(route(endpoint, '3'), headers, view, undefined)).status, 200, endpoint);
  }
});

test('documents of an older incarnation are 410, of a newer or missing one 400', async () => {
  const status = async (incarnation?: string): Promise<number> => (await answerDocument(route('sharedConfig', incarnation), headers, view, undefined)).status;
  assert.equal(await status('2'), 410);
  assert.equal(await status('4'), 400);
  assert.equal(await status(undefined), 400);
  assert.equal(await status('three'), 400);
  assert.equal(await status('3'), 200);
});

test('the goal state is served in the current incarnation and drops the RoleInstance for that fault', async () => {
  const normal = await answerDocument(route('goalstate'), headers, view, undefined);
  assert.match(text(normal.body), /<Incarnation>3<\/Incarnation>/);
  assert.match(text(normal.body), /incarnation=3</);
  const bare = await answerDocument(route('goalstate'), headers, view, { noRoleInstance: true });
  assert.doesNotMatch(text(bare.body), /<RoleInstance>/);
});

test('certificates without a tenant PFX are 404', async () => {
  const res = await answerDocument(route('certificates', '3'), headers, view, undefined);
  assert.equal(res.status, 404);
});
