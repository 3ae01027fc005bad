import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { requestLine } from '../../../src/platform/windows/protocol.ts';
import { BOOTSTRAP_SCRIPT, LIBRARY_SCRIPTS, loadLibrary, loadScript } from '../../../src/platform/windows/scripts.ts';

/**
 * Static checks over the PowerShell scripts: no Windows machine runs them here, so what can be proven
 * from the text is proven from the text.
 */

const folder = new URL('../../../src/platform/windows/scripts/', import.meta.url);
const files = readdirSync(folder).filter((name) => name.endsWith('.ps1')).sort();

interface Split {
  /** The code with comments removed and every string literal replaced by '' or "". */
  code: string;
  /** The contents of double-quoted strings (the only kind PowerShell expands). */
  expanding: string[];
  /** The contents of single-quoted strings, '' unescaped. */
  literal: string[];
}

/** A small PowerShell lexer: comments, '...' ('' escape) and "..." (` and "" escapes). */
function split(text: string): Split {
  let code = '';
  const expanding: string[] = [];
  const literal: string[] = [];
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c === '<' && text[i + 1] === '#') {
      const end = text.indexOf('#>', i + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (c === '#') {
      while (i < text.length && text[i] !== '\n') i += 1;
    } else if (c === "'") {
      const start = i + 1;
      i += 1;
      while (i < text.length && !(text[i] === "'" && text[i + 1] !== "'")) i += text[i] === "'" ? 2 : 1;
      literal.push(text.slice(start, i).replaceAll("''", "'"));
      i += 1;
      code += "''";
    } else if (c === '"') {
      let body = '';
      i += 1;
      while (i < text.length && !(text[i] === '"' && text[i + 1] !== '"')) {
        if (text[i] === '`' || text[i] === '"') {
          body += text.slice(i, i + 2);
          i += 2;
        } else {
          body += text[i];
          i += 1;
        }
      }
      i += 1;
      expanding.push(body);
      code += '""';
    } else {
      code += c;
      i += 1;
    }
  }
  return { code, expanding, literal };
}

/** What a script does that would let data become code, or run something outside PowerShell. */
function violations(name: string, text: string): string[] {
  const { code, expanding } = split(text);
  const forbidden: [RegExp, string][] = [
    [/\bInvoke-Expression\b|\biex\b/i, 'Invoke-Expression'],
    [/\s-f\s/i, 'the -f format operator'],
    [/\bInvoke-Command\b|\bStart-Process\b|\bStart-Job\b/i, 'another runspace or process'],
    [/\$ExecutionContext\b|NewScriptBlock|\bCreateNestedPowerShell\b/i, 'script text made at run time'],
    [/Add-Type\s+[^\n]*-(TypeDefinition|MemberDefinition)/i, 'compiled code'],
    [/&\s*\$|\.\s+\$/, 'calling a command named by a variable'],
    [/\.exe\b|\bnetsh\b|\bicacls\b|\btzutil\b|\bnet\s+user\b|\bcmd\b/i, 'an external program'],
  ];
  const found = forbidden.filter(([pattern]) => pattern.test(code)).map(([, what]) => what);
  if (name !== BOOTSTRAP_SCRIPT && /\[ScriptBlock\]::Create/i.test(code)) found.push('text turned into code outside the bootstrap');
  for (const body of expanding) if (/\$/.test(body)) found.push(`"${body}" expands a variable`);
  return found;
}

const sources = new Map(files.map((name) => [name, readFileSync(new URL(name, folder), 'utf8')]));
const library = [...LIBRARY_SCRIPTS].map((name) => sources.get(name)!).join('\n');

test('the library list names every script of the folder except the bootstrap, and loadScript reads them', () => {
  assert.deepEqual([...LIBRARY_SCRIPTS, BOOTSTRAP_SCRIPT].sort(), files);
  for (const { name, text } of loadLibrary()) assert.equal(text, sources.get(name));
  assert.throws(() => loadScript('../exec.ts'), /not a script name/);
});

