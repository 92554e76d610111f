import { describe, expect, it } from 'vitest';
import { compile, formatInspect, formatList, struct, tabwrite } from '../../src/cli/template/index.js';

const r = (src: string, data: unknown, missingKeyError = false) => compile(src).render(data, { missingKeyError });

// Data shaped as Docker's `inspect` output (examples from Docker's "Format command and log output" page)
const ctr = {
  Id: 'abc123',
  Name: '/web',
  State: { Status: 'running', Running: true, Pid: 4242, ExitCode: 0 },
  Config: { Labels: { 'com.example.b': '2', 'com.example.a': '1' }, Env: ['PATH=/bin', 'A=1'], Cmd: ['sh', '-c', 'top'], Entrypoint: null },
  NetworkSettings: {
    Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] },
    Networks: { front: { IPAddress: '10.89.1.2' }, back: { IPAddress: '10.89.0.2' } },
  },
};

describe('Go template engine', () => {
  it('field chains, as inspect -f uses them', () => {
    expect(r('{{.State.Pid}}', ctr)).toBe('4242');
    expect(r('{{.Name}} {{ .State.Running }}', ctr)).toBe('/web true');
    expect(r('{{.Config.Entrypoint}}', ctr)).toBe('<nil>');
    expect(r('{{.Config.Cmd}}', ctr)).toBe('[sh -c top]');
    expect(r('{{.Config.Labels}}', ctr)).toBe('map[com.example.a:1 com.example.b:2]');
  });
  it('range over a map goes in key order; variables; $ is the root', () => {
    expect(r('{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', ctr)).toBe('10.89.0.210.89.1.2');
    expect(r('{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}', ctr)).toBe('back=10.89.0.2 front=10.89.1.2 ');
    expect(r('{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}', ctr)).toBe(' 80/tcp -> 8080 ');
    expect(r('{{range .Config.Env}}{{$.Name}}:{{.}};{{end}}', ctr)).toBe('/web:PATH=/bin;/web:A=1;');
    expect(r('{{$x := .State}}{{$x.Status}}{{$x = 3}} {{$x}}', ctr)).toBe('running 3');
    expect(r('{{range $i, $e := .Config.Cmd}}{{$i}}{{$e}}{{end}}', ctr)).toBe('0sh1-c2top');
    expect(r('{{range .Nothing}}x{{else}}empty{{end}}', ctr)).toBe('empty');
    expect(r('{{range .Config.Cmd}}{{if eq . "-c"}}{{break}}{{end}}{{.}}{{end}}', ctr)).toBe('sh');
    expect(r('{{range .Config.Cmd}}{{if eq . "-c"}}{{continue}}{{end}}{{.}}{{end}}', ctr)).toBe('shtop');
  });
  it('json, join, split, upper, lower, title, println, pad, truncate (docker/cli functions)', () => {
    expect(r('{{json .Config.Labels}}', ctr)).toBe('{"com.example.b":"2","com.example.a":"1"}');
    expect(r('{{json .State}}', ctr)).toBe('{"Status":"running","Running":true,"Pid":4242,"ExitCode":0}');
    expect(r('{{json "a<b>&"}}', ctr)).toBe('"a<b>&"');
    expect(r('{{join .Config.Cmd " , "}}', ctr)).toBe('sh , -c , top');
    expect(r('{{split "a:b:c" ":"}}', ctr)).toBe('[a b c]');
    expect(r('{{index (split .Name "/") 1}}', ctr)).toBe('web');
    expect(r('{{upper .State.Status}} {{lower "ABC"}} {{title "hello world-wide"}}', ctr)).toBe('RUNNING abc Hello World-Wide');
    expect(r('{{println .Id}}', ctr)).toBe('abc123\n');
    expect(r('[{{pad .Id 2 1}}][{{pad "" 2 1}}]', ctr)).toBe('[  abc123 ][]');
    expect(r('{{truncate .Id 3}} {{truncate .Id 30}}', ctr)).toBe('abc abc123');
    expect(r('{{.State.Status | upper}}', ctr)).toBe('RUNNING');
    expect(r('{{.Name | printf "%s!"}}', ctr)).toBe('/web!');
    expect(() => r('{{.Config.Cmd | join ","}}', ctr)).toThrow('wrong type for value; expected []string; got string');
  });
  it('index, len, if/else if/else, with, comparisons, and/or/not, printf', () => {
    expect(r('{{index .Config.Labels "com.example.a"}}', ctr)).toBe('1');
    expect(r('{{index .Config.Cmd 2}}', ctr)).toBe('top');
    expect(r('{{len .Config.Env}} {{len .Name}} {{len .Config.Labels}}', ctr)).toBe('2 4 2');
    expect(r('{{if .State.Running}}up{{else}}down{{end}}', ctr)).toBe('up');
    expect(r('{{if eq .State.ExitCode 1}}one{{else if eq .State.ExitCode 0}}zero{{else}}other{{end}}', ctr)).toBe('zero');
    expect(r('{{with .State}}{{.Status}}{{end}}{{with .Config.Entrypoint}}x{{else}}none{{end}}', ctr)).toBe('runningnone');
    expect(r('{{eq .State.Status "exited" "running"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}', ctr)).toBe('true true true true true false');
    expect(r('{{and .State.Running .Name}} {{or .Config.Entrypoint "dflt"}} {{not .State.Running}}', ctr)).toBe('/web dflt false');
    expect(r('{{printf "%s has pid %d" .Name .State.Pid}} {{printf "%-6s|%5d" "ab" 42}}', ctr)).toBe('/web has pid 4242 ab    |   42');
    expect(r('{{/* a comment */}}a  {{- " b " -}}  c', ctr)).toBe('a b c');
  });
  it('a missing field is an error with Go\'s message, never silence', () => {
    expect(() => r('{{.Foo}}', ctr, true)).toThrow('template: :1:2: executing "" at <.Foo>: map has no entry for key "Foo"');
    expect(() => r('x {{ .State.Nope }}', ctr, true)).toThrow('template: :1:5: executing "" at <.State.Nope>: map has no entry for key "Nope"');
    expect(r('{{.Foo}}', ctr)).toBe('<no value>');
    const row = struct('*formatter.containerContext', { ID: 'abc', Label: (k: string) => (k === 'a' ? '1' : '') });
    expect(() => r('{{.Foo}}', row)).toThrow('template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.containerContext');
    expect(r('{{.Label "a"}}|{{.Label "b"}}', row)).toBe('1|');
    expect(() => r('{{.Name.X}}', ctr)).toThrow("can't evaluate field X in type string");
    expect(() => r('{{index .Config.Cmd 5}}', ctr)).toThrow('at <index .Config.Cmd 5>: error calling index: index out of range: 5');
    expect(() => r('{{upper .State}}', ctr)).toThrow('wrong type for value; expected string; got map[string]interface {}');
    expect(() => r('{{eq .State.Pid "x"}}', ctr)).toThrow('error calling eq: incompatible types for comparison');
  });
  it('parse errors read as Go\'s', () => {
    expect(() => compile('{{nosuch .X}}')).toThrow('template: :1: function "nosuch" not defined');
    expect(() => compile('{{.X')).toThrow('template: :1: unclosed action');
    expect(() => compile('{{if .X}}a')).toThrow('template: :1: unexpected EOF');
    expect(() => compile('{{end}}')).toThrow('template: :1: unexpected {{end}}');
  });
});

