/** The little of the DNS wire format the embedded resolver needs: one question, A answers. */

export function parseQuestion(msg: Buffer): { name: string; qtype: number; end: number } | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off]!;
    if (len === 0) {
      off++;
      break;
    }
    if (len > 63 || off + 1 + len > msg.length) return undefined;
    labels.push(msg.subarray(off + 1, off + 1 + len).toString('latin1'));
    off += 1 + len;
  }
  if (off + 4 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), qtype: msg.readUInt16BE(off), end: off + 4 };
}

/** A response to `q` (header and question copied): rcode, and A records for `ips` (TTL 600). */
export function reply(q: Buffer, end: number, rcode: number, ips: string[]): Buffer {
  const head = Buffer.from(q.subarray(0, end));
  const flags = 0x8000 | (q.readUInt16BE(2) & 0x0100) | 0x0400 | 0x0080 | rcode; // QR, RD copied, AA, RA
  head.writeUInt16BE(flags, 2);
  head.writeUInt16BE(1, 4);
  head.writeUInt16BE(ips.length, 6);
  head.writeUInt16BE(0, 8);
  head.writeUInt16BE(0, 10);
  const answers = ips.map((ip) => {
    const a = Buffer.alloc(16);
    a.writeUInt16BE(0xc00c, 0); // pointer to the question name
    a.writeUInt16BE(1, 2); // A
    a.writeUInt16BE(1, 4); // IN
    a.writeUInt32BE(600, 6);
    a.writeUInt16BE(4, 10);
    ip.split('.').forEach((o, i) => a.writeUInt8(Number(o), 12 + i));
    return a;
  });
  return Buffer.concat([head, ...answers]);
}

export function lengthPrefix(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** The address in a reverse name ("2.0.89.10.in-addr.arpa" -> "10.89.0.2"), or undefined. */
export function ptrAddress(name: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(name);
  return m ? `${m[4]}.${m[3]}.${m[2]}.${m[1]}` : undefined;
}

/** A PTR answer naming `target`. */
export function replyPtr(q: Buffer, end: number, target: string): Buffer {
  const head = reply(q, end, 0, []);
  head.writeUInt16BE(1, 6);
  const rdata = Buffer.concat([...target.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l, 'latin1')]), Buffer.from([0])]);
  const rr = Buffer.alloc(12);
  rr.writeUInt16BE(0xc00c, 0);
  rr.writeUInt16BE(12, 2); // PTR
  rr.writeUInt16BE(1, 4);
  rr.writeUInt32BE(600, 6);
  rr.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([head, rr, rdata]);
}
