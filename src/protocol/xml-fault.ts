/**
 * Where and why a document is not well-formed (xml-check.ts), and the field a fault in a value names:
 * the open elements, cut to a bounded size.
 */

/**
 * Where and why a document is not well-formed. A fault in a value (a forbidden character, a bad reference)
 * also carries the local names of the open elements, root first, and the attribute's, so the error can
 * name the field the way the document's parser does.
 */
export interface XmlFault {
  offset: number;
  rule: string;
  field?: { elements: string[]; attribute?: string };
}

export type FaultField = XmlFault['field'];

/** Thrown inside the scan at the first fault; the scan's caller returns its XmlFault. */
export class Fault extends Error {
  readonly fault: XmlFault;
  constructor(offset: number, rule: string, field?: FaultField) {
    super(rule);
    this.fault = field === undefined ? { offset, rule } : { offset, rule, field };
  }
}

/** How much of the open elements' path a fault names: the root, then the innermost levels. */
const MAX_FIELD_LEVELS = 8;
const MAX_FIELD_NAME = 64;

const localName = (name: string): string => name.slice(name.lastIndexOf(':') + 1);

/**
 * The field of a value fault, from the open elements (computed only when there is a fault). The names are
 * the document's, so the field is bounded: a name of 120,000 characters, or a hundred nested ones, made
 * an error message of that size in the log, the console, KVP and the event log.
 */
export function faultField(openElements: readonly string[], attribute?: string): FaultField {
  const names = openElements.map((name) => shortName(localName(name)));
  const elements = names.length > MAX_FIELD_LEVELS ? [names[0]!, '...', ...names.slice(-(MAX_FIELD_LEVELS - 2))] : names;
  return attribute === undefined ? { elements } : { elements, attribute: shortName(localName(attribute)) };
}

/** A name cut to MAX_FIELD_NAME characters (whole code points), marked when cut. */
function shortName(name: string): string {
  if (name.length <= MAX_FIELD_NAME) return name;
  return `${Array.from(name).slice(0, MAX_FIELD_NAME).join('')}...`;
}
