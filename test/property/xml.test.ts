import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { AgentError, FabricDocumentError } from '../../src/errors.ts';
import { chooseProtocolVersion, parseVersions } from '../../src/protocol/versions.ts';
import { parseGoalState } from '../../src/protocol/goal-state.ts';
import { parseHostingEnvironmentConfig } from '../../src/protocol/hosting-env.ts';
import { parseCertificateFile } from '../../src/protocol/certificates-file.ts';
import { parseOvfEnv, readOvfEnv, redactOvfEnv } from '../../src/protocol/ovf-env.ts';
import { buildHealthReport, HEALTH_DESCRIPTION_MAX, type HealthReport } from '../../src/protocol/health.ts';
import { parseXml, type XmlNode } from '../../src/protocol/xml.ts';
import { findXmlFault } from '../../src/protocol/xml-check.ts';
import { firstNonXmlChar } from '../../src/protocol/xml-grammar.ts';
import { fuzzParameters } from './budget.ts';
import { mutatedDocument, snippetDocument } from './xml-mutations.ts';
import { saxesVerdict } from './xml-oracle.ts';

/**
 * Every protocol parser on generated and mutated input: the outcome is a value or an AgentError, never
 * anything else, and each input is handled within a time bound. The health report builder, on arbitrary
 * values: a well-formed document that echoes the ids exactly, or a named refusal before anything is sent.
 */

/** Per input; the documents are at most a few KB and parse in well under a millisecond. */
const BOUND_MS = 100;

const PARSERS: ReadonlyArray<[string, (input: string | Uint8Array) => unknown]> = [
  ['versions', (input) => chooseProtocolVersion(parseVersions(input))],
  ['goal state', parseGoalState],
  ['hosting environment config', parseHostingEnvironmentConfig],
  ['certificates file', parseCertificateFile],
  ['ovf-env.xml', parseOvfEnv],
  ['ovf-env.xml (read once)', (input) => readOvfEnv(input).config()],
];

/** Milliseconds one call takes; a call over the bound is timed once more (a garbage-collection pause is no failure). */
function timed(fn: () => void): number {
  const once = (): number => {
    const started = performance.now();
    fn();
    return performance.now() - started;
  };
  const first = once();
  return first < BOUND_MS ? first : Math.min(first, once());
}

/** Runs one parser on one input: a value or an AgentError, within BOUND_MS. */
function total(name: string, parse: (input: string | Uint8Array) => unknown, input: string | Uint8Array): void {
  const ms = timed(() => {
    try {
      parse(input);
    } catch (err) {
      assert.ok(err instanceof AgentError, `${name} threw ${String(err)} for ${JSON.stringify(String(input).slice(0, 300))}`);
      assert.ok(err.reason.length > 0 && err.code.length > 0);
    }
  });
  assert.ok(ms < BOUND_MS, `${name} took ${ms.toFixed(1)} ms, twice`);
}

/** Any string, lone surrogates and every control character included. */
const anyText = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 80 });
const anyInput = fc.oneof(
  mutatedDocument.map((d) => d.text),
  snippetDocument,
  anyText,
  mutatedDocument.map((d) => new TextEncoder().encode(d.text)),
  fc.uint8Array({ maxLength: 200 }),
);

for (const [name, parse] of PARSERS) {
  test(`${name}: any input ends in a value or an AgentError, within ${BOUND_MS} ms`, () => {
    fc.assert(fc.property(anyInput, (input) => total(name, parse, input)), fuzzParameters(1));
  });
}

test('the saved ovf-env.xml copy is always well-formed XML, whatever the input', () => {
  fc.assert(
    fc.property(fc.oneof(mutatedDocument.map((d) => d.text), snippetDocument), (input) => {
      let copy = '';
      assert.ok(timed(() => (copy = redactOvfEnv(input))) < BOUND_MS);
      assert.equal(findXmlFault(copy.replace(/^\ufeff/, '')), undefined, copy);
      assert.equal(saxesVerdict(copy).error, undefined, copy);
    }),
    fuzzParameters(1),
  );
});

test('whatever parseXml accepts, saxes accepts (the fuzz corpus cross-check, for any small document)', () => {
  const fail = (field: string, rule: string): Error => new FabricDocumentError('Test', field, rule);
  fc.assert(
    fc.property(snippetDocument, (text) => {
      let accepted = true;
      try {
        parseXml(text, fail);
      } catch (err) {
        assert.ok(err instanceof FabricDocumentError, String(err));
        accepted = false;
      }
      if (accepted) assert.equal(saxesVerdict(text).error, undefined, JSON.stringify(text));
    }),
    fuzzParameters(1),
  );
});

