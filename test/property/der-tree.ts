import fc from 'fast-check';

/**
 * A DER value as an editable tree, and mutations of it that keep most of the structure (so the reader gets
 * past its first checks) while breaking one rule: tags, lengths (off by a few, huge, non-minimal, indefinite),
 * nesting, truncation, duplicated, swapped and removed children, new contents. OCTET STRINGs and [0]
 * primitives whose contents are DER (a PFX's AuthenticatedSafe, a SafeContents) are opened too, so mutations
 * reach the structures inside them.
 */

export type LengthForm =
  | { kind: 'definite' }
  | { kind: 'delta'; delta: number }
  | { kind: 'huge'; octets: number }
  | { kind: 'non-minimal' }
  | { kind: 'indefinite' };

export interface DerNode {
  /** The identifier octets (one, or several for high tag numbers). */
  tag: number[];
  children?: DerNode[];
  content?: Buffer;
  /** A primitive whose content is itself one DER value. */
  inner?: DerNode;
  length?: LengthForm;
  /** Wrappers around the node, innermost first, encoded without recursion (thousands deep). */
  wraps?: number[];
}

/** Decodes valid DER (definite lengths); throws on anything else. */
export function decode(der: Buffer): DerNode {
  const [node, end] = decodeAt(der, 0, 0);
  if (end !== der.length) throw new Error('trailing bytes');
  return node;
}

function decodeAt(der: Buffer, offset: number, depth: number): [DerNode, number] {
  if (depth > 64 || offset + 2 > der.length) throw new Error('not DER');
  const tag = [der[offset]!];
  let at = offset + 1;
  if ((tag[0]! & 0x1f) === 0x1f) throw new Error('high tag numbers are not in the samples');
  let length = der[at++]!;
  if (length === 0x80) throw new Error('indefinite');
  if (length > 0x80) {
    const count = length & 0x7f;
    if (count > 4 || at + count > der.length) throw new Error('length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[at++]!;
  }
  const end = at + length;
  if (end > der.length) throw new Error('short');
  if (tag[0]! & 0x20) {
    const children: DerNode[] = [];
    let cursor = at;
    while (cursor < end) {
      const [child, next] = decodeAt(der, cursor, depth + 1);
      children.push(child);
      cursor = next;
    }
    if (cursor !== end) throw new Error('overrun');
    return [{ tag, children }, end];
  }
  const content = der.subarray(at, end);
  const node: DerNode = { tag, content: Buffer.from(content) };
  // OCTET STRING or [0] primitive holding one constructed DER value: open it.
  if ((tag[0] === 0x04 || tag[0] === 0x80) && content.length > 2 && (content[0]! & 0x20) !== 0) {
    try {
      node.inner = decode(Buffer.from(content));
    } catch {
      // Ciphertext or plain bytes: stays a leaf.
    }
  }
  return [node, end];
}

/** Encodes the tree, mutations and all. */
export function encode(node: DerNode): Buffer {
  let out = encodeOne(node);
  for (const tag of node.wraps ?? []) out = Buffer.concat([Buffer.from([tag]), out.length < 0x80 ? Buffer.from([out.length]) : lengthOctets(out.length), out]);
  return out;
}

function encodeOne(node: DerNode): Buffer {
  const constructed = node.children !== undefined;
  const body = constructed ? Buffer.concat(node.children!.map(encode)) : node.inner !== undefined ? encode(node.inner) : node.content ?? Buffer.alloc(0);
  const form = node.length ?? { kind: 'definite' };
  if (form.kind === 'indefinite') return Buffer.concat([Buffer.from(node.tag), Buffer.from([0x80]), body, Buffer.from([0, 0])]);
  const declared = form.kind === 'delta' ? Math.max(0, body.length + form.delta) : body.length;
  let length: Buffer;
  if (form.kind === 'huge') length = Buffer.from([0x80 | form.octets, ...Array<number>(form.octets).fill(0xff)]);
  else if (form.kind === 'non-minimal') length = Buffer.from([0x84, declared >>> 24, (declared >>> 16) & 0xff, (declared >>> 8) & 0xff, declared & 0xff]);
  else length = declared < 0x80 ? Buffer.from([declared]) : lengthOctets(declared);
  return Buffer.concat([Buffer.from(node.tag), length, body]);
}

function lengthOctets(length: number): Buffer {
  const octets: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) octets.unshift(rest & 0xff);
  return Buffer.from([0x80 | octets.length, ...octets]);
}

/** Every node of the tree (inner values included), parents before children. */
function nodes(root: DerNode): { node: DerNode; parent: DerNode | undefined }[] {
  const out: { node: DerNode; parent: DerNode | undefined }[] = [];
  const walk = (node: DerNode, parent: DerNode | undefined): void => {
    out.push({ node, parent });
    for (const child of node.children ?? []) walk(child, node);
    if (node.inner !== undefined) walk(node.inner, undefined);
  };
  walk(root, undefined);
  return out;
}

