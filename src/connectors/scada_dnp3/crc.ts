/**
 * CRC-16/DNP (IEEE 1815 link layer): polynomial 0x3D65 processed bit-reversed (0xA6BC),
 * initial value 0, result inverted, transmitted low byte first. A 256-entry table keeps
 * the per-byte cost to one lookup; the table is built once at module load.
 */
const REFLECTED_POLY = 0xa6bc;

const TABLE: Uint16Array = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let v = i;
    for (let b = 0; b < 8; b++) v = (v & 1) !== 0 ? (v >>> 1) ^ REFLECTED_POLY : v >>> 1;
    t[i] = v;
  }
  return t;
})();

/** The CRC of `bytes[start, end)`, already inverted, as a 16-bit number. */
export function crc16dnp(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc = (crc >>> 8) ^ (TABLE[(crc ^ (bytes[i] ?? 0)) & 0xff] ?? 0);
  }
  return ~crc & 0xffff;
}

/** True when the two bytes after `bytes[start, end)` carry that range's CRC. */
export function crcMatches(bytes: Uint8Array, start: number, end: number): boolean {
  const crc = crc16dnp(bytes, start, end);
  return bytes[end] === (crc & 0xff) && bytes[end + 1] === crc >>> 8;
}
