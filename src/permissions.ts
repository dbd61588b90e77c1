/**
 * The sandbox: the Deno permission flags of the vault process and the
 * permission set of each Worker. This is the single source for `main.ts`,
 * `tools/launch.ts`, the tests and `compile.sh`.
 *
 * @module
 */

import { ENV_NAMES } from "./config.ts";

/** What the sandbox is cut to. */
export interface SandboxInputs {
  /** Absolute data dir. */
  dataDir: string;
  /** Listen host. */
  host: string;
  /** Listen port. */
  port: number;
  /** Absolute path of the config file, if any. */
  configFile?: string;
  /** Absolute drive paths (chunk shards); the default drive lies inside the data dir. */
  drives?: string[];
}

/** The data dir and every drive: what the vault, the store and the index may read and write. */
function storagePaths(s: SandboxInputs): string[] {
  return [s.dataDir, ...(s.drives ?? []).filter((d) => !d.startsWith(`${s.dataDir}/`))];
}

/** Directory holding the vault's own modules; Workers need read access to load their entry files. */
export const CODE_DIR: string = new URL(".", import.meta.url).pathname.replace(/\/$/, "");

/**
 * The `deno run` flags of the vault process.
 *
 * @param s Data dir, listen address and config file.
 * @returns Flags to pass before the module name.
 *
 * @example
 * ```ts
 * import { vaultFlags } from "./permissions.ts";
 * const flags = vaultFlags({ dataDir: "/d", host: "127.0.0.1", port: 8080 });
 * if (!flags.includes("--allow-net=127.0.0.1:8080")) throw new Error("net flag missing");
 * ```
 */
export function vaultFlags(s: SandboxInputs): string[] {
  const read = [...storagePaths(s), CODE_DIR, ...(s.configFile ? [s.configFile] : [])];
  return [
    `--allow-read=${read.join(",")}`,
    `--allow-write=${storagePaths(s).join(",")}`,
    `--allow-net=${netAddress(s)}`,
    `--allow-env=${ENV_NAMES.join(",")}`,
    "--unstable-worker-options",
    "--no-prompt",
    // Workers free transferred chunk buffers with minor GCs (src/channel/churn.ts). Old space may
    // grow to twice its live size before a full GC (V8 lets small heaps grow up to four times):
    // the bench's peak RSS fell from 262-275 MiB to 247 MiB, GET and PUT rates unchanged within
    // this machine's noise. 50 % held it at 220 MiB but doubled the concurrent marking and cost
    // GETs 20 %.
    "--v8-flags=--expose-gc,--max-semi-space-size=1,--heap-growing-percent=100",
  ];
}

function netAddress(s: SandboxInputs): string {
  const host = s.host.includes(":") && !s.host.startsWith("[") ? `[${s.host}]` : s.host;
  return `${host}:${s.port}`;
}

/**
 * Environment the vault process is started with: glibc's allocator keeps
 * freed 1 MiB chunk buffers in per-thread arenas unless large blocks are
 * always mmap'd, which roughly doubles peak RSS under streaming load.
 * Applied by `deno task start`, the tests and the systemd unit.
 */
export const VAULT_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: "131072",
};

/** Worker names, one per isolated module. */
export type WorkerName = "router" | "store" | "meta" | "scrub";

/** The scrubber's checkpoint in the data dir: the only file it may write. */
export const SCRUB_CHECKPOINT_FILE = "scrub-checkpoint.json";

/**
 * Least-privilege permissions of each Worker: the router holds the port and
 * no file access beyond its own code; the store holds the data dir and the
 * drives, the index the data dir, and neither the network; the scrubber
 * reads the data dir and the drives and writes only its checkpoint (it
 * repairs through the store, so it can neither change nor delete a shard).
 *
 * @param s Data dir and listen address.
 * @returns The `deno.permissions` option for each Worker.
 */
export function workerPermissions(
  s: SandboxInputs,
): Record<WorkerName, Deno.PermissionOptionsObject> {
  const none = { env: false, ffi: false, import: false, run: false, sys: false } as const;
  const checkpoint = `${s.dataDir}/${SCRUB_CHECKPOINT_FILE}`;
  return {
    router: { ...none, net: [netAddress(s)], read: [CODE_DIR], write: false },
    store: { ...none, net: false, read: [CODE_DIR, ...storagePaths(s)], write: storagePaths(s) },
    meta: { ...none, net: false, read: [CODE_DIR, s.dataDir], write: [s.dataDir] },
    scrub: {
      ...none,
      net: false,
      read: [CODE_DIR, ...storagePaths(s)],
      write: [checkpoint, `${checkpoint}.tmp`],
    },
  };
}
