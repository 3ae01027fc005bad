import type { OsVolumeResult } from '../platform.ts';
import { HostResult } from './results.ts';

/** The TypeScript side of scripts/storage.ps1: its answer checked before it becomes an OsVolumeResult. */

const VERB = 'extendOsVolume';

export function toOsVolumeResult(value: unknown): OsVolumeResult {
  const r = new HostResult(VERB, value);
  const result: OsVolumeResult = {
    outcome: r.oneOf('outcome', ['extended', 'maximum', 'blocked', 'failed'] as const),
    driveLetter: r.string('driveLetter'),
    sizeBefore: r.integer('sizeBefore'),
    sizeAfter: r.integer('sizeAfter'),
  };
  if (result.outcome === 'blocked') {
    const blocker = new HostResult(VERB, (value as Record<string, unknown>)['blocker']);
    result.blocker = { partitionNumber: blocker.integer('partitionNumber'), type: blocker.string('type') };
    result.unreachableBytes = r.integer('unreachableBytes');
  }
  if (result.outcome === 'failed') result.reason = r.optionalString('reason') ?? 'Resize-Partition failed without a message';
  return result;
}
