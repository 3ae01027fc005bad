import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mergeOobeSettings } from '../src/answer-file.ts';
import { answerFilePasswords, CLEARED_PASSWORD, clearAnswerFilePasswords } from '../src/answer-file-clear.ts';
import { parseUnattendContent } from '../src/protocol/unattend-content.ts';
import { StateError } from '../src/errors.ts';

const TEMPLATE = readFileSync(new URL('../unattend/unattend.xml', import.meta.url), 'utf8');
const SECRET = 'Aut0&<L0gon>-Pa55';
const AUTOLOGON = parseUnattendContent('AutoLogon',
  `<AutoLogon><Password><Value>${SECRET.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</Value><PlainText>true</PlainText></Password><Enabled>true</Enabled><LogonCount>2</LogonCount><Username>azureuser</Username></AutoLogon>`, 't', 4096);
const COMMANDS = parseUnattendContent('FirstLogonCommands', '<FirstLogonCommands><SynchronousCommand><CommandLine>cmd /c echo hi</CommandLine><Order>1</Order></SynchronousCommand></FirstLogonCommands>', 't', 4096);

/** The answer file as the provisioning run leaves it: the template with AutoLogon and FirstLogonCommands merged. */
const merged = (template = TEMPLATE): string => mergeOobeSettings(template, [AUTOLOGON, COMMANDS]).reveal();

test('the AutoLogon password becomes what Setup writes in its cached copy; every other byte stays', () => {
  const before = merged();
  assert.match(before, /<Value>Aut0&amp;&lt;L0gon&gt;-Pa55<\/Value>/);
  const { text, cleared } = clearAnswerFilePasswords(before);
  assert.equal(cleared, 1);
  // The whole Password content goes (Value and PlainText), as in Setup's own copy.
  const start = before.indexOf('<Password>') + '<Password>'.length;
  const end = before.indexOf('</Password>');
  assert.equal(text, `${before.slice(0, start)}${CLEARED_PASSWORD}${before.slice(end)}`);
  assert.ok(!text.includes('L0gon'));
  assert.match(text, /<Username>azureuser<\/Username>/);
  assert.match(text, /<CommandLine>cmd \/c echo hi<\/CommandLine>/);
  // Cleared once: a second pass finds nothing, and changes nothing.
  assert.deepEqual(clearAnswerFilePasswords(text), { text, cleared: 0 });
  assert.equal(answerFilePasswords(before), 1);
  assert.equal(answerFilePasswords(text), 0);
});

test('the template (no password) and FirstLogonCommands alone hold nothing to clear', () => {
  assert.deepEqual(clearAnswerFilePasswords(TEMPLATE), { text: TEMPLATE, cleared: 0 });
  const commandsOnly = mergeOobeSettings(TEMPLATE, [COMMANDS]).reveal();
  assert.equal(answerFilePasswords(commandsOnly), 0);
});

test('every password element of the schemas is cleared: AdministratorPassword, LocalAccount, Credentials, base64', () => {
  const file = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<unattend xmlns="urn:schemas-microsoft-com:unattend" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">',
    '  <settings pass="specialize"><component name="Microsoft-Windows-UnattendedJoin">',
    '    <Identification><Credentials><Domain>corp</Domain><Password>J0in-Secret</Password><Username>joiner</Username></Credentials></Identification>',
    '  </component></settings>',
    '  <settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup">',
    '    <UserAccounts>',
    '      <AdministratorPassword><Value>QWRtaW4tU2VjcmV0</Value><PlainText>false</PlainText></AdministratorPassword>',
    '      <LocalAccounts><LocalAccount wcm:action="add"><Password><Value><![CDATA[L0cal<Secret>]]></Value></Password><Name>svc</Name></LocalAccount></LocalAccounts>',
    '    </UserAccounts>',
    '    <AutoLogon><Password>QXV0byE=</Password><Username>svc</Username></AutoLogon>',
    '  </component></settings>',
    '</unattend>',
  ].join('\r\n');
  const { text, cleared } = clearAnswerFilePasswords(file);
  assert.equal(cleared, 4);
  for (const secret of ['J0in-Secret', 'QWRtaW4tU2VjcmV0', 'L0cal<Secret>', 'QXV0byE=']) assert.ok(!text.includes(secret), secret);
  assert.equal(text.split(CLEARED_PASSWORD).length - 1, 4);
  assert.match(text, /<Username>joiner<\/Username>/);
  assert.ok(text.includes('\r\n') && !/[^\r]\n/.test(text), 'CRLF kept');
});

