import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Answer } from './answers.ts';
import { malformedXml, oversizeBody } from './templates.ts';

/**
 * Putting answers on the wire, faithfully or broken on purpose (truncated, malformed, oversize), and
 * reading request bodies with a cap.
 */

function bytesOf(body: string | Uint8Array): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Sends an answer with an exact Content-Length. */
export function sendAnswer(res: ServerResponse, answer: Answer): void {
  if (res.destroyed || res.headersSent) return;
  const body = bytesOf(answer.body);
  res.writeHead(answer.status, { 'content-type': answer.contentType, 'content-length': String(body.length), ...answer.headers });
  res.end(body);
}

/** The truncate fault: announces the full length, sends the first half, then closes the connection. */
export function sendTruncated(res: ServerResponse, answer: Answer): void {
  if (res.destroyed || res.headersSent) return;
  let body = bytesOf(answer.body);
  // An empty answer (the health report's) cannot be cut: announce a document that never comes.
  if (body.length < 2) body = Buffer.from('<?xml version="1.0" encoding="utf-8"?>\n');
  res.writeHead(answer.status, { 'content-type': answer.contentType, 'content-length': String(body.length), ...answer.headers });
  res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
}

/** The malformed fault: the normal status with a body that is not well-formed XML. */
export function sendMalformed(res: ServerResponse, answer: Answer): void {
  const text = typeof answer.body === 'string' ? answer.body : Buffer.from(answer.body).toString('utf8');
  sendAnswer(res, { ...answer, contentType: 'text/xml; charset=utf-8', body: malformedXml(text) });
}

/** The oversize fault: the normal status with a 4 MiB body. */
export function sendOversize(res: ServerResponse, answer: Answer): void {
  sendAnswer(res, { ...answer, contentType: 'text/xml; charset=utf-8', body: oversizeBody() });
}

/** Reads a request body up to maxBytes; undefined when it is longer (the rest is discarded). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLong = false;
  for await (const chunk of req) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    if (size > maxBytes) tooLong = true;
    if (!tooLong) chunks.push(bytes);
  }
  return tooLong ? undefined : Buffer.concat(chunks);
}

/** Longer header values (the transport certificate) are shortened in the request log. */
export const MAX_RECORDED_HEADER = 96;

/** Request headers for the log: one string per name, long values shortened to their start and length. */
export function recordableHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const text = Array.isArray(value) ? value.join(', ') : value;
    out[name] = text.length > MAX_RECORDED_HEADER ? `${text.slice(0, 40)}...(${text.length} chars)` : text;
  }
  return out;
}