// ---- Values echoed back to the fabric --------------------------------------------------------------

const IDS = { incarnation: '1', containerId: 'c6d5526c-5ac2-4200-b6e2-56f2b70c5ab2', instanceId: 'b61f93d0-e1ed-40b2-b067-22c243233448.MachineRole_IN_0' };
const fail = (field: string, rule: string): Error => new FabricDocumentError('Health', field, rule);

function at(node: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>((current, name) => (current as XmlNode)[name], node);
}

test('a health report echoes any id exactly in a well-formed document, or refuses it by name before sending', () => {
  const report = fc.record({ incarnation: fc.oneof(fc.constant('1'), anyText), containerId: fc.oneof(fc.constant(IDS.containerId), anyText), instanceId: fc.oneof(fc.constant(IDS.instanceId), anyText) });
  fc.assert(
    fc.property(report, fc.boolean(), (ids, ready) => {
      const r: HealthReport = ready ? { ...ids, state: 'Ready' } : { ...ids, state: 'NotReady', subStatus: 'ProvisioningFailed', description: 'x' };
      const invalid = [ids.incarnation, ids.containerId, ids.instanceId].some((v) => firstNonXmlChar(v) >= 0);
      let raw: string;
      try {
        raw = buildHealthReport(r);
      } catch (err) {
        assert.ok(err instanceof FabricDocumentError && err.code === 'FABRIC_DOCUMENT_INVALID', String(err));
        assert.match(err.reason, /^HealthReport (GoalStateIncarnation|Container\/ContainerId|Container\/RoleInstanceList\/Role\/InstanceId): holds U\+[0-9A-F]{4,6} at position \d+, a character XML does not allow/);
        assert.ok(invalid, 'only a value holding a character XML forbids is refused');
        return;
      }
      assert.ok(!invalid, 'a value XML cannot carry was sent');
      assert.equal(saxesVerdict(raw).error, undefined, raw);
      const doc = parseXml(raw, fail);
      // XML 1.0 2.11 turns CR and CR LF into LF in the fabric's parser too; the builder sends the id as given.
      const normalize = (v: string): string => v.replace(/\r\n?/g, '\n');
      const text = (v: unknown): string => (typeof v === 'string' ? v : ((v as XmlNode)['#text'] as string | undefined) ?? '');
      assert.equal(normalize(text(at(doc, 'Health', 'GoalStateIncarnation'))), normalize(ids.incarnation));
      assert.equal(normalize(text(at(doc, 'Health', 'Container', 'ContainerId'))), normalize(ids.containerId));
      assert.equal(normalize(text(at(doc, 'Health', 'Container', 'RoleInstanceList', 'Role', 'InstanceId'))), normalize(ids.instanceId));
    }),
    fuzzParameters(1),
  );
});

test('a failure report always goes out: any description is made safe, never refused', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 700 }), (description) => {
      const raw = buildHealthReport({ ...IDS, state: 'NotReady', subStatus: 'ProvisioningFailed', description });
      assert.equal(saxesVerdict(raw).error, undefined);
      const sent = at(parseXml(raw, fail), 'Health', 'Container', 'RoleInstanceList', 'Role', 'Health', 'Details', 'Description');
      assert.ok(typeof sent === 'string' || typeof sent === 'object');
      const text = typeof sent === 'string' ? sent : (((sent as XmlNode)['#text'] as string | undefined) ?? '');
      assert.ok(text.length <= HEALTH_DESCRIPTION_MAX);
    }),
    fuzzParameters(1),
  );
});

test('every goal state the parser accepts can be echoed in a health report', () => {
  const goalState = readFileSync(new URL('../fixtures/fabric/goal-state.xml', import.meta.url), 'utf8');
  const idText = fc.string({ unit: fc.constantFrom('a', '-', '.', '_', '&amp;', '&#x1F600;', '\u00e9', '\ufeff', '\u0085', '&#x9;', ' ', '&lt;', '\ud83d\ude00'), minLength: 1, maxLength: 20 });
  fc.assert(
    fc.property(idText, idText, (container, instance) => {
      const text = goalState.replace(/<ContainerId>[^<]*</, `<ContainerId>${container}<`).replace(/<InstanceId>[^<]*</, `<InstanceId>${instance}<`);
      let parsed;
      try {
        parsed = parseGoalState(text);
      } catch (err) {
        assert.ok(err instanceof AgentError);
        return;
      }
      const raw = buildHealthReport({ incarnation: parsed.incarnation, containerId: parsed.containerId, instanceId: parsed.roleInstance!.instanceId, state: 'Ready' });
      assert.equal(saxesVerdict(raw).error, undefined);
    }),
    fuzzParameters(0.5),
  );
});