test('the script checker itself catches data turned into code', () => {
  const bad = [
    'Invoke-Expression $Request.name',
    'iex $x',
    '$cmd = "Rename-Computer $name"',
    "$cmd = 'Rename-Computer {0}' -f $name",
    '& $command',
    '[ScriptBlock]::Create($text)',
    'netsh interface ip show config',
    'Start-Process -FilePath $file',
  ];
  for (const line of bad) assert.notDeepEqual(violations('x.ps1', line), [], line);
  assert.deepEqual(violations('x.ps1', "# Invoke-Expression is never used\n$a = 'iex $x' + \"plain `n\""), []);
});

for (const name of files) {
  test(`${name}: strict mode, stop on errors, plain ASCII without BOM, balanced brackets`, () => {
    const text = sources.get(name)!;
    assert.match(text, /^Set-StrictMode -Version 3\.0$/m);
    assert.match(text, /^\$ErrorActionPreference = 'Stop'$/m);
    assert.ok(/^[\t\n\r -~]*$/.test(text), 'ASCII only: Windows PowerShell reads BOM-less files in the ANSI code page');
    const { code } = split(text);
    for (const [open, close] of [
      ['{', '}'],
      ['(', ')'],
      ['[', ']'],
    ] as const) {
      let depth = 0;
      for (const c of code) {
        if (c === open) depth += 1;
        if (c === close) depth -= 1;
        assert.ok(depth >= 0, `${close} without ${open}`);
      }
      assert.equal(depth, 0, `unbalanced ${open}${close}`);
    }
  });

  test(`${name}: no code is built from data (no Invoke-Expression, format operator, interpolation, external programs)`, () => {
    assert.deepEqual(violations(name, sources.get(name)!), []);
  });
}

test('the bootstrap loads the library only from the first stdin line and then reads data with ConvertFrom-Json', () => {
  const { code } = split(sources.get(BOOTSTRAP_SCRIPT)!);
  assert.equal((code.match(/\[ScriptBlock\]::Create/g) ?? []).length, 1);
  assert.match(code, /\$winprovHello = ConvertFrom-Json -InputObject \$winprovReader\.ReadLine\(\)/);
  assert.match(code, /OpenStandardInput\(\)/);
  assert.match(code, /UTF8Encoding -ArgumentList \$false/, 'UTF-8 without BOM');
  assert.match(code, /Start-WinprovHost -Reader \$winprovReader -Writer \$winprovWriter -Marker \$winprovMarker/);
});

/** The verb table of host.ps1: verb name to function. */
const verbTable = new Map([...library.matchAll(/^\s+'(\w+)' \{ ([\w-]+) -Request \$Params \}$/gm)].map((m) => [m[1]!, m[2]!]));

/** A function's text, from its definition to the next one. */
function functionBody(name: string): string {
  const start = library.indexOf(`function ${name} {`);
  assert.notEqual(start, -1, `function ${name} is defined`);
  const next = library.indexOf('\nfunction ', start + 1);
  return library.slice(start, next === -1 ? undefined : next);
}

/** The request fields each verb's script reads; the platform test asserts the TypeScript side sends exactly these. */
const FIELDS: Record<string, string[]> = {
  findFabricInterface: ['fabricAddress'],
  enableDhcp: ['index', 'waitMs'],
  readDhcpInterfaceOptions: ['interfaceId'],
  readProvisioningMedia: [],
  readVmId: [],
  setComputerName: ['name'],
  ensureAdminAccount: ['resetPasswordOnFirstLogon', 'username'],
  importCertificates: ['pfxPassword', 'placements'],
  configureWinRm: ['listeners'],
  extendOsVolume: ['driveLetter'],
  writeCustomData: ['directory'],
  setTimeZone: ['timeZoneId'],
  setGuestAgentServices: ['enabled'],
  readGuestAgentServices: [],
  writeKvpReport: ['report'],
  writeKvpValue: ['name', 'value'],
  setFirstBootResume: ['executable', 'on'],
  ensureStateDirectory: ['path'],
  recordEvent: ['entryType', 'eventId', 'message'],
  readDiagnostics: [],
  enterRunMutex: ['waitMs'],
  readRemoteAccess: [],
  removeRemoteAccess: ['certificates', 'firewallRules', 'listeners'],
  readImageFacts: ['systemDrive'],
  readRdpCertificate: [],
  writeAnswerFile: ['path'],
  warmUp: [],
};

