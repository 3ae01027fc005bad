import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENDPOINT_NAMES, documentPath, escapeFabricSegment, routeRequest } from '../../src/simulator/routes.ts';

const doc = documentPath('c6d5526c-5ac2', 'b61f93d0._vm_1');

test('path segments are escaped the way the fabric does (%2D for "-", %5F for "_")', () => {
  assert.equal(escapeFabricSegment('bc8b9d47-b5ed.5._canary'), 'bc8b9d47%2Db5ed.5.%5Fcanary');
  assert.equal(doc, '/machine/c6d5526c%2D5ac2/b61f93d0.%5Fvm%5F1');
});

test('each endpoint is matched by method, path and query', () => {
  const route = (method: string, url: string): string | undefined => routeRequest(method, url, doc)?.endpoint;
  assert.equal(route('GET', '/?comp=versions'), 'versions');
  assert.equal(route('GET', '/?comp=Versions'), 'versions');
  assert.equal(route('GET', '/machine/?comp=goalstate'), 'goalstate');
  assert.equal(route('POST', '/machine?comp=health'), 'health');
  assert.equal(route('POST', '/machine/?comp=health'), 'health');
  assert.equal(route('POST', '/machine?comp=roleProperties'), 'roleProperties');
  assert.equal(route('POST', '/machine/?comp=roleproperties'), 'roleProperties');
  assert.equal(route('GET', `${doc}?comp=config&type=hostingEnvironmentConfig&incarnation=1`), 'hostingEnvironmentConfig');
  assert.equal(route('GET', `${doc}?comp=config&type=sharedConfig&incarnation=1`), 'sharedConfig');
  assert.equal(route('GET', `${doc}?comp=certificates&incarnation=1`), 'certificates');
  // Decoded paths compare equal: an HTTP client that normalises %2D still reaches the document.
  assert.equal(route('GET', '/machine/c6d5526c-5ac2/b61f93d0._vm_1?comp=certificates&incarnation=1'), 'certificates');
  assert.deepEqual(ENDPOINT_NAMES.length, 7);
});

test('anything else is no route', () => {
  const route = (method: string | undefined, url: string | undefined): unknown => routeRequest(method, url, doc);
  for (const [method, url] of [
    ['GET', '/'],
    ['POST', '/?comp=versions'],
    ['GET', '/machine?comp=goalstate'],
    ['GET', '/machine/?comp=health'],
    ['GET', `${doc}?comp=config&type=extensionsConfig&incarnation=1`],
    ['GET', `${doc}?comp=config&amp;type=sharedConfig&amp;incarnation=1`],
    ['GET', `/machine/other/x?comp=certificates&incarnation=1`],
    ['GET', `/machine/%E0%A4%A/x?comp=certificates`],
    [undefined, '/?comp=versions'],
    ['GET', undefined],
  ] as const) {
    assert.equal(route(method, url), undefined, `${method} ${url}`);
  }
});

test('the incarnation query parameter is carried to the handler', () => {
  assert.equal(routeRequest('GET', `${doc}?comp=certificates&incarnation=7`, doc)?.incarnation, '7');
  assert.equal(routeRequest('GET', `${doc}?comp=certificates`, doc)?.incarnation, undefined);
});
