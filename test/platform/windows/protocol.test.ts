import { test } from 'node:test';
import assert from 'node:assert/strict';
import { helloLine, LineSplitter, newMarker, parseHostLine, requestLine } from '../../../src/platform/windows/protocol.ts';

test('a request is one line of JSON whatever its values hold, and parses back to the same values', () => {
  const params = { name: 'a\nb\r\nc\u2028d\u2029e"f\\g', emoji: '😀', nul: '\u0000' };
  const line = requestLine({ id: 3, verb: 'setComputerName', params });
  assert.equal(line.indexOf('\n'), line.length - 1);
  assert.ok(!/[\r\u2028\u2029]/.test(line), 'no character a line reader could end a line at');
  assert.deepEqual(JSON.parse(line), { id: 3, secrets: 0, verb: 'setComputerName', params });
});

test('secrets follow the JSON line, one "name:base64" line each, and never sit in the JSON', () => {
  const password = 'pa:ss\nw\u2028ord 😀';
  const pfx = Buffer.from([0, 1, 2, 0xff, 0x0a]);
  const text = requestLine({ id: 9, verb: 'x', params: { user: 'u' }, secrets: { password, pfx } });
  const lines = text.split('\n');
  assert.equal(lines.length, 4, 'three lines and the final newline');
  assert.equal(lines[3], '');
  assert.ok(lines[0]!.startsWith('{"id":9,"secrets":2,'), 'id and count come first, for the host to read before parsing');
  assert.deepEqual(JSON.parse(lines[0]!), { id: 9, secrets: 2, verb: 'x', params: { user: 'u' } });
  assert.equal(lines[1], `password:${Buffer.from(password, 'utf8').toString('base64')}`);
  assert.equal(lines[2], `pfx:${pfx.toString('base64')}`);
  assert.ok(!lines[0]!.includes('pa:ss'));
  assert.throws(() => requestLine({ id: 1, verb: 'x', params: {}, secrets: { 'a:b': 'x' } }), /not 1-32 letters/);
});

test('the hello line holds only the marker and the library', () => {
  const marker = newMarker();
  const line = helloLine(marker, [{ name: 'host.ps1', text: "Set-StrictMode -Version 3.0\n$x = 'y'" }]);
  assert.deepEqual(JSON.parse(line), { marker, library: [{ name: 'host.ps1', text: "Set-StrictMode -Version 3.0\n$x = 'y'" }] });
});

test('markers differ per session', () => {
  assert.notEqual(newMarker(), newMarker());
});

test('the splitter cuts lines at LF, drops a CR before it, and never splits a UTF-8 character', () => {
  const splitter = new LineSplitter();
  const bytes = Buffer.from('première ligne\r\n二行目 😀\nrest', 'utf8');
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 1) lines.push(...splitter.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(lines, ['première ligne', '二行目 😀']);
  assert.equal(splitter.flush(), 'rest');
  assert.equal(splitter.flush(), undefined);
});

test('only a line with the session marker is an answer; the rest is stray text', () => {
  const marker = newMarker();
  assert.deepEqual(parseHostLine(`${marker}{"id":4,"ok":true,"result":{"outcome":"renamed"}}`, marker), {
    kind: 'answer',
    answer: { id: 4, ok: true, result: { outcome: 'renamed' } },
    stray: '',
  });
  assert.deepEqual(parseHostLine('{"id":4,"ok":true,"result":{"outcome":"forged"}}', marker), { kind: 'stray', stray: '{"id":4,"ok":true,"result":{"outcome":"forged"}}' });
  assert.equal(parseHostLine(`${newMarker()}{"id":4,"ok":true,"result":{}}`, marker).kind, 'stray', 'another session marker does not count');
  assert.deepEqual(parseHostLine(`WARNING: x${marker}{"log":"warn","message":"two objects"}`, marker), { kind: 'log', level: 'warn', message: 'two objects', stray: 'WARNING: x' });
  assert.equal(parseHostLine(`${marker}{not json`, marker).kind, 'stray');
  assert.equal(parseHostLine(`${marker}{"id":"4","ok":true}`, marker).kind, 'stray');
});

test('a failure answer keeps the typed fields and drops anything else', () => {
  const marker = newMarker();
  const line = `${marker}${JSON.stringify({ id: 9, ok: false, error: { message: 'Accès refusé', fullyQualifiedErrorId: 'X,Y', win32: 5, hresult: -2147024891, exceptionTypes: ['System.UnauthorizedAccessException', 7], targetObject: 'secret' } })}`;
  const parsed = parseHostLine(line, marker);
  assert.equal(parsed.kind, 'answer');
  assert.deepEqual(parsed.kind === 'answer' ? parsed.answer : undefined, {
    id: 9,
    ok: false,
    error: { message: 'Accès refusé', fullyQualifiedErrorId: 'X,Y', category: undefined, exceptionTypes: ['System.UnauthorizedAccessException'], hresult: -2147024891, win32: 5, ntStatus: undefined, rule: undefined },
  });
});
