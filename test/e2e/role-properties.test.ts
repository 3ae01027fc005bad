/**
 * The RDP certificate thumbprint posted to the fabric (POST /machine?comp=roleProperties), sandbox
 * platform against the simulator: once per run that sends Ready, before Ready, in the documented XML;
 * never fatal; not from the deferred mode's specialize run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { provisioningFixture } from '../helpers/provisioning.ts';
import { runCli } from '../helpers/cli.ts';
import { PlatformCommandError } from '../../src/errors.ts';

const PASSWORD = 'Corr3ct-Horse-Battery!';

function order(fx: { simulator: { requests: { endpoint?: string | undefined }[] } }): string[] {
  return fx.simulator.requests.map((r) => r.endpoint ?? '?').filter((e) => e === 'roleProperties' || e === 'health');
}

test('the RDP certificate thumbprint is posted once, in the documented XML, before Ready', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 1 } });
  try {
    const result = await fx.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    const thumbprint = (await fx.machine()).rdpCertificateThumbprint!;
    assert.match(thumbprint, /^[0-9A-F]{40}$/);
    assert.equal(fx.simulator.roleProperties.length, 1);
    const posted = fx.simulator.roleProperties[0]!;
    assert.equal(posted.accepted, true);
    assert.equal(posted.httpStatus, 202);
    assert.equal(posted.containerId, fx.simulator.expected.containerId);
    assert.equal(posted.instanceId, fx.simulator.expected.instanceId);
    assert.deepEqual(posted.properties, [{ name: 'CertificateThumbprint', value: thumbprint }]);
    assert.deepEqual(order(fx), ['health', 'roleProperties', 'health']);
    const request = fx.simulator.requestsTo('roleProperties')[0]!;
    assert.equal(request.method, 'POST');
    assert.equal(request.path, '/machine?comp=roleProperties');
    assert.match(request.headers['content-type'] ?? '', /^text\/xml/);
    const state = await fx.platform.readAgentState();
    assert.deepEqual({ ...state?.rdpCertificate, at: undefined }, { thumbprint, posted: true, httpStatus: 202, at: undefined });
    const status = await runCli(['status', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot]);
    assert.match(status.out, new RegExp(`rdp cert +${thumbprint} posted to the fabric \\(HTTP 202\\)`));
    const json = JSON.parse((await runCli(['status', '--json', '--platform', 'sandbox', '--sandbox', fx.sandboxRoot])).out);
    assert.equal(json.rdpCertificate.thumbprint, thumbprint);
  } finally {
    await fx.close();
  }
});

test('no RDP listener, and a fabric that refuses the post: logged and journaled, Ready still sent', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    await fx.editMachine((m) => delete m.rdpCertificateThumbprint);
    const first = await fx.run();
    assert.equal(first.outcome, 'ready', first.error?.describe());
    assert.equal(fx.simulator.roleProperties.length, 0);
    let state = await fx.platform.readAgentState();
    assert.equal(state?.rdpCertificate?.posted, false);
    assert.match(state?.rdpCertificate?.reason ?? '', /no RDP listener/);
    assert.ok(state?.warnings?.some((w) => w.step === 'rdp-certificate'));
    assert.ok(fx.lines.some((l) => /RDP certificate thumbprint was not posted/.test(l)));
    // Re-runs post again: the warning stays one, and goes once a run has posted it.
    await fx.run();
    await fx.run();
    state = await fx.platform.readAgentState();
    assert.equal(state?.warnings?.filter((w) => w.step === 'rdp-certificate').length, 1);
    await fx.editMachine((m) => void (m.rdpCertificateThumbprint = 'AB'.repeat(20)));
    assert.equal((await fx.run()).alreadyProvisioned, true);
    state = await fx.platform.readAgentState();
    assert.equal(state?.rdpCertificate?.posted, true);
    assert.equal(state?.warnings?.some((w) => w.step === 'rdp-certificate') ?? false, false);
  } finally {
    await fx.close();
  }
  const cimError = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    // What a CIM failure (WMI repository, access denied) looks like from the platform.
    cimError.platform.readRdpCertificateThumbprint = async () => {
      throw new PlatformCommandError('readRdpCertificate', 'Get-CimInstance failed: HRESULT 0x80041010');
    };
    const result = await cimError.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    assert.equal(cimError.simulator.roleProperties.length, 0);
    assert.match(result.state.rdpCertificate?.reason ?? '', /could not be read: .*0x80041010/);
  } finally {
    await cimError.close();
  }
  const refused = await provisioningFixture({
    scenario: { adminPassword: PASSWORD, certificateCount: 0 },
    faults: { endpoints: { roleProperties: [{ status: 400 }] } },
  });
  try {
    const result = await refused.run();
    assert.equal(result.outcome, 'ready', result.error?.describe());
    assert.equal(result.exitCode, 0);
    assert.equal(refused.simulator.roleProperties.length, 1, 'a 400 is not repeated');
    const state = await refused.platform.readAgentState();
    assert.equal(state?.rdpCertificate?.posted, false);
    assert.equal(state?.rdpCertificate?.httpStatus, 400);
    assert.deepEqual(refused.simulator.healthReports.map((r) => r.state), ['NotReady', 'Ready']);
  } finally {
    await refused.close();
  }
});

test('deferred mode: the specialize run does not post; the SetupComplete run posts before Ready; a re-run posts again', async () => {
  const fx = await provisioningFixture({ scenario: { adminPassword: PASSWORD, certificateCount: 0 } });
  try {
    assert.equal((await fx.run({ phase: 'apply' })).outcome, 'applied');
    assert.equal(fx.simulator.roleProperties.length, 0, 'specialize sends no Ready, so no role properties');
    // Remote Desktop makes the VM's own certificate after the image's was generalized away.
    await fx.editMachine((m) => void (m.rdpCertificateThumbprint = 'ab'.repeat(20)));
    assert.equal((await fx.run()).outcome, 'ready');
    assert.deepEqual(fx.simulator.roleProperties.map((r) => r.certificateThumbprint), ['AB'.repeat(20)]);
    assert.deepEqual(order(fx), ['health', 'roleProperties', 'health']);
    assert.equal((await fx.run()).alreadyProvisioned, true);
    assert.deepEqual(fx.simulator.roleProperties.map((r) => r.accepted), [true, true], 'posted again: the fabric keeps the last');
  } finally {
    await fx.close();
  }
});