describe('docker/cli formatter', () => {
  const spec = { table: 'table {{.ID}}\t{{.Status}}\t{{.Names}}', headers: { ID: 'CONTAINER ID', Status: 'STATUS', Names: 'NAMES' } };
  const rows = [
    struct('*formatter.containerContext', { ID: '0123456789ab', Status: 'Up 2 minutes', Names: 'web' }),
    struct('*formatter.containerContext', { ID: 'ba9876543210', Status: 'Exited (0) 3 seconds ago', Names: 'db' }),
  ];
  it('a table has a header line and columns padded by 3 to at least 10 (tabwriter)', () => {
    expect(formatList(spec.table, rows, spec)).toBe(
      'CONTAINER ID   STATUS                     NAMES\n' +
      '0123456789ab   Up 2 minutes               web\n' +
      'ba9876543210   Exited (0) 3 seconds ago   db\n',
    );
    expect(formatList('table {{.Names}}\\t{{.ID}}', rows, spec)).toBe('NAMES     CONTAINER ID\nweb       0123456789ab\ndb        ba9876543210\n');
    expect(formatList('table {{.Names}}', [], spec)).toBe('NAMES\n');
    expect(formatList('table {{upper .Names}}\t{{json .ID}}', rows.slice(0, 1), spec)).toBe('NAMES     CONTAINER ID\nWEB       "0123456789ab"\n');
    // a header that fails half-way keeps what it wrote, as Docker (the Label method has no header)
    const labelled = [struct('*formatter.containerContext', { Names: 'web', Label: (k: string) => (k === 'a' ? 'x' : '') })];
    expect(formatList('table {{.Names}}\t{{.Label "a"}}', labelled, spec)).toBe('NAMES     \nweb       x\n');
  });
  it('a custom format is one line per row; \\t in the flag is a tab', () => {
    expect(formatList('{{.Names}}', rows, spec)).toBe('web\ndb\n');
    expect(formatList('{{.ID}}\\t{{.Names}}', rows, spec)).toBe('0123456789ab\tweb\nba9876543210\tdb\n');
    expect(formatList('{{json .}}', rows.slice(0, 1), spec)).toBe('{"ID":"0123456789ab","Status":"Up 2 minutes","Names":"web"}\n');
  });
  it('failures say "Template parsing error"', () => {
    expect(() => formatList('{{.Nope}}', rows, spec)).toThrow(/^Template parsing error: template: :1:2: executing "" at <\.Nope>: can't evaluate field Nope in type \*formatter\.containerContext$/);
    expect(() => formatInspect('{{.Nope}}', [ctr])).toThrow('Template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"');
    expect(formatInspect('{{.State.Pid}}', [ctr, ctr])).toBe('4242\n4242\n');
  });
  it('tabwriter: column blocks end at a line without that column', () => {
    expect(tabwrite('a\tb\nlonger-than-ten\tc\nno tabs here\nx\ty\n')).toBe('a                 b\nlonger-than-ten   c\nno tabs here\nx         y\n');
  });
});
