import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mergeOobeSettings } from '../src/answer-file.ts';
import { parseUnattendContent, type UnattendContent } from '../src/protocol/unattend-content.ts';
import { OvfError, StateError } from '../src/errors.ts';

const TEMPLATE = readFileSync(new URL('../unattend/unattend.xml', import.meta.url), 'utf8');
const autoLogon = (user = 'azureuser', password = 'Pa55-word&<x>'): UnattendContent =>
  parseUnattendContent('AutoLogon', `<AutoLogon><Password><Value>${password.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</Value></Password><Enabled>true</Enabled><Username>${user}</Username></AutoLogon>`, 't', 4096);
const commands = (...lines: string[]): UnattendContent =>
  parseUnattendContent('FirstLogonCommands', `<FirstLogonCommands>${lines.map((l, i) => `<SynchronousCommand><CommandLine>${l}</CommandLine><Order>${i + 1}</Order></SynchronousCommand>`).join('')}</FirstLogonCommands>`, 't', 4096);

test('the template keeps every byte outside the oobeSystem Shell-Setup component, and a second merge changes nothing', () => {
  const merged = mergeOobeSettings(TEMPLATE, [autoLogon(), commands('a', 'b')]).reveal();
  const cut = TEMPLATE.indexOf('    </component>\n  </settings>\n</unattend>');
  assert.ok(merged.startsWith(TEMPLATE.slice(0, cut)));
  assert.ok(merged.endsWith(TEMPLATE.slice(cut)));
  assert.match(merged, /<Value>Pa55-word&amp;&lt;x&gt;<\/Value>/, 'values escaped, never spliced');
  assert.equal(mergeOobeSettings(merged, [autoLogon(), commands('a', 'b')]).reveal(), merged);
});

test('settings replace the same settings only: the image\'s own FirstLogonCommands stay when the VM sets only AutoLogon', () => {
  const withCommands = mergeOobeSettings(TEMPLATE, [commands('image-command')]).reveal();
  const merged = mergeOobeSettings(withCommands, [autoLogon('second')]).reveal();
  assert.match(merged, /image-command/);
  assert.match(merged, /<Username>second<\/Username>/);
  const replaced = mergeOobeSettings(merged, [autoLogon('third')]).reveal();
  assert.equal(replaced.match(/<AutoLogon>/g)?.length, 1);
  assert.match(replaced, /<Username>third<\/Username>/);
});

test('an answer file without the oobeSystem pass or the Shell-Setup component gets them', () => {
  for (const file of [
    '<?xml version="1.0"?>\n<unattend xmlns="urn:schemas-microsoft-com:unattend">\n</unattend>\n',
    '<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"/></unattend>',
    '<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem">\n  <component name="Microsoft-Windows-International-Core"/>\n</settings></unattend>',
    '<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup"/></settings></unattend>',
    '\ufeff<unattend xmlns="urn:schemas-microsoft-com:unattend"/>'.replace('/>', '></unattend>'),
  ]) {
    const merged = mergeOobeSettings(file, [commands('x')]).reveal();
    assert.equal(merged.match(/<component name="Microsoft-Windows-Shell-Setup"/g)?.length, 1, file);
    assert.match(merged, /<settings pass="oobeSystem">[^]*<component name="Microsoft-Windows-Shell-Setup"[^]*<CommandLine>x<\/CommandLine>[^]*<\/component>[^]*<\/settings>/, file);
  }
});

test('an answer file that is not an unattend document is refused, not rewritten', () => {
  assert.throws(() => mergeOobeSettings('<other/>', [commands('x')]), StateError);
  assert.throws(() => mergeOobeSettings('<!DOCTYPE unattend><unattend/>', [commands('x')]), StateError);
  assert.throws(() => mergeOobeSettings('<unattend>', [commands('x')]), StateError);
});

test('content rules: only documented settings, checked values, never quoted', () => {
  const refused = (setting: 'AutoLogon' | 'FirstLogonCommands', xml: string, rule: RegExp): void => {
    assert.throws(() => parseUnattendContent(setting, xml, 'unattend pass 1, component 1, setting 1', 4096), (err: unknown) => {
      assert.ok(err instanceof OvfError);
      assert.match(err.reason, rule);
      assert.ok(!err.reason.includes('S3cret'), 'the content is not quoted');
      return true;
    });
  };
  refused('AutoLogon', '<AutoLogon><Password><Value>S3cret</Value></Password></AutoLogon>', /needs a Username/);
  refused('AutoLogon', '<AutoLogon><Username>u</Username><Password><Value>S3cret</Value><Extra/></Password></AutoLogon>', /Password must not contain Extra/);
  refused('AutoLogon', '<AutoLogon><Username>u</Username><LogonCount>-1</LogonCount></AutoLogon>', /LogonCount must be a whole number/);
  refused('AutoLogon', '<AutoLogon><Username>u</Username><Enabled>yes</Enabled></AutoLogon>', /Enabled must be true or false/);
  refused('AutoLogon', '<AutoLogon x="1"><Username>u</Username></AutoLogon>', /must not carry the attribute x/);
  refused('AutoLogon', '<AutoLogon>S3cret<Username>u</Username></AutoLogon>', /must not hold text of its own/);
  refused('AutoLogon', '<AutoLogon><Username>u</Username><Username>v</Username></AutoLogon>', /Username must appear once/);
  refused('FirstLogonCommands', '<FirstLogonCommands/>', /at least one SynchronousCommand/);
  refused('FirstLogonCommands', `<FirstLogonCommands><SynchronousCommand><CommandLine>${'x'.repeat(1025)}</CommandLine><Order>1</Order></SynchronousCommand></FirstLogonCommands>`, /CommandLine of 1 to 1024/);
  refused('FirstLogonCommands', '<FirstLogonCommands><SynchronousCommand><CommandLine>a</CommandLine></SynchronousCommand></FirstLogonCommands>', /needs an Order/);
  refused('FirstLogonCommands', '<FirstLogonCommands><SynchronousCommand><CommandLine>a&#13;b</CommandLine><Order>1</Order></SynchronousCommand></FirstLogonCommands>', /control characters/);
  refused('FirstLogonCommands', '<FirstLogonCommands><SynchronousCommand><CommandLine>a<b/></CommandLine><Order>1</Order></SynchronousCommand></FirstLogonCommands>', /must be text/);
  // cmd syntax stays usable: redirection and pipes are escaped on the way out, not refused.
  const ok = parseUnattendContent('FirstLogonCommands', '<FirstLogonCommands><SynchronousCommand><CommandLine>cmd /c dir &gt; out.txt 2&gt;&amp;1 | more &lt; in.txt</CommandLine><Order>1</Order></SynchronousCommand></FirstLogonCommands>', 't', 4096);
  assert.equal(ok.setting === 'FirstLogonCommands' && ok.commands[0]!.commandLine, 'cmd /c dir > out.txt 2>&1 | more < in.txt');
});

test('a CRLF answer file keeps CRLF, and a merge run again writes the same file', () => {
  const crlf = TEMPLATE.replaceAll('\n', '\r\n');
  const merged = mergeOobeSettings(crlf, [autoLogon(), commands('a')]).reveal();
  assert.ok(!/[^\r]\n/.test(merged), 'no bare LF');
  assert.equal(mergeOobeSettings(merged, [autoLogon(), commands('a')]).reveal(), merged);
});
