import { describe, it, expect } from 'vitest';
import { lengthPrefix, parseQuestion, ptrAddress, reply, replyPtr } from '../../src/net/dnswire.js';

function query(name: string, qtype = 1, id = 0x1234): Buffer {
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  return Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), ...labels, Buffer.from([0, 0, qtype, 0, 1])]);
}

describe('dns wire format', () => {
  it('parses one question, lowercased', () => {
    expect(parseQuestion(query('Web.Example'))).toEqual({ name: 'web.example', qtype: 1, end: 12 + 13 + 4 });
    expect(parseQuestion(Buffer.from([1, 2, 3]))).toBeUndefined();
    expect(parseQuestion(query('web').subarray(0, 16))).toBeUndefined(); // truncated
  });
  it('answers with A records, keeping id, question and RD', () => {
    const q = query('web');
    const r = reply(q, parseQuestion(q)!.end, 0, ['10.89.0.2', '10.89.0.3']);
    expect(r.readUInt16BE(0)).toBe(0x1234);
    expect(r.readUInt16BE(2) & 0x8000).toBe(0x8000); // a response
    expect(r.readUInt16BE(2) & 0x0100).toBe(0x0100); // recursion desired, copied
    expect(r.readUInt16BE(6)).toBe(2);
    expect([...r.subarray(r.length - 4)]).toEqual([10, 89, 0, 3]);
    expect(r.length).toBe(q.length + 32);
    const nx = reply(q, parseQuestion(q)!.end, 3, []);
    expect(nx.readUInt16BE(2) & 0x000f).toBe(3);
    expect([...lengthPrefix(300)]).toEqual([1, 44]);
  });
  it('answers reverse lookups', () => {
    expect(ptrAddress('2.0.89.10.in-addr.arpa')).toBe('10.89.0.2');
    expect(ptrAddress('web')).toBeUndefined();
    const q = query('2.0.89.10.in-addr.arpa', 12);
    const r = replyPtr(q, parseQuestion(q)!.end, 'web');
    expect(r.readUInt16BE(6)).toBe(1);
    expect(r.subarray(r.length - 5).toString('latin1')).toBe('\u0003web\u0000');
  });
});
