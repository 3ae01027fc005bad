/**
 * AdditionalUnattendContent applied into the oobeSystem pass of the answer file Setup reads after
 * specialize (%WINDIR%\Panther\Unattend\unattend.xml), sandbox platform against the simulator: merged as
 * Azure's answer file carries it, idempotent, refused when hostile before anything changes, and the
 * AutoLogon password in no copy winprov keeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { provisioningFixture, type ProvisioningFixture } from '../helpers/provisioning.ts';
import { parseXml } from '../../src/protocol/xml.ts';

const PASSWORD = 'Corr3ct-Horse-Battery!';
const AUTOLOGON_PASSWORD = 'Aut0-L0gon-Secret-7a1c!';
const AUTOLOGON = `<AutoLogon><Password><Value>${AUTOLOGON_PASSWORD}</Value><PlainText>true</PlainText></Password><Enabled>true</Enabled><LogonCount>1</LogonCount><Username>azureuser</Username></AutoLogon>`;
const COMMANDS = '<FirstLogonCommands><SynchronousCommand wcm:action="add"><CommandLine>cmd /c echo first &gt; C:\\first.txt</CommandLine><Description>first</Description><Order>1</Order></SynchronousCommand>'
  + '<SynchronousCommand><CommandLine>powershell -NoProfile -Command "Get-Date"</CommandLine><Order>2</Order><RequiresUserInput>false</RequiresUserInput></SynchronousCommand></FirstLogonCommands>';
const TEMPLATE = new URL('../../unattend/unattend.xml', import.meta.url);

async function fixture(scenario: Record<string, unknown>): Promise<ProvisioningFixture> {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 0, ...scenario } });
  // What prepare-image leaves in the image.
  await fx.platform.installUnattend(await readFile(TEMPLATE, 'utf8'));
  return fx;
}

const fail = (field: string, rule: string): Error => new Error(`${field} ${rule}`);

/** The tree without whitespace-only text (indentation). */
function clean(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(clean);
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === '#text' && typeof v === 'string' && v.trim() === '')).map(([k, v]) => [k, clean(v)]));
}

