/**
 * The environment variables that change what a Node CLI costs at startup, as this run found
 * them: every NODE_* and UV_* variable (names; NODE_EXTRA_CA_CERTS with its file, whose
 * parsing is the large one: ~40 ms of Node 20's startup for a 140-certificate bundle).
 * Printed in the notes so a reader knows which `node -e 0` floor applies.
 */
export function nodeEnvNote(env: NodeJS.ProcessEnv = process.env): string {
  const names = Object.keys(env).filter((k) => /^(NODE_|UV_)/.test(k)).sort();
  if (names.length === 0) return 'environment: no NODE_* or UV_* variable set: `node -e 0` is Node\'s bare start';
  const shown = names.map((k) => (k === 'NODE_EXTRA_CA_CERTS' ? `${k}=${env[k]}` : k));
  return `environment: ${shown.join(', ')} set (bin/tsdocker drops NODE_EXTRA_CA_CERTS for Node and passes it on to the code that makes TLS connections; the others reach tsdocker and \`node -e 0\` alike)`;
}
