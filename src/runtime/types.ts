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
  dnsOptions?: string[];
  addHosts: string[];
  securityOpt: string[];
  labels: Record<string, string>;
  /** --label-file: read at create, --label wins over them */
  labelFiles?: string[];
  /** --stop-signal (else the image's StopSignal) and --stop-timeout: what `stop` uses */
  stopSignal?: string;
  stopTimeout?: number;
  /** --restart as given (runtime/restart-policy.ts parses it) */
  restart?: string;
  /** --health-*, --no-healthcheck as given (runtime/health.ts parses them) */
  health?: import('./health.js').HealthFlags;
  /** -P and --expose: publish every exposed port; more exposed ports (Config.ExposedPorts) */
  publishAll?: boolean;
  expose?: string[];
  /** --pid, --ipc, --uts, --cgroupns, --shm-size (runtime/namespaces.ts) */
  ns?: { pid?: string; ipc?: string; uts?: string; cgroupns?: string; shmSize?: string };
  /** --sysctl KEY=VALUE, --group-add, --domainname, --platform (runtime/extras.ts) */
  sysctls?: string[];
  groupAdd?: string[];
  domainname?: string;
  platform?: string;
  /** --link NAME[:ALIAS], --volumes-from X[:ro|rw] (runtime/legacy.ts) */
  links?: string[];
  volumesFrom?: string[];
  /** --mac-address of the container's interface on its network */
  macAddress?: string;
  /** --init: tsdocker-init as pid 1 (/sbin/docker-init -- CMD) */
  init?: boolean;
  /** resource, mount and security flags, handed to runtime/resources.ts */
  resources: Record<string, unknown>;
  /** run -a: only these streams are attached (default all three) */
  attach?: { stdin: boolean; stdout: boolean; stderr: boolean };
  /** run --detach-keys (default ctrl-p,ctrl-q) and --sig-proxy (default true) */
  detachKeys?: string;
  sigProxy?: boolean;
}