/** The oobeSystem Shell-Setup component of an answer file, as the XML layer reads it. */
function shellSetup(xml: string): Record<string, any> {
  const doc = clean(parseXml(xml, fail, { arrays: ['settings', 'component', 'SynchronousCommand'] })) as any;
  const pass = doc.unattend.settings.find((s: any) => s['@_pass'] === 'oobeSystem');
  const components = pass.component.filter((c: any) => c['@_name'] === 'Microsoft-Windows-Shell-Setup');
  assert.equal(components.length, 1);
  return components[0];
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

test('AutoLogon and FirstLogonCommands are merged into the oobeSystem pass of the answer file Setup reads next', async () => {
  const fx = await fixture({ autoLogonContent: AUTOLOGON, firstLogonCommandsContent: COMMANDS });
  try {
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    const path = join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml');
    const merged = await readFile(path, 'utf8');
    const component = shellSetup(merged);
    assert.deepEqual(component.OOBE, { HideEULAPage: 'true', ProtectYourPC: '3', SkipMachineOOBE: 'true', SkipUserOOBE: 'true' }, 'the template settings stay');
    assert.deepEqual(component.AutoLogon, { Password: { Value: AUTOLOGON_PASSWORD, PlainText: 'true' }, Enabled: 'true', LogonCount: '1', Username: 'azureuser' });
    assert.deepEqual(component.FirstLogonCommands.SynchronousCommand, [
      { CommandLine: 'cmd /c echo first > C:\\first.txt', Description: 'first', Order: '1', '@_action': 'add' },
      { CommandLine: 'powershell -NoProfile -Command "Get-Date"', Order: '2', RequiresUserInput: 'false', '@_action': 'add' },
    ]);
    // The specialize pass (winprov's own command) is untouched.
    const template = await readFile(TEMPLATE, 'utf8');
    const specialize = (xml: string): string => xml.slice(xml.indexOf('<settings pass="specialize">'), xml.indexOf('<settings pass="oobeSystem">'));
    assert.equal(specialize(merged), specialize(template));
    assert.equal((await stat(path)).mode & 0o077, 0, 'limited to its owner (SYSTEM and Administrators on Windows)');
    assert.deepEqual((await fx.machine()).acls['Windows/Panther/Unattend/unattend.xml'], ['SYSTEM', 'Administrators']);

    const state = await fx.platform.readAgentState();
    const applied = state?.applied.find((a) => a.what === 'unattend');
    assert.match(applied?.detail ?? '', /AutoLogon \(azureuser, 1 logon\(s\)\), FirstLogonCommands \(2 commands\) into the oobeSystem pass/);

    // The password is in Setup's answer file only: not in the logs, the journal, the ovf-env copy, machine.json.
    for (const file of await filesUnder(fx.sandboxRoot)) {
      if (file === path || file.includes(`${join('drives', 'D')}`)) continue;
      assert.ok(!(await readFile(file, 'utf8')).includes(AUTOLOGON_PASSWORD), `${file} holds the AutoLogon password`);
    }
    assert.ok(!fx.lines.join('\n').includes(AUTOLOGON_PASSWORD));
    assert.match(await readFile(join(fx.platform.stateDirectory, 'ovf-env.xml'), 'utf8'), /<Content>\[redacted\]<\/Content>/);

    // A second run on the provisioned machine applies nothing; the file stays as merged.
    assert.equal((await fx.run()).alreadyProvisioned, true);
    assert.equal(await readFile(path, 'utf8'), merged);
  } finally {
    await fx.close();
  }
});

test('deferred mode: specialize merges the content; the SetupComplete run applies nothing again', async () => {
  const fx = await fixture({ firstLogonCommandsContent: COMMANDS });
  try {
    assert.equal((await fx.run({ phase: 'apply' })).outcome, 'applied');
    const path = join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml');
    const merged = await readFile(path, 'utf8');
    assert.equal(shellSetup(merged).FirstLogonCommands.SynchronousCommand.length, 2);
    const changes = (await fx.machine()).changes.length;
    assert.equal((await fx.run()).outcome, 'ready');
    assert.equal(await readFile(path, 'utf8'), merged);
    assert.equal((await fx.machine()).changes.filter((c) => c.verb === 'writeAnswerFile').length, 1);
    assert.ok((await fx.machine()).changes.length >= changes);
  } finally {
    await fx.close();
  }
});

const HOSTILE: [string, Record<string, string>, RegExp][] = [
  ['a DOCTYPE', { autoLogonContent: '<!DOCTYPE AutoLogon [<!ENTITY e SYSTEM "file:///c:/windows/win.ini">]><AutoLogon><Username>&e;</Username></AutoLogon>' }, /Content: .*well-formed XML whose one root element is AutoLogon/],
  ['another setting as root', { autoLogonContent: '<RunSynchronous><RunSynchronousCommand><Path>cmd</Path></RunSynchronousCommand></RunSynchronous>' }, /root element is AutoLogon/],
  ['another setting inside', { firstLogonCommandsContent: '<FirstLogonCommands><SynchronousCommand><CommandLine>a</CommandLine><Order>1</Order></SynchronousCommand><LogonCommands/></FirstLogonCommands>' }, /must not contain LogonCommands: only SynchronousCommand/],
  ['a component break-out', { autoLogonContent: '<AutoLogon><Username>u</Username><component name="Microsoft-Windows-Deployment"/></AutoLogon>' }, /must not contain component/],
  ['oversize', { firstLogonCommandsContent: `<FirstLogonCommands><SynchronousCommand><CommandLine>${'x'.repeat(4100)}</CommandLine><Order>1</Order></SynchronousCommand></FirstLogonCommands>` }, /must be less than 4 KB/],
  ['malformed', { firstLogonCommandsContent: '<FirstLogonCommands><SynchronousCommand></FirstLogonCommands>' }, /well-formed XML/],
  ['markup injected through a value', { firstLogonCommandsContent: '<FirstLogonCommands><SynchronousCommand><CommandLine>a&lt;/CommandLine&gt;&lt;/SynchronousCommand&gt;&lt;/FirstLogonCommands&gt;&lt;/component&gt;</CommandLine><Order>1</Order></SynchronousCommand></FirstLogonCommands>' }, /CommandLine must not contain XML markup/],
  ['a line break in a value', { autoLogonContent: '<AutoLogon><Username>u&#10;x</Username></AutoLogon>' }, /Username must not contain control characters/],
  ['a quote in the user name', { autoLogonContent: '<AutoLogon><Username>u" x="y</Username></AutoLogon>' }, /Username must be 1 to 256 characters/],
  ['an attribute', { firstLogonCommandsContent: '<FirstLogonCommands><SynchronousCommand wcm:action="modify"><CommandLine>a</CommandLine><Order>1</Order></SynchronousCommand></FirstLogonCommands>' }, /may carry only wcm:action="add"/],
  ['a repeated Order', { firstLogonCommandsContent: '<FirstLogonCommands><SynchronousCommand><CommandLine>a</CommandLine><Order>1</Order></SynchronousCommand><SynchronousCommand><CommandLine>b</CommandLine><Order>1</Order></SynchronousCommand></FirstLogonCommands>' }, /its own Order/],
];

for (const [name, scenario, rule] of HOSTILE) {
  test(`hostile unattend content is refused before anything changes: ${name}`, async () => {
    const fx = await fixture(scenario);
    try {
      const before = await fx.machine();
      const result = await fx.run();
      assert.equal(result.outcome, 'failed');
      assert.equal(result.error?.code, 'OVF_INVALID');
      assert.equal(result.exitCode, 3);
      assert.match(result.error!.reason, rule);
      const after = await fx.machine();
      assert.deepEqual(after.changes.filter((c) => c.verb !== 'recordEvent' && c.verb !== 'writeKvpReport'), before.changes, 'nothing changed');
      assert.equal(await readFile(join(fx.sandboxRoot, 'Windows', 'Panther', 'Unattend', 'unattend.xml'), 'utf8'), await readFile(TEMPLATE, 'utf8'));
      const report = fx.simulator.healthReports.at(-1)!;
      assert.equal(report.subStatus, 'ProvisioningFailed');
      assert.ok(!/Aut0|first\.txt|win\.ini/.test(report.description ?? ''), 'the content is not quoted');
    } finally {
      await fx.close();
    }
  });
}

test('content without an answer file to carry it fails the run with a named error', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 0, firstLogonCommandsContent: COMMANDS } });
  try {
    const result = await fx.run();
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error?.code, 'PLATFORM_REJECTED');
    assert.match(result.error!.reason, /no answer file at %WINDIR%\\Panther\\Unattend\\unattend.xml/);
  } finally {
    await fx.close();
  }
});
