import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PlatformCommandError, PlatformRejectedError } from '../../../src/errors.ts';
import type { WinRmListenerRequest } from '../../../src/platform/platform.ts';
import { WindowsPlatform } from '../../../src/platform/windows/windows-platform.ts';
import { toWinRmParams, toWinRmResults, type WinRmListenerParams } from '../../../src/platform/windows/winrm.ts';
import { FakeRunner, requests, type Reply } from './fake-runner.ts';

const CERT = '3b1f0c9a77d2e4f5a6b7c8d9e0f1a2b3c4d5e6f7';
const OTHER = 'A1B2C3D4E5F60718293A4B5C6D7E8F9012345678';

type Listener = { protocol: string; certificateThumbprint: string | null };

/** A winrm.ps1 answer for the listeners sent: each protocol on its port, with the outcomes given in order. */
function answer(listeners: Listener[], outcomes: string[], extra: { serviceStarted?: boolean; startModeChanged?: boolean; firewallRule?: string } = {}): Reply {
  return {
    result: {
      results: listeners.map((l, i) => ({
        protocol: l.protocol,
        port: l.protocol === 'Https' ? 5986 : 5985,
        outcome: outcomes[i],
        ...(l.protocol === 'Https' ? { hostname: 'web01.example.net' } : {}),
        firewallRule: extra.firewallRule ?? 'present',
        ruleName: `winprov-WinRM-${l.protocol.toUpperCase()}-In`,
      })),
      serviceStarted: extra.serviceStarted ?? false,
      startModeChanged: extra.startModeChanged ?? false,
    },
  };
}

function makePlatform(respond: (listeners: Listener[]) => Reply) {
  const logged: string[] = [];
  const runner = new FakeRunner((verb, params) => (verb === 'configureWinRm' ? respond(params.listeners as Listener[]) : { error: { message: `unexpected ${verb}` } }));
  const platform = new WindowsPlatform({ runner, requestTimeoutMs: 2_000, log: (level, message) => logged.push(`${level}: ${message}`) });
  return { runner, platform, logged };
}

test('Https thumbprints travel uppercase as JSON, Http carries none, and outcomes come back in request order', async () => {
  const { runner, platform } = makePlatform((listeners) => answer(listeners, ['present', 'recreated']));
  const results = await platform.configureWinRm([
    { protocol: 'Http', certificateThumbprint: OTHER },
    { protocol: 'Https', certificateThumbprint: CERT },
  ]);
  await platform.close();
  assert.deepEqual(results, [
    { protocol: 'Http', port: 5985, outcome: 'present' },
    { protocol: 'Https', port: 5986, outcome: 'recreated', hostname: 'web01.example.net' },
  ]);
  assert.equal(runner.spawns.length, 1);
  const sent = requests(runner.spawns[0]!).filter((r) => r.verb !== 'exit');
  assert.deepEqual(sent.map((r) => r.params), [{ listeners: [{ protocol: 'Http', certificateThumbprint: null }, { protocol: 'Https', certificateThumbprint: CERT.toUpperCase() }] }]);
  assert.ok(!runner.spawns[0]!.args.some((arg) => arg.toUpperCase().includes(CERT.toUpperCase())), 'the thumbprint is not on the command line');
});

