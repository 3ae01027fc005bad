import type { FabricScenario } from './fabric.ts';

/** The benchmark's rows: 0, 1, 10 and 50 certificates, and 1 certificate with the largest custom data. */

/** ARM's limit on custom data is 65,535 bytes ("64 KiB"). */
export const CUSTOM_DATA_MAX = 65_535;

/** A named scenario. */
export interface BenchRow extends FabricScenario {
  name: string;
}

export const ROWS: readonly BenchRow[] = [
  { name: 'certs-0', certificates: 0, customDataBytes: 0 },
  { name: 'certs-1', certificates: 1, customDataBytes: 0 },
  { name: 'certs-10', certificates: 10, customDataBytes: 0 },
  { name: 'certs-50', certificates: 50, customDataBytes: 0 },
  { name: 'certs-1-custom-data-64k', certificates: 1, customDataBytes: CUSTOM_DATA_MAX },
];

/** The rows named in a comma-separated list (all rows for undefined); an unknown name is an error. */
export function selectRows(names: string | undefined): BenchRow[] {
  if (names === undefined) return [...ROWS];
  return names.split(',').map((name) => {
    const row = ROWS.find((r) => r.name === name.trim());
    if (row === undefined) throw new Error(`no row ${name} (rows: ${ROWS.map((r) => r.name).join(', ')})`);
    return row;
  });
}