export type Mutation =
  | { kind: 'tag'; at: number; tag: number[] }
  | { kind: 'length'; at: number; length: LengthForm }
  | { kind: 'nest'; at: number; tag: number; depth: number }
  | { kind: 'truncate'; at: number; keep: number }
  | { kind: 'duplicate' | 'swap' | 'remove'; at: number; index: number; other: number }
  | { kind: 'content'; at: number; bytes: Uint8Array }
  | { kind: 'integer'; at: number; bytes: Uint8Array };

/** Applies one mutation in place; `at` picks the node modulo the node count. */
export function mutate(root: DerNode, mutation: Mutation): void {
  const all = nodes(root);
  const { node } = all[mutation.at % all.length]!;
  switch (mutation.kind) {
    case 'tag':
      node.tag = mutation.tag;
      return;
    case 'length':
      node.length = mutation.length;
      return;
    case 'nest':
      // The node ends up `depth` wrappers deep: forge's parser recurses once per level.
      node.wraps = [...(node.wraps ?? []), ...Array<number>(mutation.depth).fill(mutation.tag)];
      return;
    case 'truncate':
      if (node.children !== undefined) node.children = node.children.slice(0, mutation.keep % (node.children.length + 1));
      else if (node.inner !== undefined) {
        node.content = encode(node.inner).subarray(0, mutation.keep);
        node.inner = undefined;
      } else if (node.content !== undefined) node.content = node.content.subarray(0, mutation.keep % (node.content.length + 1));
      return;
    case 'duplicate':
    case 'swap':
    case 'remove': {
      const children = node.children;
      if (children === undefined || children.length === 0) return;
      const i = mutation.index % children.length;
      const j = mutation.other % children.length;
      if (mutation.kind === 'duplicate') children.splice(i, 0, structuredClone(children[i]!));
      else if (mutation.kind === 'swap') [children[i], children[j]] = [children[j]!, children[i]!];
      else children.splice(i, 1);
      return;
    }
    case 'content':
      Object.assign(node, { children: undefined, inner: undefined, content: Buffer.from(mutation.bytes) });
      return;
    case 'integer':
      // An INTEGER (iteration counts, versions) with new contents: negative, zero-length, huge.
      if (node.tag[0] === 0x02) node.content = Buffer.from(mutation.bytes);
      return;
  }
}

const lengthForm: fc.Arbitrary<LengthForm> = fc.oneof(
  fc.integer({ min: -4, max: 4 }).filter((d) => d !== 0).map((delta) => ({ kind: 'delta', delta }) as const),
  fc.constantFrom(1, 2, 4, 8, 126).map((octets) => ({ kind: 'huge', octets }) as const),
  fc.constant({ kind: 'non-minimal' } as const),
  fc.constant({ kind: 'indefinite' } as const),
);

const SPECIAL_TAGS: number[][] = [[0x30], [0x31], [0x04], [0x24], [0x06], [0x02], [0xa0], [0x80], [0x1e], [0x05], [0x1f, 0x81, 0x80, 0x01], [0x1f]];
const interestingTag: fc.Arbitrary<number[]> = fc.oneof(
  fc.integer({ min: 0, max: 255 }).map((t) => [t]),
  fc.nat({ max: SPECIAL_TAGS.length - 1 }).map((i) => [...SPECIAL_TAGS[i]!]),
);

/** One mutation; `at`, `index` and `other` are taken modulo what the tree has. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('tag' as const), at: fc.nat(), tag: interestingTag }),
  fc.record({ kind: fc.constant('length' as const), at: fc.nat(), length: lengthForm }),
  fc.record({ kind: fc.constant('nest' as const), at: fc.nat(), tag: fc.constantFrom(0x30, 0x31, 0xa0, 0x24), depth: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.constantFrom(100, 3000)) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), keep: fc.nat({ max: 40 }) }),
  fc.record({ kind: fc.constantFrom('duplicate' as const, 'swap' as const, 'remove' as const), at: fc.nat(), index: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constant('content' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 24 }) }),
  fc.record({
    kind: fc.constant('integer' as const),
    at: fc.nat(),
    bytes: fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.constantFrom(Uint8Array.of(0x27, 0x11), Uint8Array.of(0x27, 0x10), Uint8Array.of(0xff), Uint8Array.of(0x7f, 0xff, 0xff, 0xff))),
  }),
);

/** Decodes a sample, applies the mutations, encodes; optionally cuts the result or flips one byte. */
export function mutated(sample: Buffer, mutations: Mutation[], cut?: { at: number; flip: boolean }): Buffer {
  const tree = decode(sample);
  for (const m of mutations) mutate(tree, m);
  const out = encode(tree);
  if (cut === undefined || out.length === 0) return out;
  const at = cut.at % out.length;
  if (!cut.flip) return out.subarray(0, at);
  const copy = Buffer.from(out);
  copy[at]! ^= 0x5a;
  return copy;
}
