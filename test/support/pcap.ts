/**
 * Writes a classic pcap file (link type Ethernet) that carries recorded DNP3 frames in one
 * TCP connection between a master (127.0.0.1:40000) and an outstation (127.0.0.2:20000),
 * so that Wireshark's DNP3 dissector can judge them. The handshake is included and
 * sequence and acknowledgement numbers are consistent, so TCP analysis has nothing to
 * complain about and any error tshark reports is about DNP3.
 */
export interface CapturedFrame {
  readonly fromMaster: boolean;
  readonly bytes: Uint8Array;
}

const MASTER = { ip: [127, 0, 0, 1], port: 40_000, mac: [2, 0, 0, 0, 0, 1] };
const OUTSTATION = { ip: [127, 0, 0, 2], port: 20_000, mac: [2, 0, 0, 0, 0, 2] };
const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;

function checksum(bytes: Buffer): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function packet(fromMaster: boolean, seq: number, ack: number, flags: number,
  payload: Uint8Array): Buffer {
  const [src, dst] = fromMaster ? [MASTER, OUTSTATION] : [OUTSTATION, MASTER];
  const tcp = Buffer.alloc(20);
  tcp.writeUInt16BE(src.port, 0);
  tcp.writeUInt16BE(dst.port, 2);
  tcp.writeUInt32BE(seq >>> 0, 4);
  tcp.writeUInt32BE(ack >>> 0, 8);
  tcp[12] = 5 << 4;
  tcp[13] = flags;
  tcp.writeUInt16BE(65_535, 14);
  const pseudo = Buffer.concat([Buffer.from(src.ip), Buffer.from(dst.ip),
    Buffer.from([0, 6, 0, 0])]);
  pseudo.writeUInt16BE(20 + payload.length, 10);
  tcp.writeUInt16BE(checksum(Buffer.concat([pseudo, tcp, payload])), 16);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 20 + payload.length, 2);
  ip[6] = 0x40; // don't fragment
  ip[8] = 64;
  ip[9] = 6;
  Buffer.from(src.ip).copy(ip, 12);
  Buffer.from(dst.ip).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  const eth = Buffer.from([...dst.mac, ...src.mac, 0x08, 0x00]);
  return Buffer.concat([eth, ip, tcp, payload]);
}

export function buildPcap(frames: readonly CapturedFrame[]): Buffer {
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65_535, 16);
  global.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  const out: Buffer[] = [global];
  let t = 1_700_000_000 * 1_000_000;
  const add = (p: Buffer): void => {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(t / 1_000_000), 0);
    h.writeUInt32LE(t % 1_000_000, 4);
    h.writeUInt32LE(p.length, 8);
    h.writeUInt32LE(p.length, 12);
    out.push(h, p);
    t += 1_000;
  };
  let mSeq = 1_000;
  let oSeq = 5_000;
  const empty = new Uint8Array(0);
  add(packet(true, mSeq, 0, SYN, empty));
  add(packet(false, oSeq, mSeq + 1, SYN | ACK, empty));
  mSeq += 1;
  oSeq += 1;
  add(packet(true, mSeq, oSeq, ACK, empty));
  for (const f of frames) {
    if (f.fromMaster) {
      add(packet(true, mSeq, oSeq, PSH | ACK, f.bytes));
      mSeq += f.bytes.length;
    } else {
      add(packet(false, oSeq, mSeq, PSH | ACK, f.bytes));
      oSeq += f.bytes.length;
    }
  }
  return Buffer.concat(out);
}
