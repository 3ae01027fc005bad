import { PlatformCommandError } from '../../errors.ts';
import type { OsVolumeResult } from '../platform.ts';
import type { SandboxMachine } from './machine.ts';

/**
 * extendOsVolume on the sandbox, as storage.ps1 does it on Windows: C: grows up to the next partition
 * or the end of the disk (Get-PartitionSupportedSize's SizeMax); free space beyond a partition that
 * follows C: (a recovery partition) cannot be reached, and is reported, not moved.
 */

/** Partitions are aligned to 1 MiB: less is no room to grow. */
const MINIMUM_GROWTH = 1024 * 1024;

export function applyOsVolume(machine: SandboxMachine): { detail: string | undefined; result: OsVolumeResult } {
  const disk = machine.disk;
  const os = disk?.partitions.find((p) => p.driveLetter === 'C');
  if (disk === undefined || os === undefined) throw new PlatformCommandError('extendOsVolume', 'Get-Partition: no partition has the drive letter C');
  const end = os.offset + os.size;
  const after = disk.partitions.filter((p) => p.offset >= end).sort((a, b) => a.offset - b.offset);
  const limit = after[0]?.offset ?? disk.size;
  const base = { driveLetter: 'C', sizeBefore: os.size, sizeAfter: os.size };
  if (limit - os.offset >= os.size + MINIMUM_GROWTH) {
    if (machine.resizeFails !== undefined) return { detail: undefined, result: { ...base, outcome: 'failed', reason: machine.resizeFails } };
    os.size = limit - os.offset;
    return { detail: `extended C: from ${os.size - (limit - end)} to ${os.size} bytes`, result: { ...base, outcome: 'extended', sizeAfter: os.size } };
  }
  const last = disk.partitions.reduce((max, p) => Math.max(max, p.offset + p.size), 0);
  const free = disk.size - last;
  if (after.length === 0 || free < MINIMUM_GROWTH) return { detail: undefined, result: { ...base, outcome: 'maximum' } };
  return { detail: undefined, result: { ...base, outcome: 'blocked', unreachableBytes: free, blocker: { partitionNumber: after[0]!.number, type: after[0]!.type } } };
}
