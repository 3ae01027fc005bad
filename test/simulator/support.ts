import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import forge from 'node-forge';
import type { FabricSimulator } from '../../src/simulator/index.ts';

/** Test helpers for the simulator tests: a plain node:http client, a raw socket client, a transport key pair. */

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** One request with node:http, no keep-alive, no agent code involved. */
export function httpRequest(url: string, options: HttpOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The headers every goal-state document request carries (WALA's, with our version). */
export const AGENT_HEADERS = { 'x-ms-agent-name': 'winprov-test', 'x-ms-version': '2012-11-30' };

/** Sends a raw HTTP/1.1 request and returns every byte the server sent before closing. */
export function rawExchange(url: string, requestText: string): Promise<{ bytes: Buffer; error?: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: hostname, port: Number(port) });
    socket.on('connect', () => socket.write(requestText));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ bytes: Buffer.concat(chunks), error: err.code ?? err.message }));
    socket.on('close', () => resolve({ bytes: Buffer.concat(chunks) }));
  });
}

/** Splits a raw HTTP response into status, headers and body. */
export function parseRaw(bytes: Buffer): { status: number; headers: Record<string, string>; body: Buffer } {
  const end = bytes.indexOf('\r\n\r\n');
  const head = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(head[0]!.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, body: bytes.subarray(end + 4) };
}

/** The text of the first element with this name (regex is enough for our own well-formed templates). */
export function elementText(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

/** Undoes the XML escaping of a URL taken from the goal state. */
export function unescapeXml(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&apos;', "'").replaceAll('&amp;', '&');
}

/** Fetches the goal state and returns its document URLs, unescaped. */
export async function goalStateUrls(sim: FabricSimulator): Promise<{ xml: string; hostingEnvironmentConfig: string; sharedConfig: string; certificates?: string }> {
  const res = await httpRequest(`${sim.url}/machine/?comp=goalstate`, { headers: AGENT_HEADERS });
  if (res.status !== 200) throw new Error(`goal state answered ${res.status}: ${res.text}`);
  const url = (name: string): string | undefined => {
    const raw = elementText(res.text, name);
    return raw === undefined ? undefined : unescapeXml(raw);
  };
  const certificates = url('Certificates');
  return {
    xml: res.text,
    hostingEnvironmentConfig: url('HostingEnvironmentConfig')!,
    sharedConfig: url('SharedConfig')!,
    ...(certificates === undefined ? {} : { certificates }),
  };
}

const escape = (text: string): string => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** A health report body, WALA's shape, values escaped. */
export function healthBody(raw: { incarnation: string; containerId: string; instanceId: string; state: string; subStatus?: string; description?: string }): string {
  const values = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v === undefined ? undefined : escape(v)])) as typeof raw;
  const details =
    values.subStatus === undefined && values.description === undefined
      ? ''
      : `<Details>${values.subStatus === undefined ? '' : `<SubStatus>${values.subStatus}</SubStatus>`}${
          values.description === undefined ? '' : `<Description>${values.description}</Description>`
        }</Details>`;
  return `<?xml version="1.0" encoding="utf-8"?><Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><GoalStateIncarnation>${values.incarnation}</GoalStateIncarnation><Container><ContainerId>${values.containerId}</ContainerId><RoleInstanceList><Role><InstanceId>${values.instanceId}</InstanceId><Health><State>${values.state}</State>${details}</Health></Role></RoleInstanceList></Container></Health>`;
}

/** POSTs a health report to the simulator. */
export function postHealth(sim: FabricSimulator, body: string, path = '/machine?comp=health'): Promise<HttpResult> {
  return httpRequest(`${sim.url}${path}`, {
    method: 'POST',
    headers: { ...AGENT_HEADERS, 'content-type': 'text/xml; charset=utf-8' },
    body,
  });
}

/** A Ready report for the simulator's current goal state. */
export function readyBody(sim: FabricSimulator): string {
  const { incarnation, containerId, instanceId } = sim.expected;
  return healthBody({ incarnation, containerId, instanceId, state: 'Ready' });
}

export interface TransportPair {
  privateKeyPem: string;
  certificate: forge.pki.Certificate;
  /** The header value: base64 DER, no PEM lines. */
  header: string;
  /** Hex subject key identifier the fabric addresses the envelope to. */
  subjectKeyIdentifier: string;
}

/** A fresh self-signed RSA transport certificate with an SKI extension, as an agent makes one. */
export function makeTransportPair(): TransportPair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = `01${randomBytes(6).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 3600_000);
  cert.setSubject([{ name: 'commonName', value: 'winprov test transport' }]);
  cert.setIssuer([{ name: 'commonName', value: 'winprov test transport' }]);
  cert.setExtensions([{ name: 'subjectKeyIdentifier' }]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  const der = forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes();
  const ski = cert.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier: string };
  return { privateKeyPem: privateKey, certificate: cert, header: Buffer.from(der, 'binary').toString('base64'), subjectKeyIdentifier: ski.subjectKeyIdentifier };
}

/** Waits until predicate() holds (polling every 5 ms), for events the test cannot await directly. */
export async function waitFor(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