test('every verb the platform sends is in the host table, and each reads exactly the fields sent', () => {
  const platformSource = readFileSync(new URL('../../../src/platform/windows/windows-platform.ts', import.meta.url), 'utf8');
  const sent = new Set([...platformSource.matchAll(/#session\.request\(\s*'(\w+)'/g)].map((m) => m[1]!));
  assert.deepEqual([...sent].sort(), Object.keys(FIELDS).sort());
  assert.deepEqual([...verbTable.keys()].sort(), Object.keys(FIELDS).sort());
  for (const [verb, fn] of verbTable) {
    const read = new Set([...functionBody(fn).matchAll(/\$Request\.(\w+)/g)].map((m) => m[1]!));
    assert.deepEqual([...read].sort(), FIELDS[verb], `${fn} reads the fields of ${verb}`);
  }
});

/** The secret lines each verb reads (by name, with Get-WinprovSecret or New-WinprovSecureString). */
const SECRETS: Record<string, string[]> = { ensureAdminAccount: ['password'], importCertificates: ['pfx'], writeCustomData: ['customData'], writeAnswerFile: ['answerFile'] };

test('each verb reads exactly the secrets the platform sends, and only through the host', () => {
  const platformSource = readFileSync(new URL('../../../src/platform/windows/windows-platform.ts', import.meta.url), 'utf8');
  for (const [verb, fn] of verbTable) {
    const call = new RegExp(`#session\\.request\\(\\s*'${verb}'[\\s\\S]*?\\);`).exec(platformSource)?.[0] ?? '';
    const sent = [...(/secrets: \{([^}]*)\}/.exec(call)?.[1] ?? '').matchAll(/(\w+):/g)].map((m) => m[1]!).sort();
    const read = [...functionBody(fn).matchAll(/(?:Get-WinprovSecret -Name|-SecretName) '(\w+)'/g)].map((m) => m[1]!).sort();
    assert.deepEqual(sent, SECRETS[verb] ?? [], `the platform sends the secrets of ${verb}`);
    assert.deepEqual(read, SECRETS[verb] ?? [], `${fn} reads the secrets of ${verb}`);
  }
  assert.ok(!/ConvertTo-SecureString/.test(split(library).code), 'no SecureString from a bound -String');
});

test('every Winprov function called anywhere is defined in the library', () => {
  const defined = new Set([...library.matchAll(/^function ([\w-]+) \{/gm)].map((m) => m[1]!));
  const called = new Set([...[...sources.values()].join('\n').matchAll(/\b([A-Z][a-z]+-Winprov\w+)/g)].map((m) => m[1]!));
  for (const name of called) assert.ok(defined.has(name), `${name} is defined`);
});

test('accounts.ps1 adds to Administrators by SID with the user object, and treats "already a member" as success', () => {
  const body = functionBody('Add-WinprovAdministrator');
  assert.match(body, /Add-LocalGroupMember -SID 'S-1-5-32-544' -Member \$User -ErrorAction Stop/);
  assert.match(body, /if \(Test-WinprovMemberExists -Record \$_\) \{ return \$false \}\s+throw/);
  const test = functionBody('Test-WinprovMemberExists');
  assert.match(test, /'MemberExists,\*'/);
  assert.match(test, /MemberExistsException/);
  assert.match(test, /-eq 1378/);
  const account = functionBody('Set-WinprovAdminAccount');
  assert.match(account, /\$password = New-WinprovSecureString -SecretName 'password'/);
  assert.match(account, /PasswordNeverExpires = \(-not \$reset\)/);
  assert.ok(!/Administrators'|"Administrators/.test(library), 'the group is never named (its name is localized)');
});

test('accounts.ps1 makes the admin the built-in Administrator, found by SID, and locks it when another account is the admin', () => {
  const code = split(sources.get('accounts.ps1')!).code;
  assert.ok(!/New-LocalUser/.test(code), 'no second account is created');
  const builtin = functionBody('Get-WinprovBuiltinAdministrator');
  assert.match(builtin, /\$domain = \$user\.SID\.AccountDomainSid/);
  assert.match(builtin, /\$target = \$domain\.Value \+ '-500'/);
  const account = functionBody('Set-WinprovAdminAccount');
  assert.match(account, /Rename-LocalUser -SID \$builtin\.SID -NewName \$name -ErrorAction Stop/);
  assert.match(account, /Lock-WinprovBuiltinAdministrator -User \$builtin/);
  assert.ok(!/-InputObject|-Name \$name/.test(split(account).code.replace('Find-WinprovLocalUser -Name $name', '')), 'every change names the account by SID');
  const random = functionBody('New-WinprovRandomSecureString');
  assert.match(random, /\[System\.Security\.Cryptography\.RandomNumberGenerator\]::Create\(\)/);
  assert.match(random, /\$secure\.AppendChar\(\$character\)/);
  assert.match(random, /\[System\.Array\]::Clear\(\$characters, 0, \$characters\.Length\)/);
  assert.ok(!/Get-Random|System\.Random\b|New-Object -TypeName string|-join/.test(split(random).code), 'a CSPRNG, and the characters never become a string');
  const lock = functionBody('Lock-WinprovBuiltinAdministrator');
  assert.match(lock, /Set-LocalUser -SID \$User\.SID -Password \$random -ErrorAction Stop/);
  assert.match(lock, /Disable-LocalUser -SID \$User\.SID -ErrorAction Stop/);
});

test('storage.ps1 extends the OS partition to its supported maximum, and never moves another partition', () => {
  const code = split(sources.get('storage.ps1')!).code;
  assert.ok(!/Remove-Partition|New-Partition|Set-Partition|Format-Volume|diskpart|reagentc/i.test(code), 'only the OS partition is resized');
  const verb = functionBody('Expand-WinprovOsVolume');
  assert.match(verb, /Get-Partition -DriveLetter \$letter -ErrorAction Stop/);
  assert.match(verb, /Get-PartitionSupportedSize -DriveLetter \$letter -ErrorAction Stop/);
  assert.match(verb, /Resize-Partition -DriveLetter \$letter -Size \$maximum -ErrorAction Stop/);
  assert.match(verb, /\$answer\.outcome = 'failed'/);
});

test('certificates.ps1 imports in memory into the machine key set, not exportable, and skips present thumbprints', () => {
  const body = functionBody('Import-WinprovCertificates');
  assert.match(body, /X509KeyStorageFlags\]::MachineKeySet -bor \[System\.Security\.Cryptography\.X509Certificates\.X509KeyStorageFlags\]::PersistKeySet/);
  assert.ok(!/Exportable/.test(split(body).code), 'keys are not exportable');
  assert.match(body, /\$collection\.Import\(\$bytes,/);
  assert.match(body, /FindByThumbprint, \$thumbprint, \$false/);
  assert.ok(!/WriteAllBytes|Set-Content|Out-File|GetTempFileName|Import-PfxCertificate/i.test(split(body).code), 'no temporary PFX file');
});

test('winrm.ps1 checks every HTTPS certificate in LocalMachine\\My with its private key before it changes anything', () => {
  const verb = functionBody('Set-WinprovWinRmListeners');
  const check = verb.indexOf('Get-WinprovListenerHostname -Thumbprint $thumbprint');
  assert.notEqual(check, -1);
  for (const change of ['Enable-WinprovWinRmService', 'Set-WinprovWinRmListener ', 'Set-WinprovWinRmFirewallRule']) {
    assert.ok(check < verb.indexOf(change), `the certificate is checked before ${change.trim()}`);
  }
  assert.ok(split(verb).literal.some((text) => text === "the HTTPS listener's certificate "), 'the rule names the thumbprint');
  assert.match(verb, /Stop-WinprovRejected -Rule \('the HTTPS listener''s certificate ' \+ \$thumbprint \+ ' is not in LocalMachine\\My with its private key'\)/);
  assert.match(verb, /if \(\$null -eq \$hostname\) \{\s+Stop-WinprovRejected/);
  assert.match(verb, /if \(\$hostname -eq ''\) \{\s+Stop-WinprovRejected/);
  const certificate = functionBody('Get-WinprovListenerHostname');
  assert.match(certificate, /X509Store -ArgumentList 'My', \(\[System\.Security\.Cryptography\.X509Certificates\.StoreLocation\]::LocalMachine\)/);
  assert.match(certificate, /OpenFlags\]::ReadOnly\)/);
  assert.match(certificate, /FindByThumbprint, \$Thumbprint, \$false/);
  // The listener's Hostname is the certificate's subject CN (X509NameType SimpleName).
  assert.match(certificate, /if \(\$certificate\.HasPrivateKey\) \{ return \[string\]\$certificate\.GetNameInfo\(\[System\.Security\.Cryptography\.X509Certificates\.X509NameType\]::SimpleName, \$false\) \}/);
});

test('winrm.ps1 configures only the WinRM service, the listeners asked for and its own firewall rules', () => {
  const code = split(sources.get('winrm.ps1')!).code;
  assert.ok(!/Set-WSManQuickConfig|Enable-PSRemoting|Set-NetConnectionProfile|Restart-Service/i.test(code), 'no quick configuration, no network profile change, no restart');
  const service = functionBody('Enable-WinprovWinRmService');
  assert.match(service, /Set-Service -Name 'WinRM' -StartupType Automatic/);
  assert.match(service, /Start-Service -Name 'WinRM'/);
  const table = functionBody('Get-WinprovWinRmTransport');
  assert.match(table, /'Http' \{ return @\{ transport = 'HTTP'; port = 5985; rule = 'winprov-WinRM-HTTP-In';/);
  assert.match(table, /'Https' \{ return @\{ transport = 'HTTPS'; port = 5986; rule = 'winprov-WinRM-HTTPS-In';/);
  assert.match(table, /switch -CaseSensitive/);
});

test('winrm.ps1 finds the listener on every address, creates it, or deletes and creates it again with an explicit Hostname', () => {
  const find = functionBody('Get-WinprovWinRmListener');
  assert.match(find, /Get-WSManInstance -ResourceURI 'winrm\/config\/Listener' -Enumerate/);
  assert.match(find, /-Name 'Source'\) -eq 'Compatibility'\) \{ continue \}/);
  assert.match(find, /-Name 'Address'\) -eq '\*'/);
  const listener = functionBody('Set-WinprovWinRmListener');
  assert.match(listener, /\$selector = @\{ Address = '\*'; Transport = \$Transport \}/);
  // ValueSet property names are case-sensitive (Set-WSManInstance documentation).
  assert.match(listener, /\$values = @\{ Port = \[string\]\$Port; Enabled = 'true' \}/);
  assert.match(listener, /\$values\.CertificateThumbprint = \$Thumbprint; \$values\.Hostname = \$Hostname/);
  assert.match(listener, /\$null = New-WSManInstance -ResourceURI 'winrm\/config\/Listener' -SelectorSet \$selector -ValueSet \$values\s+return 'created'/);
  assert.match(listener, /-Name 'Hostname'\) -eq \$Hostname\)/);
  assert.match(listener, /if \(\$same\) \{ return 'present' \}/);
  assert.match(listener, /Remove-WSManInstance -ResourceURI 'winrm\/config\/Listener' -SelectorSet \$selector\s+\$null = New-WSManInstance -ResourceURI 'winrm\/config\/Listener' -SelectorSet \$selector -ValueSet \$values\s+return 'recreated'/);
  // Changed in place, WinRM keeps the old Hostname and refuses a certificate of another CN (dsccommunity/WSManDsc#11).
  assert.ok(!/Set-WSManInstance/.test(split(sources.get('winrm.ps1')!).code));
});

test('winrm.ps1 opens each port with a rule found by its Name, inbound TCP, allowed on every profile', () => {
  const rule = functionBody('Set-WinprovWinRmFirewallRule');
  assert.match(rule, /Get-NetFirewallRule -Name \$Name -ErrorAction SilentlyContinue/);
  assert.ok(rule.indexOf('Get-NetFirewallRule') < rule.indexOf('New-NetFirewallRule'), 'looked up before it is created');
  for (const cmdlet of ['Set-NetFirewallRule -Name $Name', 'New-NetFirewallRule -Name $Name -DisplayName $DisplayName']) {
    const line = rule.split('\n').find((l) => l.includes(cmdlet));
    assert.ok(line !== undefined, cmdlet);
    for (const part of ['-Enabled True', '-Direction Inbound', '-Action Allow', '-Profile Any', '-Protocol TCP', '-LocalPort $Port']) assert.ok(line.includes(part), `${cmdlet}: ${part}`);
  }
});

test('folders holding secrets get a protected ACL for SYSTEM and Administrators only', () => {
  const body = functionBody('Set-WinprovPrivateFolder');
  assert.match(body, /SetAccessRuleProtection\(\$true, \$false\)/);
  const sids = [...split(body).code.matchAll(/SecurityIdentifier -ArgumentList ''/g)];
  assert.equal(sids.length, 2);
  assert.match(body, /'S-1-5-18'/);
  assert.match(body, /'S-1-5-32-544'/);
  assert.match(functionBody('Write-WinprovPrivateFile'), /Set-WinprovPrivateFolder -Path [^\n]*\n[\s\S]*WriteAllBytes\(\$temporary/, 'the folder ACL is set before the bytes are written');
  assert.match(functionBody('Write-WinprovCustomData'), /Write-WinprovPrivateFile -Path \$path -SecretName 'customData'/);
  assert.match(functionBody('Write-WinprovAnswerFile'), /Write-WinprovPrivateFile -Path \$path -SecretName 'answerFile'/);
});

test('guest agent services are configured, never started', () => {
  const code = split(sources.get('services.ps1')!).code;
  assert.ok(!/Start-Service|\.Start\(/.test(code));
  assert.match(sources.get('services.ps1')!, /'RdAgent', 'WindowsAzureGuestAgent', 'WindowsAzureTelemetryService'/);
});

test('events.ps1 writes only as source winprov, with the checked entry type, and registers the source only when it is missing', () => {
  const body = functionBody('Write-WinprovEvent');
  assert.match(body, /\$source = 'winprov'/);
  assert.match(body, /\$typeName -cne 'Information' -and \$typeName -cne 'Warning' -and \$typeName -cne 'Error'/);
  assert.match(body, /\[System\.Diagnostics\.EventLog\]::WriteEntry\(\$source, \[string\]\$Request\.message, \$entryType, \$eventId\)/);
  assert.ok(body.indexOf('Register-WinprovEventSource') < body.indexOf('::WriteEntry('), 'the source is checked before the write');
  const register = functionBody('Register-WinprovEventSource');
  assert.match(register, /if \(\[System\.Diagnostics\.EventLog\]::SourceExists\(\$Source\)\) \{ return \$false \}/);
  assert.match(register, /EventSourceCreationData -ArgumentList \$Source, 'Application'/);
  assert.match(register, /CreateEventSource\(\$creation\)/);
  // A failed registration names the cause in plain words (the agent logs it as a warning and goes on).
  assert.ok(split(register).literal.some((text) => text.includes('is not registered (the winprov MSI registers it) and could not be created')));
  assert.ok(!/Write-EventLog|New-EventLog|MessageResourceFile/.test(split(sources.get('events.ps1')!).code), 'one way to write, the default message file');
});

test('diagnostics.ps1 only reads: registry keys opened read-only, no writes, and none of the secret-bearing sources', () => {
  const text = sources.get('diagnostics.ps1')!;
  const { code, literal } = split(text);
  const opens = [...code.matchAll(/OpenSubKey\(([^)]*)\)/g)].map((m) => m[1]!);
  assert.ok(opens.length >= 2);
  for (const args of opens) assert.match(args, /, \$false$/, `OpenSubKey(${args}) is read-only`);
  assert.ok(!/CreateSubKey|SetValue|DeleteValue|DeleteSubKey|Set-ItemProperty|New-Item|Remove-Item|Set-Content|Out-File|Clear-EventLog|Limit-EventLog/i.test(code));
  for (const forbidden of ['DhcpInterfaceOptions', 'CustomData', 'ovf-env', 'unattend', 'Panther', 'AzureData']) {
    assert.ok(!literal.some((s) => s.toLowerCase().includes(forbidden.toLowerCase())), `no string names ${forbidden}`);
  }
});

test('diagnostics.ps1 reads the registry values and event log extracts collect-logs documents', () => {
  const facts = functionBody('Get-WinprovRegistryFacts');
  for (const key of [
    "'SYSTEM\\Setup' -Names @('SystemSetupInProgress', 'SetupType', 'CmdLine', 'OOBEInProgress'",
    "'SYSTEM\\Setup\\Status\\SysprepStatus'",
    "'SOFTWARE\\Microsoft\\Virtual Machine\\Guest'",
    "'SOFTWARE\\Microsoft\\Windows Azure'",
    "'SOFTWARE\\Microsoft\\GuestAgent'",
    "'SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\Interfaces'",
    "-Names @('EnableDHCP', 'DhcpIPAddress', 'DhcpSubnetMask', 'DhcpServer'",
    "@('RdAgent', 'WindowsAzureGuestAgent', 'WindowsAzureTelemetryService')",
    "-Names @('Start', 'DelayedAutostart', 'ImagePath')",
  ]) {
    assert.ok(facts.includes(key), key);
  }
  const verb = functionBody('Get-WinprovDiagnostics');
  assert.match(verb, /Get-WinprovEventExtract -Filter @\{ LogName = 'Application'; ProviderName = 'winprov' \} -MaxEvents 200/);
  assert.match(verb, /Get-WinprovEventExtract -Filter @\{ LogName = 'System'; Level = @\(1, 2, 3\) \} -MaxEvents 100/);
  const extract = functionBody('Get-WinprovEventExtract');
  assert.match(extract, /Get-WinEvent -FilterHashtable \$Filter -MaxEvents \$MaxEvents -ErrorAction Stop/);
  assert.match(extract, /'NoMatchingEventsFound\*'/);
  assert.match(extract, /ToUniversalTime\(\)\.ToString\('o', \[System\.Globalization\.CultureInfo\]::InvariantCulture\)/);
  assert.ok(!/LevelDisplayName/.test(extract), 'the level travels as its number; its display name is localized');
});

test('the bootstrap silences progress before anything else and sets the preferences module functions see as globals', () => {
  const statements = split(sources.get(BOOTSTRAP_SCRIPT)!)
    .code.split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  // "Preparing modules for first use" is a progress record; under -EncodedCommand it reaches stderr as CLIXML.
  assert.equal(statements[0], "$global:ProgressPreference = ''");
  const text = sources.get(BOOTSTRAP_SCRIPT)!;
  assert.match(text, /^\$global:ErrorActionPreference = 'Stop'$/m);
  assert.match(text, /^\$global:ConfirmPreference = 'None'$/m, 'no confirmation prompt in -NonInteractive mode');
  assert.match(text, /^\$global:ProgressPreference = 'SilentlyContinue'$/m);
});

test('every cmdlet of a CDXML module (NetTCPIP, NetAdapter, NetSecurity, DnsClient) is given -ErrorAction itself', () => {
  // Functions of script and CDXML modules do not see their caller's $ErrorActionPreference (PowerShell #4568, #24389).
  const cdxml = /\b(?:Get|Set|New|Remove|Find|Enable|Disable)-(?:Net[A-Z]\w*|DnsClient\w*)\b/;
  let calls = 0;
  for (const [name, text] of sources) {
    for (const line of split(text).code.split('\n')) {
      for (const segment of line.split('|')) {
        if (!cdxml.test(segment)) continue;
        calls += 1;
        assert.match(segment, /-ErrorAction (Stop|SilentlyContinue)\b/, `${name}: ${segment.trim()}`);
      }
    }
  }
  assert.ok(calls >= 14, `all calls were seen (${calls})`);
});

test('.Count is only read from arrays and collections: strict mode fails it on a single object in Windows PowerShell 5.1', () => {
  for (const [name, text] of sources) {
    const { code } = split(text);
    for (const [, variable] of code.matchAll(/\$(\w+)\.Count\b/g)) {
      const made = new RegExp(
        `\\$${variable} = (@\\(|New-Object -TypeName System\\.Collections\\.Generic\\.List|\\$\\w+\\.Certificates\\.Find\\()|\\[string\\[\\]\\] \\$${variable}\\b`,
        'i',
      );
      assert.match(code, made, `${name}: $${variable}.Count`);
    }
  }
});

test('host.ps1 answers a request line ConvertFrom-Json refuses under the id protocol.ts wrote first', () => {
  const host = sources.get('host.ps1')!;
  const pattern = /if \(\$line -match '([^']+)'\) \{ \$id = \[int\]\$Matches\[1\]; \$secretCount = \[int\]\$Matches\[2\] \}/.exec(host);
  assert.ok(pattern !== null, 'the id and the count of secret lines are read before ConvertFrom-Json');
  assert.ok(host.indexOf(pattern[0]) < host.indexOf('Read-WinprovSecretLines -Reader $Reader -Count $secretCount'));
  assert.ok(host.indexOf('Read-WinprovSecretLines -Reader $Reader -Count $secretCount') < host.indexOf('ConvertFrom-Json -InputObject $line'), 'secret lines are consumed even when the JSON is refused');
  const regex = new RegExp(pattern[1]!);
  for (const id of [1, 42, 123456789]) {
    const line = requestLine({ id, verb: 'importCertificates', params: { placements: 'A'.repeat(200_000) }, secrets: { pfx: Buffer.alloc(3) } });
    assert.equal(regex.exec(line)?.[1], String(id));
    assert.equal(regex.exec(line)?.[2], '1');
  }
  assert.equal(regex.exec('{"verb":"x","id":3}'), null, 'only the leading id is trusted');
});

test('host.ps1 always answers: a result or failure that cannot be serialized becomes a failure answer for the same id', () => {
  const send = functionBody('Send-WinprovAnswer');
  assert.match(send, /try \{\s+\$text = ConvertTo-Json -InputObject \$Answer -Compress -Depth 16\s+\} catch \{/);
  assert.match(send, /@\{ id = \$Id; ok = \$false; error = \$failure \}/);
  const loop = functionBody('Start-WinprovHost');
  assert.match(loop, /try \{\s+\$failure = ConvertTo-WinprovFailure -Record \$record\s+\} catch \{/);
  assert.match(loop, /Send-WinprovAnswer -Writer \$Writer -Marker \$Marker -Id \$id -Answer \$answer/);
  assert.ok(!/Send-WinprovLine -Writer \$Writer -Marker \$Marker -Message \$answer/.test(loop));
  // 5.1 turns anything nested deeper than -Depth into its type name, silently.
  for (const [, depth] of library.matchAll(/ConvertTo-Json [^\n]*-Depth (\d+)/g)) assert.ok(Number(depth) >= 16);
  assert.match(loop, /is64BitProcess = \[System\.Environment\]::Is64BitProcess/);
});

test('a DHCP lease is recognised by the PrefixOrigin name or its raw value, an impossible time zone id is a rejection', () => {
  assert.match(functionBody('Enable-WinprovDhcp'), /\(\[string\]\$_\.PrefixOrigin -eq 'Dhcp' -or \[string\]\$_\.PrefixOrigin -eq '3'\)/);
  const zone = functionBody('Set-WinprovTimeZone');
  assert.match(zone, /-Type \(\[System\.TimeZoneNotFoundException\]\)\) -or \(Test-WinprovException -Record \$_ -Type \(\[System\.ArgumentException\]\)\)/);
});
