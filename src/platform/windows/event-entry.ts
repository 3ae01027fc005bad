import { PlatformRejectedError } from '../../errors.ts';
import { EVENT_IDS, type AgentEvent } from '../platform.ts';

/**
 * The Application event log entry for an AgentEvent, as events.ps1 writes it: the id from EVENT_IDS,
 * Information for start and success, Error for failure, and a message the event log accepts.
 */

/**
 * ReportEventW documents 31,839 characters per insertion string, yet writes fail above about 31,700 on
 * Windows 10 and 11 (dotnet/dotnet-api-docs#9999, serilog/serilog-sinks-eventlog#41): the margin keeps a
 * long failure entry from being lost altogether.
 */
export const EVENT_MESSAGE_MAX_CHARS = 31_000;

const CUT_NOTE = ' [cut to the event log limit]';

/** The fields the recordEvent verb sends. */
export interface EventEntry {
  eventId: number;
  entryType: 'Information' | 'Error';
  message: string;
}

/** The entry for an event; the message cut to EVENT_MESSAGE_MAX_CHARS without splitting a surrogate pair. */
export function toEventEntry(event: AgentEvent): EventEntry {
  if (!Object.hasOwn(EVENT_IDS, event.kind)) throw new PlatformRejectedError('recordEvent', `the event kind ${JSON.stringify(event.kind).slice(0, 40)} is not one of start, success, failure`);
  // ReportEventW takes NUL-terminated strings: a NUL inside would end the message there.
  let message = event.message.replaceAll('\0', ' ');
  if (message.length > EVENT_MESSAGE_MAX_CHARS) {
    let end = EVENT_MESSAGE_MAX_CHARS - CUT_NOTE.length;
    const last = message.charCodeAt(end - 1);
    if (last >= 0xd800 && last <= 0xdbff) end -= 1;
    message = message.slice(0, end) + CUT_NOTE;
  }
  return { eventId: EVENT_IDS[event.kind], entryType: event.kind === 'failure' ? 'Error' : 'Information', message };
}
