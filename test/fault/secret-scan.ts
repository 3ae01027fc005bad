import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import { openCertificateFile } from '../../src/crypto/certificate-file.ts';
import { createTransportCertificate } from '../../src/crypto/transport-cert.ts';
import { WireClient } from '../../src/net/wire-client.ts';
import type { ProvisioningFixture } from '../helpers/provisioning.ts';
import { MAIN, REPO_ROOT } from './support.ts';

/**
 * The secrets scan's tools: the secrets a run is given, every form in which each could leak (raw, escaped,
 * base64, hex; key material by its private parts), and the searches over texts, folders and zips.
 */

const CAPTURE_HOOK = pathToFileURL(join(REPO_ROOT, 'test', 'fault', 'capture-keys.ts')).href;

/** The secrets of one run. */
export interface Planted {
  password: string;
  customData: string;
  pfx: Uint8Array[];
}

/** One searchable form of a secret and what it is, for the failure message. */
export interface Needle {
  what: string;
  text: string;
}

/** A unique admin password and custom data. */
export function plant(): { password: string; customData: string } {
  // Markup characters make the password take several forms (raw, XML-escaped, JSON-escaped); the UUID finds them all.
  return { password: `Pw<&"${randomUUID()}!9`, customData: `#ps1_sysnative\n$secret = 'cd-${randomUUID()}'\n` };
}

/** Every form in which a planted secret could leak: the unique parts raw, base64, hex; key material by its private parts. */
export function needles(planted: Planted, keyPems: string[], { withCustomData = true } = {}): Needle[] {
  const out: Needle[] = [];
  const add = (what: string, text: string) => {
    if (text.length >= 16) out.push({ what, text });
  };
  const uuidOf = (text: string) => /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(text)![0];
  add('password', uuidOf(planted.password));
  add('password (base64)', Buffer.from(planted.password).toString('base64').slice(0, 40));
  add('password (hex)', Buffer.from(planted.password).toString('hex').slice(0, 40));
  if (withCustomData) {
    add('custom data', uuidOf(planted.customData));
    add('custom data (base64)', Buffer.from(planted.customData).toString('base64').slice(0, 40));
    add('custom data (hex)', Buffer.from(planted.customData).toString('hex').slice(0, 40));
  }
  for (const [i, pem] of keyPems.entries()) {
    const key = createPrivateKey(pem);
    const jwk = key.export({ format: 'jwk' });
    for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const) {
      const value = jwk[part]!;
      add(`private key ${i} ${part} (base64url)`, value.slice(8, 48));
      add(`private key ${i} ${part} (base64)`, value.slice(8, 48).replace(/-/g, '+').replace(/_/g, '/'));
      add(`private key ${i} ${part} (hex)`, Buffer.from(value, 'base64url').toString('hex').slice(8, 48));
    }
    // PEM lines past the modulus (public) hold the private exponent and primes.
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      const lines = key.export({ type, format: 'pem' }).toString().split('\n').filter((l) => l.length === 64);
      for (const line of lines.slice(6)) add(`private key ${i} (${type} PEM line)`, line);
    }
  }
  for (const [i, pfx] of planted.pfx.entries()) {
    const b64 = Buffer.from(pfx).toString('base64');
    for (const at of [0.25, 0.5, 0.75]) add(`PFX ${i} (base64)`, b64.slice(Math.floor(b64.length * at), Math.floor(b64.length * at) + 48));
    const hex = Buffer.from(pfx).toString('hex');
    add(`PFX ${i} (hex)`, hex.slice(Math.floor(hex.length / 2), Math.floor(hex.length / 2) + 48));
  }
  out.push({ what: 'a PEM private key', text: 'PRIVATE KEY-----' });
  return out;
}

/** Where each needle was found in one text: "place: what". */
export function findings(place: string, text: string, list: Needle[]): string[] {
  return list.filter((n) => text.includes(n.text)).map((n) => `${place}: ${n.what}`);
}

/** Every file under root, skipping the paths `skip` says; as [relative path, content]. */
export async function filesUnder(root: string, skip: (rel: string) => boolean = () => false): Promise<[string, Buffer][]> {
  const out: [string, Buffer][] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const rel = relative(root, path).split(sep).join('/');
      if (skip(rel)) continue;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) out.push([rel, await readFile(path).catch(() => Buffer.alloc(0))]);
    }
  };
  await walk(root);
  return out;
}

/**
 * Scans a sandbox after a run: everything but the media (the input) and, for the custom data itself,
 * CustomData.bin (which must still hold no password or key). Returns the findings.
 */
export async function scanSandbox(sandboxRoot: string, planted: Planted, keyPems: string[]): Promise<{ findings: string[]; files: string[] }> {
  const files = await filesUnder(sandboxRoot, (rel) => rel === 'drives');
  const all = needles(planted, keyPems);
  const withoutCustomData = needles(planted, keyPems, { withCustomData: false });
  const found = files.flatMap(([rel, data]) =>
    findings(`sandbox/${rel}`, data.toString('latin1'), rel === 'SystemDrive/AzureData/CustomData.bin' ? withoutCustomData : all),
  );
  return { findings: found, files: files.map(([rel]) => rel) };
}

/** The PFX the simulator hands out, fetched and decrypted the way the agent does (consumes one certificates step). */
export async function fetchPfx(fx: ProvisioningFixture): Promise<Uint8Array> {
  const client = new WireClient({ baseUrl: fx.simulator.url, agentVersion: 'secrets-test', connectTimeoutMs: 2_000, readTimeoutMs: 5_000, maxResponseBytes: 1 << 22, deadline: Date.now() + 20_000 });
  await client.negotiateVersion();
  const goalState = await client.goalState();
  const key = await createTransportCertificate();
  const opened = openCertificateFile(await client.certificates(goalState.roleInstance.certificatesUrl!, key.headerValue, 'AES128_CBC'), { keyPem: key.keyPem, certPem: key.certPem });
  assert.equal(opened.kind, 'certificates');
  return opened.kind === 'certificates' ? opened.pfx.reveal() : new Uint8Array();
}

/** The fabric's records of the run: every health report (descriptions included) and every request as recorded. */
export function fabricRecords(fx: ProvisioningFixture): string {
  return JSON.stringify({ reports: fx.simulator.healthReports, requests: fx.simulator.requests });
}

/** How a CLI child process ended and what it printed. */
export interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node src/main.ts ARGS` with the key-capture hook loaded. */
export async function cli(args: string[], env: Record<string, string> = {}): Promise<ChildRun> {
  const child = spawn(process.execPath, ['--import', CAPTURE_HOOK, MAIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** collect-logs for the sandbox, unzipped: every entry's name and text. */
export async function collectLogs(sandboxRoot: string, output: string): Promise<Record<string, string>> {
  const run = await cli(['collect-logs', '--platform', 'sandbox', '--sandbox', sandboxRoot, '-o', output]);
  assert.equal(run.code, 0, run.stderr);
  const entries = unzipSync(await readFile(output));
  return Object.fromEntries(Object.entries(entries).map(([name, data]) => [name, Buffer.from(data).toString('latin1')]));
}

