import { OvfError } from './errors.ts';
import { Secret } from './util/secret.ts';
import type { Journal } from './journal.ts';
import { applyUnattendContent } from './answer-file.ts';
import { keptPasswordsWarning } from './answer-file-clear.ts';
import type { Log } from './util/log.ts';
import type { ProvisioningConfig } from './protocol/ovf-env.ts';
import type { AdminAccountResult, CertificateBundle, ClearingArrangement, OsVolumeResult, Platform, ProvisioningMedia } from './platform/platform.ts';

/**
 * The apply steps, in order, each idempotent and each recorded in the journal before it returns:
 * computer name, admin account, certificates, WinRM listeners, custom data, time zone, OS volume. Run again on the same machine
 * they change nothing (the platform compares against what is already there).
 */
export async function applyConfiguration(
  platform: Platform,
  journal: Journal,
  config: ProvisioningConfig,
  media: ProvisioningMedia,
  certificates: CertificateBundle | undefined,
  /** Where a step's warning goes at warn level (the journal's step line carries it too). */
  log?: Pick<Log, 'warn'>,
): Promise<void> {
  await journal.step('computer-name', async () => {
    const outcome = await platform.setComputerName(config.computerName);
    if (outcome === 'renamed') await journal.applied('computer-name', `pending rename to ${config.computerName}, effective after the reboot that follows specialize`);
    return outcome;
  }, (outcome) => `${config.computerName} ${outcome}`);

  await journal.step('admin-account', async () => {
    const result = await platform.ensureAdminAccount({
      username: config.adminUsername,
      password: config.adminPassword,
      resetPasswordOnFirstLogon: config.resetPasswordOnFirstLogon,
    });
    // Set before the records below save the journal: winprov status shows which account is the admin.
    journal.state.adminAccount = { name: config.adminUsername, sid: result.sid };
    await journal.applied('admin-account', describeAdmin(config.adminUsername, result));
    if (result.builtinAdministrator !== undefined) {
      const builtin = result.builtinAdministrator;
      await journal.applied('builtin-administrator', `${builtin.name} (${builtin.sid}) given a random password nobody knows${builtin.disabled ? ' and disabled' : ''}: the image already held an account named ${config.adminUsername}, which is the admin`);
    }
    return result;
  }, (result) => `${config.adminUsername} ${result.outcome} (${result.sid})`);

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

  // AutoLogon and FirstLogonCommands into the oobeSystem pass Setup reads after specialize (answer-file.ts).
  if (config.additionalUnattendContent.length === 0) {
    await journal.skip('unattend', 'ovf-env.xml has no additional unattend content');
  } else {
    const names = config.additionalUnattendContent.map((c) => c.settingName).join(', ');
    await journal.step('unattend', async () => {
      // A run after OOBE (by hand, once an earlier one failed) would write content no pass reads any
      // more, and AutoLogon's password would stay in the file: SetupComplete.cmd, which clears it, has run.
      if (await platform.readImageState() === 'IMAGE_STATE_COMPLETE') {
        return warn(journal, log, 'unattend', `${names} not written: Windows Setup has completed (ImageState IMAGE_STATE_COMPLETE), so the oobeSystem pass that reads them has run; `
          + 'written now they would never be used, and a password in them would stay in the answer file');
      }
      const { passwords } = await applyUnattendContent(platform, journal, config.additionalUnattendContent);
      return passwords === 0 ? names : `${names}; ${await arrangeClearing(platform, journal, log, passwords)}`;
    }, (detail) => detail);
  }

  await extendOsVolume(platform, journal, log);
}

function describeAdmin(username: string, result: AdminAccountResult): string {
  if (result.outcome === 'renamed') return `built-in Administrator ${result.sid} renamed from ${result.previousName ?? '?'} to ${username}, password set, enabled, member of Administrators`;
  const builtin = result.sid.endsWith('-500') ? 'built-in Administrator' : 'account';
  return `${builtin} ${username} (${result.sid}) ${result.outcome}: password set, enabled, member of Administrators`;
}

/**
 * The last step: the OS volume grown into the free space after it. Anything short of that is a warning
 * in the log and the journal, never a failed provisioning: the VM works with its image's volume size.
 */
async function extendOsVolume(platform: Platform, journal: Journal, log: Pick<Log, 'warn'> | undefined): Promise<void> {
  await journal.step('os-volume', async () => {
    let result: OsVolumeResult;
    try {
      result = await platform.extendOsVolume();
    } catch (err) {
      return warn(journal, log, 'os-volume', `the OS volume was not extended: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (result.outcome === 'extended') {
      await journal.applied('os-volume', `${result.driveLetter}: extended from ${gib(result.sizeBefore)} to ${gib(result.sizeAfter)}`);
      return `${result.driveLetter}: extended to ${gib(result.sizeAfter)}`;
    }
    if (result.outcome === 'maximum') return `${result.driveLetter}: already at its largest size (${gib(result.sizeAfter)})`;
    if (result.outcome === 'failed') return warn(journal, log, 'os-volume', `${result.driveLetter}: was not extended: Resize-Partition failed: ${result.reason ?? 'no reason given'}`);
    const blocker = result.blocker!;
    return warn(journal, log, 'os-volume', `${result.driveLetter}: cannot grow into the ${gib(result.unreachableBytes ?? 0)} free on its disk: partition ${blocker.partitionNumber} (${blocker.type}) lies between them, and Windows extends a partition only into the space right after it. `
      + 'Move or remove that recovery partition in the image (Microsoft KB5028997, "Instructions to manually resize your partition to install the WinRE update": reagentc /disable, then diskpart), then extend the volume with Resize-Partition; winprov does not move partitions');
  }, (detail) => detail);
}

/**
 * The answer file's passwords (the AutoLogon one) cleared once OOBE has used them: SetupComplete.cmd runs
 * `winprov clear-answer-file` (answer-file-clear.ts). Without that the password would stay in the file
 * for good, so a SetupComplete.cmd that does not make the call is a warning naming the line to add; never
 * a failed provisioning, since OOBE still gets what it needs.
 */
async function arrangeClearing(platform: Platform, journal: Journal, log: Pick<Log, 'warn'> | undefined, passwords: number): Promise<string> {
  const keeps = keptPasswordsWarning(passwords);
  let arrangement: ClearingArrangement;
  try {
    arrangement = await platform.arrangeAnswerFileClearing();
  } catch (err) {
    return warn(journal, log, 'unattend', `${keeps}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const cleared = `${passwords === 1 ? 'its password' : `its ${passwords} passwords`} to be cleared after OOBE by ${arrangement.path}`;
  if (arrangement.outcome === 'installed') {
    await journal.applied('setup-complete', `${arrangement.path}, which clears the answer file's passwords after OOBE`);
    return `${cleared} (written by this run)`;
  }
  if (arrangement.outcome === 'present') return cleared;
  return warn(journal, log, 'unattend', `${keeps}: ${arrangement.path} is the image's own (or an older winprov's) and was left alone; `
    + `add the line "%ProgramFiles%\\winprov\\winprov.exe" clear-answer-file to it, or prepare the image with this winprov`);
}

/** A step's warning: in the log, in the journal for `status` (replacing an earlier one of the step), and as the step's detail. */
async function warn(journal: Journal, log: Pick<Log, 'warn'> | undefined, step: string, message: string): Promise<string> {
  log?.warn(message, { step });
  journal.setWarning(step, message);
  await journal.save();
  return `warning: ${message}`;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
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
