import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PATH_LIMIT, setupCompleteProblems, specializeCommands, unattendProblems, wrappedCommand } from '../../src/cli/unattend-rules.ts';

const read = (name: string) => readFileSync(fileURLToPath(new URL(`../../unattend/${name}`, import.meta.url)), 'utf8');
const DEFAULT = read('unattend.xml');
const DEFERRED = read('unattend-deferred.xml');

test('the default template passes every check and runs "winprov provision" once in specialize', () => {
  assert.deepEqual(unattendProblems(DEFAULT, { winprovArguments: 'provision' }), []);
  const commands = specializeCommands(DEFAULT);
  assert.equal(commands.length, 1);
  assert.deepEqual(commands[0], {
    action: 'add',
    order: 1,
    path: '%WINDIR%\\System32\\cmd.exe /c ""%ProgramFiles%\\winprov\\winprov.exe" provision & exit /b 0"',
    description: 'winprov: provision this VM from the Azure fabric and report Ready',
    willReboot: 'Never',
  });
});

test('the deferred template runs "provision --defer-ready", and each template fails the check of the other mode', () => {
  assert.deepEqual(unattendProblems(DEFERRED, { winprovArguments: 'provision --defer-ready' }), []);
  assert.equal(specializeCommands(DEFERRED)[0]!.path, wrappedCommand('provision --defer-ready'));
  // Each template is checked against its own mode: swapping them is an error.
  assert.equal(unattendProblems(DEFERRED, { winprovArguments: 'provision' }).length, 1);
  assert.equal(unattendProblems(DEFAULT, { winprovArguments: 'provision --defer-ready' }).length, 1);
});

test('the command line cmd.exe sees runs winprov with its arguments, then exits 0 whatever winprov returned', () => {
  // cmd /c with more than two quotes strips the first and the last one (cmd /? "processing of quotes").
  const path = specializeCommands(DEFAULT)[0]!.path;
  const afterSwitch = path.slice(path.indexOf(' /c ') + 4);
  assert.equal(afterSwitch.slice(1, -1), '"%ProgramFiles%\\winprov\\winprov.exe" provision & exit /b 0');
  assert.ok(path.length <= PATH_LIMIT);
});

test('a template that is not well-formed is reported with its line, not parsed', () => {
  const broken = DEFAULT.replace('</RunSynchronous>', '');
  const problems = unattendProblems(broken, { winprovArguments: 'provision' });
  assert.equal(problems.length, 1);
  assert.match(problems[0]!, /^not well-formed XML: .*\(line \d+, column \d+\)$/);
});

test('a computer name, an account, or a command that Setup could see fail are each reported', () => {
  const named = DEFAULT.replace('<OOBE>', '<ComputerName>build-vm</ComputerName><OOBE>');
  assert.match(unattendProblems(named, { winprovArguments: 'provision' }).join('\n'), /ComputerName must not be set/);
  const withAdmin = DEFAULT.replace('<OOBE>', '<UserAccounts><AdministratorPassword><Value>x</Value></AdministratorPassword></UserAccounts><OOBE>');
  assert.match(unattendProblems(withAdmin, { winprovArguments: 'provision' }).join('\n'), /must not set accounts or passwords/);
  const unwrapped = DEFAULT.replace(' &amp; exit /b 0"</Path>', '"</Path>');
  assert.match(unattendProblems(unwrapped, { winprovArguments: 'provision' }).join('\n'), /the command is .*; expected/);
  const onRequest = DEFAULT.replace('<WillReboot>Never</WillReboot>', '<WillReboot>OnRequest</WillReboot>');
  assert.match(unattendProblems(onRequest, { winprovArguments: 'provision' }).join('\n'), /WillReboot must be Never/);
});

