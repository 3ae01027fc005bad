import http from 'node:http';
import { performance } from 'node:perf_hooks';

/**
 * The fabric part of the floor: a minimal raw-HTTP client making the agent's requests against the same
 * simulator, in the agent's order and with its overlap (a fresh connection per request, as the agent's
 * http.ts does): versions -> goal state -> { hosting environment config, certificates, NotReady/Provisioning
 * report } at once -> Ready. No retries, no XML parser, no logging: what is left is the fabric's own time.
 */

/** The time the sequence took and the CertificateFile Data it received (base64-decoded), if any. */
export interface FabricSequence {
  ms: number;
  certificateData: Buffer | undefined;
}

const AGENT_HEADERS = { 'x-ms-agent-name': 'winprov-bench', 'x-ms-version': '2015-04-05' };

/** Runs the request sequence once against baseUrl; transportHeader is the base64 DER transport certificate. */
export async function fabricSequence(baseUrl: string, transportHeader: string): Promise<FabricSequence> {
  const started = performance.now();
  await request('GET', `${baseUrl}/?comp=versions`, {});
  const goalState = (await request('GET', `${baseUrl}/machine/?comp=goalstate`, AGENT_HEADERS)).toString('utf8');
  const ids = {
    incarnation: element(goalState, 'Incarnation'),
    containerId: element(goalState, 'ContainerId'),
    instanceId: element(goalState, 'InstanceId'),
  };
  const certificatesUrl = optionalElement(goalState, 'Certificates');
  const hostingUrl = element(goalState, 'HostingEnvironmentConfig');
  const provisioning = request('POST', `${baseUrl}/machine?comp=health`, { ...AGENT_HEADERS, 'Content-Type': 'text/xml;charset=utf-8' }, healthXml(ids, 'NotReady'));
  let certificateData: Buffer | undefined;
  if (certificatesUrl !== undefined) {
    const [, file] = await Promise.all([
      request('GET', hostingUrl, AGENT_HEADERS),
      request('GET', certificatesUrl, { ...AGENT_HEADERS, 'x-ms-cipher-name': 'AES128_CBC', 'x-ms-guest-agent-public-x509-cert': transportHeader }),
    ]);
    certificateData = Buffer.from(element(file.toString('utf8'), 'Data').replace(/\s+/g, ''), 'base64');
  }
  await provisioning;
  await request('POST', `${baseUrl}/machine?comp=health`, { ...AGENT_HEADERS, 'Content-Type': 'text/xml;charset=utf-8' }, healthXml(ids, 'Ready'));
  return { ms: performance.now() - started, certificateData };
}

/** The health report the agent sends, written out by hand (values are ids without markup). */
export function healthXml(ids: { incarnation: string; containerId: string; instanceId: string }, state: 'Ready' | 'NotReady'): string {
  const details = state === 'NotReady' ? '<Details><SubStatus>Provisioning</SubStatus><Description>provisioning</Description></Details>' : '';
  return '<?xml version="1.0" encoding="utf-8"?>' +
    '<Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">' +
    `<GoalStateIncarnation>${ids.incarnation}</GoalStateIncarnation><Container><ContainerId>${ids.containerId}</ContainerId>` +
    `<RoleInstanceList><Role><InstanceId>${ids.instanceId}</InstanceId><Health><State>${state}</State>${details}</Health></Role></RoleInstanceList>` +
    '</Container></Health>';
}

function optionalElement(xml: string, name: string): string | undefined {
  const match = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return match === null ? undefined : match[1]!.trim().replaceAll('&amp;', '&');
}

function element(xml: string, name: string): string {
  const value = optionalElement(xml, name);
  if (value === undefined) throw new Error(`the fabric's answer has no <${name}>`);
  return value;
}

/** One request on a fresh connection; rejects unless the answer is 200. */
function request(method: 'GET' | 'POST', url: string, headers: Record<string, string>, body?: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const all = { ...headers, Connection: 'close', ...(body === undefined ? {} : { 'Content-Length': String(Buffer.byteLength(body)) }) };
    const req = http.request(url, { method, headers: all, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if (res.statusCode === 200) resolve(Buffer.concat(chunks));
        else reject(new Error(`${method} ${url}: HTTP ${res.statusCode} ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}
