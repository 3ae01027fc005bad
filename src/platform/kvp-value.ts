/**
 * Hyper-V KVP values Azure reads are at most 1024 bytes (cloud-init's HV_KVP_AZURE_MAX_VALUE_SIZE); both
 * platforms and the first-boot record cut what they write there the same way.
 */
export const KVP_MAX_BYTES = 1024;

/** Cuts text to at most maxBytes of UTF-8 without splitting a character. */
export function fitKvpValue(text: string, maxBytes: number = KVP_MAX_BYTES): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // The byte after the cut continuing a character (10xxxxxx) means the cut splits it: end before it.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString('utf8');
}