test('a listener request Windows could not use is refused before PowerShell starts, naming the value', async () => {
  const { runner, platform } = makePlatform((listeners) => answer(listeners, listeners.map(() => 'created')));
  const bad: [WinRmListenerRequest, RegExp][] = [
    [{ protocol: 'Https', certificateThumbprint: '12345' }, /thumbprint "12345" is not 40 hexadecimal digits/],
    [{ protocol: 'Https', certificateThumbprint: 'Z'.repeat(40) }, /thumbprint "Z{40}" is not 40 hexadecimal digits/],
    [{ protocol: 'Https', certificateThumbprint: `${CERT}0` }, /is not 40 hexadecimal digits/],
    [{ protocol: 'Https', certificateThumbprint: ` ${CERT.slice(1)}` }, /is not 40 hexadecimal digits/],
    [{ protocol: 'Https', certificateThumbprint: undefined }, /the HTTPS listener's certificate thumbprint is missing/],
    [{ protocol: 'Ftp' as 'Http', certificateThumbprint: undefined }, /protocol "Ftp" is neither Http nor Https/],
  ];
  for (const [request, message] of bad) {
    // One bad entry refuses the whole list: nothing is half-configured.
    const err = await platform.configureWinRm([{ protocol: 'Http', certificateThumbprint: undefined }, request]).catch((e: unknown) => e);
    assert.ok(err instanceof PlatformRejectedError, String(err));
    assert.match(err.message, /^configureWinRm: /);
    assert.match(err.message, message);
  }
  assert.deepEqual(await platform.configureWinRm([]), []);
  assert.equal(runner.spawns.length, 0, 'no PowerShell was started');
  await platform.close();
});

test('a certificate that is not in LocalMachine\\My with its private key is a rejection naming the thumbprint', async () => {
  // What Stop-WinprovRejected in winrm.ps1 sends back, built from the thumbprint the script received.
  const { platform } = makePlatform((listeners) => ({
    error: {
      message: `the HTTPS listener's certificate ${listeners[0]!.certificateThumbprint} is not in LocalMachine\\My with its private key`,
      fullyQualifiedErrorId: 'WinprovRejected',
      category: 'InvalidArgument',
      rule: `the HTTPS listener's certificate ${listeners[0]!.certificateThumbprint} is not in LocalMachine\\My with its private key`,
    },
  }));
  const err = await platform.configureWinRm([{ protocol: 'Https', certificateThumbprint: CERT }]).catch((e: unknown) => e);
  await platform.close();
  assert.ok(err instanceof PlatformRejectedError, String(err));
  assert.ok(err.message.startsWith(`configureWinRm: the HTTPS listener's certificate ${CERT.toUpperCase()} is not in LocalMachine\\My with its private key`), err.message);
  assert.equal(err.context.verb, 'configureWinRm');
});

test('a WinRM failure that is not a rule of ours stays a command error with Windows text', async () => {
  const { platform } = makePlatform(() => ({
    error: { message: 'The WS-Management service cannot process the request. The service is not running.', fullyQualifiedErrorId: 'Microsoft.WSMan.Management.NewWSManInstanceCommand', hresult: -2144108526 },
  }));
  const err = await platform.configureWinRm([{ protocol: 'Http', certificateThumbprint: undefined }]).catch((e: unknown) => e);
  await platform.close();
  assert.ok(err instanceof PlatformCommandError, String(err));
  assert.match(err.message, /^configureWinRm failed: The WS-Management service cannot process the request\..*NewWSManInstanceCommand.*HRESULT 0x80338012/);
});

test('the service start, its start mode and each firewall rule created are logged; present rules are not', async () => {
  const first = makePlatform((listeners) => answer(listeners, ['created', 'created'], { serviceStarted: true, startModeChanged: true, firewallRule: 'created' }));
  await first.platform.configureWinRm([{ protocol: 'Http', certificateThumbprint: undefined }, { protocol: 'Https', certificateThumbprint: CERT }]);
  await first.platform.close();
  assert.ok(first.logged.includes('info: set the WinRM service to start automatically'));
  assert.ok(first.logged.includes('info: started the WinRM service'));
  assert.ok(first.logged.includes('info: opened TCP 5985 inbound for WinRM Http (firewall rule winprov-WinRM-HTTP-In)'));
  assert.ok(first.logged.includes('info: opened TCP 5986 inbound for WinRM Https (firewall rule winprov-WinRM-HTTPS-In)'));

  const again = makePlatform((listeners) => answer(listeners, ['present']));
  assert.deepEqual(await again.platform.configureWinRm([{ protocol: 'Https', certificateThumbprint: CERT }]), [{ protocol: 'Https', port: 5986, outcome: 'present', hostname: 'web01.example.net' }]);
  await again.platform.close();
  assert.ok(!again.logged.some((line) => /WinRM service|opened TCP/.test(line)), again.logged.join('\n'));
});

test('an answer that does not match the requests fails loudly instead of reporting listeners that may not exist', () => {
  const requested: WinRmListenerParams[] = toWinRmParams([{ protocol: 'Http', certificateThumbprint: undefined }, { protocol: 'Https', certificateThumbprint: CERT }]);
  const good = (answer(requested, ['created', 'present']) as { result: { results: Record<string, unknown>[] } }).result;
  const noLog = () => undefined;
  assert.deepEqual(toWinRmResults(good, requested, noLog).map((r) => r.outcome), ['created', 'present']);
  const broken: [unknown, RegExp][] = [
    [{ ...good, results: good.results.slice(0, 1) }, /answered for 1 WinRM listeners, 2 were asked for/],
    [{ ...good, results: [...good.results].reverse() }, /answer 1 is Https on port 5986, not Http on 5985/],
    [{ ...good, results: [good.results[0], { ...good.results[1], port: 443 }] }, /answer 2 is Https on port 443, not Https on 5986/],
    [{ ...good, results: [good.results[0], { ...good.results[1], outcome: 'replaced' }] }, /no valid outcome \(expected one of created, recreated, present/],
    [{ ...good, results: [good.results[0], { ...good.results[1], firewallRule: undefined }] }, /no valid firewallRule/],
    [{ results: good.results }, /no valid startModeChanged/],
    [null, /no valid the result/],
  ];
  for (const [value, message] of broken) {
    assert.throws(() => toWinRmResults(value, requested, noLog), (err: unknown) => err instanceof PlatformCommandError && message.test(err.message), String(message));
  }
});
