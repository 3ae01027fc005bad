import { OvfError } from './errors.ts';
import { Secret } from './util/secret.ts';
import type { Journal } from './journal.ts';
import type { ProvisioningConfig } from './protocol/ovf-env.ts';
import type { CertificateBundle, Platform, ProvisioningMedia } from './platform/platform.ts';

/**
 * The apply steps, in order, each idempotent and each recorded in the journal before it returns:
 * computer name, admin account, certificates, WinRM listeners, custom data, time zone. Run again on the same machine
 * they change nothing (the platform compares against what is already there).
 */
export async function applyConfiguration(
  platform: Platform,
  journal: Journal,
  config: ProvisioningConfig,
  media: ProvisioningMedia,
  certificates: CertificateBundle | undefined,
): Promise<void> {
  await journal.step('computer-name', async () => {
    const outcome = await platform.setComputerName(config.computerName);
    if (outcome === 'renamed') await journal.applied('computer-name', `pending rename to ${config.computerName}, effective after the reboot that follows specialize`);
    return outcome;
  }, (outcome) => `${config.computerName} ${outcome}`);

  await journal.step('admin-account', async () => {
    const outcome = await platform.ensureAdminAccount({
      username: config.adminUsername,
      password: config.adminPassword,
      resetPasswordOnFirstLogon: config.resetPasswordOnFirstLogon,
    });
    await journal.applied('admin-account', `${outcome} ${config.adminUsername}, member of Administrators`);
    return outcome;
  }, (outcome) => `${config.adminUsername} ${outcome}`);

  if (certificates === undefined || certificates.placements.length === 0) {
    await journal.skip('certificate-import', 'the fabric sent no certificates');
  } else {
    await journal.step('certificate-import', async () => {
      const results = await platform.importCertificates(certificates);
      // Recorded together, so the journal writes them once rather than once per certificate.
      await Promise.all(results.filter((r) => r.outcome === 'imported').map((result) =>
        journal.applied('certificate', `${result.thumbprint} into LocalMachine\\${result.store}`)));
      return results;
    }, (results) => `${results.filter((r) => r.outcome === 'imported').length} imported, ${results.filter((r) => r.outcome === 'present').length} already present`);
  }

  if (config.winRmListeners.length === 0) {
    await journal.skip('winrm', 'ovf-env.xml asks for no WinRM listener');
  } else {
    await journal.step('winrm', async () => {
      const results = await platform.configureWinRm(config.winRmListeners);
      for (const result of results.filter((r) => r.outcome !== 'present')) {
        await journal.applied('winrm', `${result.protocol} listener on port ${result.port} ${result.outcome}`);
      }
      return results;
    }, (results) => results.map((r) => `${r.protocol}:${r.port} ${r.outcome}`).join(', '));
  }

  const customData = customDataOf(media, config);
  if (customData === undefined) {
    await journal.skip('custom-data', 'the VM has no custom data');
  } else {
    await journal.step('custom-data', async () => {
      const path = await platform.writeCustomData(customData);
      await journal.applied('custom-data', `${customData.reveal().byteLength} bytes to ${path}`);
      return path;
    }, (path) => path);
  }

  if (config.timeZone === undefined) {
    await journal.skip('time-zone', 'ovf-env.xml names no time zone');
  } else {
    const timeZone = config.timeZone;
    await journal.step('time-zone', async () => {
      const outcome = await platform.setTimeZone(timeZone);
      if (outcome === 'changed') await journal.applied('time-zone', timeZone);
      return outcome;
    }, (outcome) => `${timeZone} ${outcome}`);
  }
}

/**
 * Custom data: CustomData.bin on the media holds the raw bytes (what Azure documents landing in
 * %SystemDrive%\AzureData\CustomData.bin); without it, the base64 CustomData element of ovf-env.xml.
 */
function customDataOf(media: ProvisioningMedia, config: ProvisioningConfig): Secret<Uint8Array> | undefined {
  if (media.customData !== undefined) return media.customData;
  if (config.customData === undefined) return undefined;
  const text = config.customData.reveal().replace(/\s+/g, '');
  if (text === '') return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new OvfError('CustomData', 'must be base64 (the media had no CustomData.bin to take the bytes from)');
  }
  return new Secret(new Uint8Array(Buffer.from(text, 'base64')));
}