test('a Path over 259 characters, a missing wcm:action or a repeated Order is reported', () => {
  const second = (path: string, order: number, action = ' wcm:action="add"') =>
    DEFAULT.replace('</RunSynchronous>', `<RunSynchronousCommand${action}><Order>${order}</Order><Path>${path}</Path></RunSynchronousCommand></RunSynchronous>`);
  assert.match(unattendProblems(second(`C:\\${'x'.repeat(PATH_LIMIT)}.exe`, 2), { winprovArguments: 'provision' }).join('\n'), /Path is 266 characters, over the limit of 259/);
  assert.match(unattendProblems(second('C:\\tool.exe', 2, ''), { winprovArguments: 'provision' }).join('\n'), /needs wcm:action="add"/);
  assert.match(unattendProblems(second('C:\\tool.exe', 1), { winprovArguments: 'provision' }).join('\n'), /Order 1 must be a unique integer/);
  assert.deepEqual(unattendProblems(second('C:\\tool.exe', 2), { winprovArguments: 'provision' }), []);
  // What a parser that drops prefixes cannot see, and what Number() reads but the schema does not.
  const problems = (xml: string) => unattendProblems(xml, { winprovArguments: 'provision' }).join('\n');
  assert.match(problems(second('C:\\tool.exe', 2, ' action="add"')), /RunSynchronousCommand must carry wcm:action="add", with the wcm prefix/);
  assert.match(problems(DEFAULT.replaceAll(' xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State"', '')), /Microsoft-Windows-Deployment component must declare xmlns:wcm=/);
  assert.match(problems(DEFAULT.replaceAll('http://schemas.microsoft.com/WMIConfig/2002/State', 'http://example.com/wcm')), /must declare xmlns:wcm="http:\/\/schemas\.microsoft\.com\/WMIConfig\/2002\/State"/);
  for (const order of ['0x2', ' 2.0 ', '2e0']) {
    assert.match(problems(DEFAULT.replace('</RunSynchronous>', `<RunSynchronousCommand wcm:action="add"><Order>${order}</Order><Path>C:\\tool.exe</Path></RunSynchronousCommand></RunSynchronous>`)), /Order \(not digits\) must be a unique integer from 1, in digits/, order);
  }
});

test('the OOBE pages must be skipped and drivers kept through generalize', () => {
  const eula = DEFAULT.replace('<HideEULAPage>true</HideEULAPage>', '<HideEULAPage>false</HideEULAPage>');
  assert.deepEqual(unattendProblems(eula, { winprovArguments: 'provision' }), ['oobeSystem pass: OOBE HideEULAPage must be true']);
  const protect = DEFAULT.replace('<ProtectYourPC>3</ProtectYourPC>', '<ProtectYourPC>4</ProtectYourPC>');
  assert.deepEqual(unattendProblems(protect, { winprovArguments: 'provision' }), ['oobeSystem pass: OOBE ProtectYourPC must be 1, 2 or 3']);
  const drivers = DEFAULT.replace('<PersistAllDeviceInstalls>true', '<PersistAllDeviceInstalls>false');
  assert.deepEqual(unattendProblems(drivers, { winprovArguments: 'provision' }), ['generalize pass: PersistAllDeviceInstalls must be true']);
});

test('a component without the identity Setup matches it by, or outside the unattend namespace, is refused', () => {
  const x86 = DEFAULT.replace('name="Microsoft-Windows-Deployment" processorArchitecture="amd64"', 'name="Microsoft-Windows-Deployment" processorArchitecture="x86"');
  assert.deepEqual(unattendProblems(x86, { winprovArguments: 'provision' }), ['specialize pass: component Microsoft-Windows-Deployment must have processorArchitecture="amd64"']);
  const noNamespace = DEFAULT.replace(' xmlns="urn:schemas-microsoft-com:unattend"', '');
  assert.match(unattendProblems(noNamespace, { winprovArguments: 'provision' }).join('\n'), /must declare xmlns="urn:schemas-microsoft-com:unattend"/);
});

test('SetupComplete.cmd runs "winprov provision" then "clear-answer-file" into its log, uses CRLF and always exits 0', () => {
  const script = read('SetupComplete.cmd');
  assert.deepEqual(setupCompleteProblems(script), []);
  assert.match(setupCompleteProblems(script.replace(/\r\n/g, '\n')).join('\n'), /CRLF/);
  assert.match(setupCompleteProblems(script.replace('provision >>', 'provision --defer-ready >>')).join('\n'), /expected "provision"/);
  assert.match(setupCompleteProblems(script.replace(/exit \/b 0\r\n$/, 'exit /b %WINPROV_EXIT%\r\n')).join('\n'), /must end with "exit \/b 0"/);
  assert.match(setupCompleteProblems(script.replace(':done', 'shutdown /r /t 0\r\n:done')).join('\n'), /must not restart/);
  // The answer file's passwords cleared after ":done", whatever provision did.
  const clearLine = '"%ProgramFiles%\\winprov\\winprov.exe" clear-answer-file >>"%WINPROV_LOG%" 2>&1\r\n';
  assert.ok(script.includes(clearLine));
  assert.match(setupCompleteProblems(script.replace(clearLine, '')).join('\n'), /runs winprov 1 times; expected twice/);
  assert.match(setupCompleteProblems(script.replace(clearLine, '').replace(':done\r\n', `${clearLine}:done\r\n`)).join('\n'), /before the ":done" label/);
  assert.match(setupCompleteProblems(script.replace(':done\r\n', '')).join('\n'), /has no ":done" label/);
  assert.match(setupCompleteProblems(script.replace(':done\r\n', ':done\r\nexit /b 0\r\n')).join('\n'), /leaves the script between ":done" and clear-answer-file/);
});
