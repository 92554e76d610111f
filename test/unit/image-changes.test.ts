import { describe, expect, it } from 'vitest';
import { applyChanges } from '../../src/image/changes.js';

describe('commit -c changes', () => {
  it('applies Dockerfile instructions in exec and shell form', () => {
    const c = applyChanges({ Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'] }, [
      'CMD echo hi', 'ENV A=2 B="two words"', 'ENV C 3', 'EXPOSE 80 53/udp', 'LABEL a=b', 'WORKDIR /w', 'USER 1:2', 'VOLUME ["/v"]', 'STOPSIGNAL SIGTERM',
    ]);
    expect(c).toEqual({
      Env: ['PATH=/bin', 'A=2', 'B=two words', 'C=3'], Cmd: ['/bin/sh', '-c', 'echo hi'], ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      Labels: { a: 'b' }, WorkingDir: '/w', User: '1:2', Volumes: { '/v': {} }, StopSignal: 'SIGTERM',
    });
    expect(applyChanges({ Cmd: ['sh'] }, ['ENTRYPOINT ["/bin/app"]'])).toEqual({ Cmd: null, Entrypoint: ['/bin/app'] });
  });
  it('refuses what Docker refuses', () => {
    expect(() => applyChanges({}, ['RUN true'])).toThrow('RUN is not a valid change command');
    expect(() => applyChanges({}, ['EXPOSE http'])).toThrow('invalid port');
  });
});
