/** Options of `run`/`create`, as the CLI hands them to the runtime. */
export interface RunOptions {
  image: string;
  command: string[];
  name?: string;
  rm: boolean;
  detach: boolean;
  interactive: boolean;
  tty: boolean;
  env: string[];
  envFiles: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  network?: string;
  publish: string[];
  ip?: string;
  aliases: string[];
  dns: string[];
  dnsSearch: string[];
  addHosts: string[];
  securityOpt: string[];
  labels: Record<string, string>;
  /** resource, mount and security flags, handed to runtime/resources.ts */
  resources: Record<string, unknown>;
}
