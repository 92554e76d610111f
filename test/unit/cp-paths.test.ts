import { describe, expect, it } from 'vitest';
import { placement, rebase, splitCpArg, splitPathDirEntry } from '../../src/cli/cp-paths.js';

describe('docker cp path rules', () => {
  it('splits paths as moby SplitPathDirEntry', () => {
    expect(splitPathDirEntry('/a/b')).toEqual(['/a', 'b']);
    expect(splitPathDirEntry('/a/b/')).toEqual(['/a', 'b']);
    expect(splitPathDirEntry('/a/b/.')).toEqual(['/a/b', '.']);
    expect(splitPathDirEntry('/')).toEqual(['/', '/']);
  });
  it('places a source as PrepareArchiveCopy does', () => {
    const dir = { path: '/dst', exists: true, isDir: true };
    expect(placement({ path: '/src/f', isDir: false }, dir)).toEqual({ dir: '/dst', name: 'f' });
    expect(placement({ path: '/src/d/.', isDir: true }, dir)).toEqual({ dir: '/dst', name: '.' });
    expect(placement({ path: '/src/d', isDir: true }, { path: '/x/new', exists: false, isDir: false })).toEqual({ dir: '/x', name: 'new' });
    expect(placement({ path: '/src/f', isDir: false }, { path: '/x/file', exists: true, isDir: false })).toEqual({ dir: '/x', name: 'file' });
    expect(placement({ path: '/lnk-target', isDir: false, rebaseName: 'lnk' }, dir)).toEqual({ dir: '/dst', name: 'lnk' });
    expect(() => placement({ path: '/src/d', isDir: true }, { path: '/x/file', exists: true, isDir: false })).toThrow('cannot copy directory');
    expect(() => placement({ path: '/src/f', isDir: false }, { path: '/x/new/', exists: false, isDir: false })).toThrow('no such directory');
  });
  it('rebases entry names', () => {
    expect(rebase('d', 'e')(['d', 'a'])).toEqual(['e', 'a']);
    expect(rebase('.', 'e')(['a'])).toEqual(['e', 'a']);
    expect(rebase('.', '.')(['a'])).toEqual(['a']);
  });
  it('splits CONTAINER:PATH as docker/cli, a path starting with / or . is local', () => {
    expect(splitCpArg('c:/x')).toEqual({ container: 'c', path: '/x' });
    expect(splitCpArg('./a:b')).toEqual({ path: './a:b' });
    expect(splitCpArg('/a:b')).toEqual({ path: '/a:b' });
    expect(splitCpArg('-')).toEqual({ path: '-' });
  });
});
