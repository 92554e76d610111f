import { describe, expect, it } from 'vitest';
import { mergeExposed, parseExpose, portsColumn, publishAllSpecs } from '../../src/net/expose.js';
import { parsePublish } from '../../src/net/ports.js';

describe('exposed ports', () => {
  it('--expose: ports, ranges and protocols as "80/tcp" keys; docker/cli\'s errors', () => {
    expect(parseExpose(['80', '53/udp', '8000-8002/tcp'])).toEqual(['80/tcp', '53/udp', '8000/tcp', '8001/tcp', '8002/tcp']);
    expect(() => parseExpose(['80:80'])).toThrow('invalid port format for --expose: 80:80');
    expect(() => parseExpose(['http'])).toThrow('invalid range format for --expose: http, error: strconv.ParseUint: parsing "http": invalid syntax');
    expect(() => parseExpose(['70000'])).toThrow('invalid range format for --expose: 70000');
  });

  it('merges the image, --expose and -p, sorted as Go sorts map keys; -P adds only what -p does not bind', () => {
    const exposed = mergeExposed({ '80/tcp': {}, '443': {} }, ['9000/udp'], ['8080:80', '127.0.0.1:5000:5000'], parsePublish);
    expect(exposed).toEqual(['443/tcp', '5000/tcp', '80/tcp', '9000/udp']);
    const bound = ['8080:80', '127.0.0.1:5000:5000'].flatMap(parsePublish);
    expect(publishAllSpecs(exposed, bound).map((p) => `${p.containerPort}/${p.proto}:${p.hostPort}`)).toEqual(['443/tcp:0', '9000/udp:0']);
  });

  it('the PORTS column: unpublished runs first (docker/cli\'s grouping), then mappings by container port', () => {
    const published = [
      { hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, proto: 'tcp' as const },
      { hostIp: '0.0.0.0', hostPort: 5353, containerPort: 53, proto: 'udp' as const },
    ];
    expect(portsColumn(['1/tcp', '2/tcp', '3/tcp', '53/udp', '80/tcp', '9/udp'], published))
      .toBe('1-3/tcp, 9/udp, 0.0.0.0:5353->53/udp, 0.0.0.0:8080->80/tcp');
    expect(portsColumn([], [])).toBe('');
  });
});
