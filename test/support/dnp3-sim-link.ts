/**
 * The outstation simulator's own link layer (IEEE 1815 clause 9), written apart from the
 * master's: a bitwise CRC on the unreflected polynomial, Buffer-based framing and
 * deframing. Shares no code with src/connectors/scada_dnp3.
 */

// --- CRC-16/DNP, bit by bit on the unreflected polynomial 0x3D65 -------------------------

function reverseBits(v: number, width: number): number {
  let r = 0;
  for (let i = 0; i < width; i++) r = (r << 1) | ((v >> i) & 1);
  return r;
}

/** Computed MSB-first on bit-reversed input; the result is reversed back and inverted. */
export function simCrc(data: Buffer): number {
  let reg = 0;
  for (const octet of data) {
    reg ^= reverseBits(octet, 8) << 8;
    for (let k = 0; k < 8; k++) {
      reg = (reg & 0x8000) ? ((reg << 1) ^ 0x3d65) & 0xffff : (reg << 1) & 0xffff;
    }
  }
  return reverseBits(reg, 16) ^ 0xffff;
}

export function withCrc(data: Buffer): Buffer {
  const c = simCrc(data);
  return Buffer.concat([data, Buffer.from([c & 0xff, (c >> 8) & 0xff])]);
}

export function crcOk(data: Buffer, crc: Buffer): boolean {
  return crc.length === 2 && crc.readUInt16LE(0) === simCrc(data);
}

export interface SimFrame {
  control: number;
  dest: number;
  src: number;
  payload: Buffer;
}

/** Builds one frame: header and its CRC, then the payload in 16-octet blocks with CRCs. */
export function simFrame(control: number, dest: number, src: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head[0] = 0x05;
  head[1] = 0x64;
  head[2] = payload.length + 5;
  head[3] = control;
  head.writeUInt16LE(dest, 4);
  head.writeUInt16LE(src, 6);
  const pieces = [withCrc(head)];
  for (let i = 0; i < payload.length; i += 16) pieces.push(withCrc(payload.subarray(i, i + 16)));
  return Buffer.concat(pieces);
}

/**
 * Cuts a byte stream into frames: looks for 0x05 0x64, checks the header CRC, waits for
 * the whole frame, checks each block CRC. Frames that fail are counted and dropped.
 */
export class SimDeframer {
  rejected = 0;
  private pending = Buffer.alloc(0);

  push(chunk: Buffer): SimFrame[] {
    const out: SimFrame[] = [];
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const at = this.pending.indexOf(Buffer.from([0x05, 0x64]));
      if (at < 0) {
        this.pending = this.pending.subarray(Math.max(0, this.pending.length - 1));
        return out;
      }
      this.pending = this.pending.subarray(at);
      if (this.pending.length < 10) return out;
      if (!crcOk(this.pending.subarray(0, 8), this.pending.subarray(8, 10))) {
        this.rejected++;
        this.pending = this.pending.subarray(1);
        continue;
      }
      const userLen = this.pending[2]! - 5;
      if (userLen < 0) {
        this.rejected++;
        this.pending = this.pending.subarray(2);
        continue;
      }
      const blocks = Math.ceil(userLen / 16);
      const total = 10 + userLen + blocks * 2;
      if (this.pending.length < total) return out;
      const bytes = this.pending.subarray(0, total);
      this.pending = this.pending.subarray(total);
      const parts: Buffer[] = [];
      let ok = true;
      for (let b = 0, pos = 10; b < blocks; b++) {
        const len = Math.min(16, userLen - b * 16);
        const block = bytes.subarray(pos, pos + len);
        if (!crcOk(block, bytes.subarray(pos + len, pos + len + 2))) ok = false;
        parts.push(block);
        pos += len + 2;
      }
      if (!ok) {
        this.rejected++;
        continue;
      }
      out.push({ control: bytes[3]!, dest: bytes.readUInt16LE(4), src: bytes.readUInt16LE(6),
        payload: Buffer.concat(parts) });
    }
  }
}
