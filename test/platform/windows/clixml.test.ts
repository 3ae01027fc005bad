import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readableStderr } from '../../../src/platform/windows/clixml.ts';

/** What Windows PowerShell 5.1 writes to a redirected stderr under -EncodedCommand (shape as in ansible/ansible#67964). */
const OBJS = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">';
const PROGRESS =
  '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64>' +
  '<PR N="Record"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>';

test('the CLIXML header and progress records are not errors and yield no text', () => {
  assert.deepEqual(readableStderr('#< CLIXML'), []);
  assert.deepEqual(readableStderr('#< CLIXML\r'), []);
  assert.deepEqual(readableStderr(`${OBJS}${PROGRESS}${PROGRESS.replace('RefId="0"', 'RefId="1"')}</Objs>`), []);
});

test('the lines of an error record come back as one line of plain text, escapes decoded', () => {
  const error = [
    'ConvertFrom-Json : Ung&#252;ltiges JSON-Primitiv: &lt;x&gt; &amp; _x005F_x000D_._x000D__x000A_',
    'In Zeile:1 Zeichen:1_x000D__x000A_',
    '+ CategoryInfo          : NotSpecified: (:) [ConvertFrom-Json], ArgumentException_x000D__x000A_',
    '+ FullyQualifiedErrorId : System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand_x000D__x000A_',
  ]
    .map((text) => `<S S="Error">${text}</S>`)
    .join('');
  assert.deepEqual(readableStderr(`${OBJS}${PROGRESS}${error}</Objs>`), [
    'ConvertFrom-Json : Ungültiges JSON-Primitiv: <x> & _x000D_. In Zeile:1 Zeichen:1 ' +
      '+ CategoryInfo          : NotSpecified: (:) [ConvertFrom-Json], ArgumentException ' +
      '+ FullyQualifiedErrorId : System.ArgumentException,Microsoft.PowerShell.Commands.ConvertFromJsonCommand',
  ]);
});

test('other streams keep their name, and a stream change starts a new line', () => {
  const line = `${OBJS}<S S="warning">Le nom est trop long._x000D__x000A_</S><S S="Error">first_x000D__x000A_</S><S S="Error">second</S>`;
  assert.deepEqual(readableStderr(line), ['warning: Le nom est trop long.', 'first second']);
});

test('a stderr line that is not CLIXML is passed on unchanged', () => {
  assert.deepEqual(readableStderr('Exception calling "Open" with "1" argument(s): "Access is denied."'), ['Exception calling "Open" with "1" argument(s): "Access is denied."']);
});
