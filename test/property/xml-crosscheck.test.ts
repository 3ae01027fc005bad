import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { XMLValidator } from 'fast-xml-parser';
import { parseXml, type XmlFailure } from '../../src/protocol/xml.ts';
import { GOAL_STATE_MAX_BYTES } from '../../src/protocol/goal-state.ts';
import { VERSIONS_MAX_BYTES } from '../../src/protocol/versions.ts';
import { HOSTING_ENV_MAX_BYTES } from '../../src/protocol/hosting-env.ts';
import { CERTIFICATE_FILE_MAX_BYTES } from '../../src/protocol/certificates-file.ts';
import { OVF_ENV_MAX_BYTES } from '../../src/protocol/ovf-env.ts';
import { FABRIC_CASES, NOT_WELL_FORMED_CASES, OVF_CASES, type HostileDocument } from '../fault/hostile-corpus.ts';
import { fuzzParameters } from './budget.ts';
import { SEED_DOCUMENTS, mutatedDocument } from './xml-mutations.ts';
import { PROJECT_RULES, projectRuleFor, saxesVerdict } from './xml-oracle.ts';

/**
 * The agent's accept/refuse decision on XML against saxes, an independent conformant XML 1.0 parser.
 * The agent may refuse more than saxes only under one of PROJECT_RULES (xml-oracle.ts); it may never
 * accept what saxes refuses. Run on every document of the hostile corpus and on mutated fixtures.
 */

const LIMITS: Record<HostileDocument, number> = {
  'ovf-env': OVF_ENV_MAX_BYTES,
  versions: VERSIONS_MAX_BYTES,
  goalstate: GOAL_STATE_MAX_BYTES,
  hostingEnvironmentConfig: HOSTING_ENV_MAX_BYTES,
  certificates: CERTIFICATE_FILE_MAX_BYTES,
};

class Refused extends Error {}
const fail: XmlFailure = (field, rule) => new Refused(`${field}: ${rule}`);

/** The agent's XML layer alone: undefined when it accepts, else its reason. */
function agentRefusal(input: string | Uint8Array, maxBytes: number): string | undefined {
  try {
    parseXml(input, fail, { maxBytes });
    return undefined;
  } catch (err) {
    assert.ok(err instanceof Refused, `the XML layer threw something other than its named error: ${String(err)}`);
    return err.message;
  }
}

interface Tally {
  documents: number;
  bothAccept: number;
  bothRefuse: number;
  byRule: Map<string, number>;
}

const newTally = (): Tally => ({ documents: 0, bothAccept: 0, bothRefuse: 0, byRule: new Map() });

/** Compares one document; throws with the document when the disagreement is not one the project allows. */
function compare(input: string | Uint8Array, maxBytes: number, tally: Tally, label: string): void {
  const agent = agentRefusal(input, maxBytes);
  const saxes = saxesVerdict(input);
  tally.documents += 1;
  const show = (): string => `${label}: ${JSON.stringify(typeof input === 'string' ? input.slice(0, 600) : Buffer.from(input).toString('latin1').slice(0, 600))}`;
  if (agent === undefined && saxes.error === undefined) tally.bothAccept += 1;
  else if (agent !== undefined && saxes.error !== undefined) tally.bothRefuse += 1;
  else if (agent === undefined) assert.fail(`the agent accepts what saxes refuses (${saxes.error}) in ${show()}`);
  else {
    const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
    const rule = projectRuleFor(text, saxes, maxBytes);
    assert.ok(rule, `the agent refuses (${agent}) what saxes accepts, under no project rule, in ${show()}`);
    tally.byRule.set(rule, (tally.byRule.get(rule) ?? 0) + 1);
  }
}

const summary = (tally: Tally): string =>
  `${tally.documents} documents: ${tally.bothAccept} accepted by both, ${tally.bothRefuse} refused by both, ` +
  `${[...tally.byRule].map(([rule, n]) => `${n} refused by the agent alone (${rule})`).join(', ') || 'no deliberate disagreement'}`;

test('the project rules that let the agent refuse more than XML 1.0 are few and named', () => {
  assert.deepEqual(PROJECT_RULES.map((rule) => rule.name), [
    'DOCTYPE or ENTITY declaration text anywhere',
    'larger than the document limit',
    'elements nested more than 100 deep',
    'an encoding declaration other than UTF-8',
    'an XML version other than 1.0',
    'an element named __proto__, constructor or prototype',
    'a lone surrogate code unit',
  ]);
});

test('every fixture document is accepted by both', () => {
  for (const seed of SEED_DOCUMENTS) {
    assert.equal(agentRefusal(seed.text, 4 * 1024 * 1024), undefined, seed.name);
    assert.equal(saxesVerdict(seed.text).error, undefined, seed.name);
  }
});

test('the agent and saxes agree on every document of the hostile corpus, but for the project rules', (t) => {
  const tally = newTally();
  const corpus = [...OVF_CASES, ...FABRIC_CASES, ...NOT_WELL_FORMED_CASES];
  for (const c of corpus) compare(c.body, LIMITS[c.document], tally, c.name);
  t.diagnostic(summary(tally));
  assert.equal(tally.documents, corpus.length);
  // The cases that are about well-formedness are refused by saxes too, or under a named project rule.
  for (const c of NOT_WELL_FORMED_CASES) assert.notEqual(agentRefusal(c.body, LIMITS[c.document]), undefined, c.name);
});

test('the agent and saxes agree on mutated fixture documents, but for the project rules', (t) => {
  const tally = newTally();
  fc.assert(
    fc.property(mutatedDocument, ({ seed, text }) => compare(text, GOAL_STATE_MAX_BYTES, tally, `mutated ${seed}`)),
    fuzzParameters(3),
  );
  t.diagnostic(summary(tally));
  // Both sides of the decision are exercised.
  assert.ok(tally.bothAccept >= tally.documents / 5, summary(tally));
  assert.ok(tally.bothRefuse >= tally.documents / 5, summary(tally));
});

test('the agent refuses everything fast-xml-parser\'s XMLValidator refuses that saxes refuses too', (t) => {
  // XMLValidator is not run on the boot path: findXmlFault refuses a superset of what it refuses correctly.
  let validatorRefusals = 0;
  let validatorWrong = 0;
  fc.assert(
    fc.property(mutatedDocument, ({ text }) => {
      const body = text.replace(/^\ufeff/, '');
      if (XMLValidator.validate(body) === true) return;
      validatorRefusals += 1;
      if (saxesVerdict(text).error === undefined) validatorWrong += 1;
      else assert.ok(agentRefusal(text, GOAL_STATE_MAX_BYTES) !== undefined, JSON.stringify(text.slice(0, 400)));
    }),
    fuzzParameters(1),
  );
  t.diagnostic(`XMLValidator refused ${validatorRefusals} documents, ${validatorWrong} of them well-formed by saxes`);
});
