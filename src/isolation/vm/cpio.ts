/**
 * A minimal writer for the "newc" cpio format that the Linux kernel unpacks as an initramfs.
 * Written here (rather than piping `find | cpio`) so the archive is byte-for-byte the same on
 * every build: entries sorted, mtimes zero, owner root, inode numbers counted from one.
 */

export interface CpioEntry {
  /** Path inside the archive, without a leading slash. */
  readonly name: string;
  readonly kind: 'dir' | 'file' | 'symlink';
  /** Permission bits (file type bits are added from `kind`). */
  readonly mode: number;
  /** File contents, or the link target for a symlink. */
  readonly data?: Buffer;
}

const TYPE_BITS = { dir: 0o040000, file: 0o100000, symlink: 0o120000 } as const;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function header(ino: number, mode: number, nlink: number, size: number, name: string): Buffer {
  const fields = [ino, mode, 0, 0, nlink, 0, size, 0, 0, 0, 0, Buffer.byteLength(name) + 1, 0];
  return Buffer.from(`070701${fields.map(hex8).join('')}`, 'latin1');
}

function record(ino: number, mode: number, nlink: number, name: string, data: Buffer): Buffer[] {
  const head = header(ino, mode, nlink, data.length, name);
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  return [head, nameBytes, pad4(head.length + nameBytes.length), data, pad4(data.length)];
}

export function buildCpio(entries: readonly CpioEntry[]): Buffer {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const parts: Buffer[] = [];
  let ino = 1;
  for (const e of sorted) {
    const data = e.data ?? Buffer.alloc(0);
    parts.push(...record(ino++, TYPE_BITS[e.kind] | (e.mode & 0o7777),
      e.kind === 'dir' ? 2 : 1, e.name, e.kind === 'dir' ? Buffer.alloc(0) : data));
  }
  parts.push(...record(0, 0, 1, 'TRAILER!!!', Buffer.alloc(0)));
  return Buffer.concat(parts);
}
