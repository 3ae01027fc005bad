/**
 * A readDiagnostics answer shaped as diagnostics.ps1 returns it (ConvertTo-Json of its hashtables), for the
 * formatting and platform tests.
 */

/** Registry keys: typed values, absent values, an absent key and an unreadable one. */
export const REGISTRY = [
  {
    path: 'HKLM\\SYSTEM\\Setup',
    exists: true,
    error: null,
    values: [
      { name: 'SystemSetupInProgress', kind: 'DWord', data: '1', length: 0 },
      { name: 'CmdLine', kind: 'String', data: 'oobe\\windeploy.exe', length: 0 },
      { name: 'SetupType', kind: 'DWord', data: '4294967295', length: 0 },
    ],
    missing: ['OOBEInProgress'],
  },
  { path: 'HKLM\\SOFTWARE\\Microsoft\\GuestAgent', exists: false, error: null, values: [], missing: [] },
  { path: 'HKLM\\SOFTWARE\\Microsoft\\Windows Azure', exists: false, error: 'Requested registry access is not allowed.', values: [], missing: [] },
  {
    path: 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\RdAgent',
    exists: true,
    error: null,
    values: [
      { name: 'Start', kind: 'DWord', data: '4', length: 0 },
      { name: 'ImagePath', kind: 'ExpandString', data: '%SystemDrive%\\WindowsAzure\\WaAppAgent.exe', length: 0 },
    ],
    missing: ['DelayedAutostart'],
  },
  {
    path: 'HKLM\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest',
    exists: true,
    error: null,
    values: [
      { name: 'PROVISIONING_REPORT', kind: 'String', data: 'result=success', length: 0 },
      { name: 'Mixed', kind: 'MultiString', data: ['one', 'two "quoted"'], length: 0 },
      { name: 'Blob', kind: 'Binary', data: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64'), length: 300 },
      { name: 'Big', kind: 'QWord', data: '18446744073709551615', length: 0 },
      { name: '', kind: 'String', data: 'default value', length: 0 },
    ],
    missing: [],
  },
];

/** Application events of source winprov, newest first. */
export const WINPROV_EVENTS = {
  error: null,
  events: [
    { time: '2026-01-01T00:05:00.0000000Z', id: 1002, level: 2, provider: 'winprov', message: 'provisioning failed [DHCP_DISABLED]: DHCP is disabled\r\non Ethernet 2' },
    { time: '2026-01-01T00:00:00.0000000Z', id: 1000, level: 4, provider: 'winprov', message: 'winprov 0.1.0 started provisioning' },
  ],
};
