import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SaxesParser } from 'saxes';
import { timelineSvg, type TimelinePanel } from '../../bench/timeline-svg.ts';

const sandbox: TimelinePanel = {
  label: '1 cert',
  readyMs: 190,
  steps: [
    { name: 'identity', startMs: 80, durationMs: 2 },
    { name: 'provisioning-config', startMs: 82, durationMs: 30 },
    { name: 'dhcp', startMs: 83, durationMs: 2 },
    { name: 'versions', startMs: 86, durationMs: 10 },
    { name: 'certificates', startMs: 100, durationMs: 40 },
    { name: 'ready', startMs: 170, durationMs: 20 },
  ],
  floor: [{ name: 'node start-up', ms: 30 }, { name: 'fabric', ms: 6 }, { name: 'RSA keygen', ms: 40 }, { name: 'decrypt <&>', ms: 5 }],
};
const windows: TimelinePanel = {
  ...sandbox,
  label: '1 cert, Windows',
  readyMs: 2400,
  powershell: [
    { what: 'start', id: undefined, startMs: 100, endMs: 1500, queuedMs: undefined },
    { what: 'readVmId', id: 3, startMs: 1600, endMs: 1700, queuedMs: 2 },
  ],
  floor: [{ name: 'node start-up', ms: 30 }, { name: 'pwsh start-up', ms: 900 }, { name: 'fabric', ms: 6 }],
};

/** Elements by tag and class, from a strict XML parse (saxes throws on anything not well-formed). */
function parse(svg: string): { tag: string; cls: string | undefined }[] {
  const elements: { tag: string; cls: string | undefined }[] = [];
  const parser = new SaxesParser();
  parser.on('opentag', (node) => elements.push({ tag: node.name, cls: node.attributes['class'] as string | undefined }));
  parser.write(svg).close();
  return elements;
}

test('the timeline SVG is well-formed XML with one bar per step, the PowerShell exchanges and the floor reference line', () => {
  const svg = timelineSvg('winprov <bench> & co', [sandbox, windows]);
  const elements = parse(svg);
  assert.equal(elements[0]!.tag, 'svg');
  const count = (tag: string, cls: string) => elements.filter((e) => e.tag === tag && e.cls === cls).length;
  assert.equal(count('rect', 'step'), 2 * sandbox.steps.length, 'one bar per step in each panel');
  assert.equal(count('rect', 'powershell'), 2, 'the session start and one request');
  assert.equal(count('g', 'panel'), 2);
  // The floor's parts end to end (parts of 0 ms are not drawn) and its total as a dashed line per panel.
  assert.equal(count('line', 'floor'), 4 + 3);
  assert.equal(count('line', 'floor-total'), 2);
  assert.equal(count('line', 'ready'), 2);
  assert.match(svg, /decrypt &lt;&amp;&gt;/, 'text is escaped');
});