test('every element named ...Password: MachinePassword, OfflineAdministratorPassword; a password of spaces is one', () => {
  const file = '<unattend xmlns="urn:schemas-microsoft-com:unattend">'
    + '<settings pass="specialize"><component name="Microsoft-Windows-UnattendedJoin"><Identification><MachinePassword>M4chine-Secret</MachinePassword></Identification></component></settings>'
    + '<settings pass="offlineServicing"><component name="Microsoft-Windows-Shell-Setup"><OfflineUserAccounts><OfflineAdministratorPassword><Value>0ffline-Secret</Value><PlainText>true</PlainText></OfflineAdministratorPassword></OfflineUserAccounts></component></settings>'
    + '<settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup"><AutoLogon><Password><Value>   </Value><PlainText>true</PlainText></Password></AutoLogon></component></settings></unattend>';
  const { text, cleared } = clearAnswerFilePasswords(file);
  assert.equal(cleared, 3);
  assert.ok(!/M4chine|0ffline|<Value> {3}<\/Value>/.test(text), text);
});

test('a processing instruction whose data holds a tag hides no password and breaks no merge', () => {
  const tricky = merged().replace('<unattend ', '<?note a><Password> ?>\n<unattend ').replace('<settings pass="specialize">', '<?note <x> ?><settings pass="specialize">');
  assert.equal(clearAnswerFilePasswords(tricky).cleared, 1);
  assert.ok(!clearAnswerFilePasswords(tricky).text.includes('L0gon'));
  // Merged again (a re-run), the document still has one oobeSystem pass.
  const again = mergeOobeSettings(tricky, [AUTOLOGON]).reveal();
  assert.equal(again.match(/<settings pass="oobeSystem">/g)?.length, 1);
});

test('what counts is the text Setup reads: a Value in a comment hides nothing, a comment alone is no password', () => {
  const wrap = (inner: string): string => `<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup">${inner}</component></settings></unattend>`;
  const hidden = wrap('<UserAccounts><AdministratorPassword><!-- <Value></Value> --><Value>Real-Secret-1!</Value><PlainText>true</PlainText></AdministratorPassword></UserAccounts>');
  const { text, cleared } = clearAnswerFilePasswords(hidden);
  assert.equal(cleared, 1);
  assert.ok(!text.includes('Real-Secret-1!'));
  assert.equal(clearAnswerFilePasswords(wrap('<AutoLogon><Password><Value><!-- old --></Value></Password></AutoLogon>')).cleared, 0);
  assert.equal(clearAnswerFilePasswords(wrap('<AutoLogon><Password><Value><![CDATA[ ]]></Value></Password></AutoLogon>')).cleared, 1, 'a CDATA space is a password');
  assert.equal(clearAnswerFilePasswords(wrap('<AutoLogon><Password>\n  <!-- none -->\n</Password></AutoLogon>')).cleared, 0);
});

test('a hostile answer file is read in linear time: 100,000 Value tags in a comment', () => {
  const file = `<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup"><AutoLogon><Password><!--${'<Value> '.repeat(100_000)}--><Value>S3cret</Value></Password></AutoLogon></component></settings></unattend>`;
  const started = performance.now();
  assert.equal(clearAnswerFilePasswords(file).cleared, 1);
  assert.ok(performance.now() - started < 2_000, `took ${Math.round(performance.now() - started)} ms`);
});

test('empty passwords are no secret: <Value/>, an empty Value with PlainText, an empty element', () => {
  const file = '<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup">'
    + '<UserAccounts><AdministratorPassword><Value/></AdministratorPassword><LocalAccounts><LocalAccount><Password><Value></Value><PlainText>true</PlainText></Password></LocalAccount></LocalAccounts></UserAccounts>'
    + '<AutoLogon><Password></Password></AutoLogon></component></settings></unattend>';
  assert.deepEqual(clearAnswerFilePasswords(file), { text: file, cleared: 0 });
});

test('a byte order mark is kept', () => {
  const { text, cleared } = clearAnswerFilePasswords(`\ufeff${merged()}`);
  assert.equal(cleared, 1);
  assert.equal(text.charCodeAt(0), 0xfeff);
});

test('a file that is not a well-formed unattend document is refused with a named error, never quoting it', () => {
  for (const bad of [`${merged()}<extra/>`, merged().replace('</AutoLogon>', ''), '<settings><Password>S3cret-Value</Password></settings>']) {
    assert.throws(() => clearAnswerFilePasswords(bad), (err: unknown) => {
      assert.ok(err instanceof StateError);
      assert.equal(err.code, 'STATE_INVALID');
      assert.match(err.reason, /the answer file is not one winprov can clear/);
      assert.ok(!err.describe().includes('L0gon') && !err.describe().includes('S3cret'), err.describe());
      return true;
    });
  }
});
