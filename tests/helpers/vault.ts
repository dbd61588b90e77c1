/**
 * Starts the real vault as its own process, with exactly the production
 * permission flags, on a free loopback port and a temporary data dir.
 *
 * @module
 */

import { VAULT_ENV, vaultFlags } from "../../src/permissions.ts";

/** A running vault under test. */
export interface TestVault {
  endpoint: string;
  port: number;
  dataDir: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** The vault's id (hex), as `/healthz` names it: approvals are bound to it. */
  vaultId: string;
  /** Process id of the vault. */
  pid: number;
  /** Everything the process printed so far. */
  output(): string;
  /** SIGTERM and wait; returns the exit code. */
  stop(): Promise<number>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

/** Options for {@linkcode startVault}. */
export interface StartOptions {
  /** Reuse a data dir (for restart tests); a new temp dir otherwise. */
  dataDir?: string;
  /** Extra environment (AMBER_*). */
  env?: Record<string, string>;
  /** Port; a free one otherwise. */
  port?: number;
  /** Arguments after main.ts (for example `serve`). */
  args?: string[];
  /**
   * Largest file the vault may write, bytes (RLIMIT_FSIZE via `prlimit`, with
   * SIGXFSZ ignored so an oversized write fails with EFBIG): a full disk
   * without root.
   */
  fileSizeLimit?: number;
  /** A command the vault runs under, its arguments first (for example a system call filter). */
  wrap?: string[];
}

/** The drives named by `AMBER_DRIVES` in a test's environment (absolute paths), for the sandbox flags. */
function drivesOf(env?: Record<string, string>): string[] | undefined {
  return env?.AMBER_DRIVES?.split(",").filter((d) => d !== "");
}

/** A process's peak resident memory so far, MiB (read by `cat`: Deno asks --allow-all for /proc/<pid>). */
export async function peakRssMiB(pid: number): Promise<number> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  return Number(/VmHWM:\s+(\d+)/.exec(new TextDecoder().decode(out.stdout))![1]) / 1024;
}

/** Finds a free loopback port. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/**
 * Starts a vault and waits until it serves `/healthz`.
 *
 * @param opts Data dir, env, port.
 * @returns The running vault.
 */
export async function startVault(opts: StartOptions = {}): Promise<TestVault> {
  const dataDir = opts.dataDir ?? await Deno.makeTempDir({ prefix: "amber-test-" });
  const port = opts.port ?? freePort();
  const accessKey = "AMBERTESTKEY";
  const secretKey = "amber-test-secret-key-0123456789";
  const config = { dataDir, host: "127.0.0.1", port, drives: drivesOf(opts.env) };
  const args = ["run", ...vaultFlags(config), MAIN, ...(opts.args ?? [])];
  // An ignored signal stays ignored across exec, so the shell's trap reaches the vault.
  const [command, commandArgs] = opts.wrap
    ? [opts.wrap[0], [...opts.wrap.slice(1), Deno.execPath(), ...args]]
    : opts.fileSizeLimit === undefined
    ? [Deno.execPath(), args]
    : ["sh", [
      "-c",
      `trap '' XFSZ; exec prlimit --fsize=${opts.fileSizeLimit} "$@"`,
      "sh",
      Deno.execPath(),
      ...args,
    ]];
  const child = new Deno.Command(command, {
    args: commandArgs,
    env: {
      ...VAULT_ENV,
      AMBER_DATA_DIR: dataDir,
      AMBER_PORT: String(port),
      AMBER_ACCESS_KEY: accessKey,
      AMBER_SECRET_KEY: secretKey,
      AMBER_VAULT_KEY: "test-vault-key",
      AMBER_LOG_LEVEL: Deno.env.get("AMBER_TEST_LOG_LEVEL") ?? "warn",
      ...opts.env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const b of s.pipeThrough(new TextDecoderStream())) out += b;
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  let exited = false;
  let vaultId = "";
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  while (true) {
    if (exited) {
      await pumps;
      throw new Error(`Vault exited during start-up:\n${out}`);
    }
    try {
      const r = await fetch(`${endpoint}/healthz`);
      const health = r.ok ? await r.json() : await r.body?.cancel();
      // Our own vault, not another process that took the port first (tests run side by side).
      if (r.ok && out.includes(`serving S3 on http://127.0.0.1:${port} `)) {
        vaultId = health.vault;
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`Vault did not start within 30 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    port,
    dataDir,
    accessKey,
    secretKey,
    region: "us-east-1",
    vaultId,
    pid: child.pid,
    output: () => out,
    async stop() {
      if (!exited) child.kill("SIGTERM");
      const s = await status;
      await pumps;
      return s.code;
    },
    async kill() {
      if (!exited) child.kill("SIGKILL");
      await status;
      await pumps;
    },
  };
}

/**
 * Runs the vault with the production flags and waits for it to exit (for
 * start-up failures); kills it after `timeoutMs` if it does not.
 *
 * @returns Exit code and everything it printed.
 */
export async function runVaultUntilExit(
  opts: { dataDir: string; env?: Record<string, string>; args?: string[]; timeoutMs?: number },
): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
  const port = freePort();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...vaultFlags({
        dataDir: opts.dataDir,
        host: "127.0.0.1",
        port,
        drives: drivesOf(opts.env),
      }),
      MAIN,
      ...(opts.args ?? []),
    ],
    env: { ...VAULT_ENV, AMBER_DATA_DIR: opts.dataDir, AMBER_PORT: String(port), ...opts.env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, opts.timeoutMs ?? 20_000);
  const out = await child.output();
  clearTimeout(timer);
  const text = new TextDecoder();
  return {
    code: out.code,
    stdout: text.decode(out.stdout),
    stderr: text.decode(out.stderr),
    timedOut,
  };
}

/**
 * Reads one unlabelled gauge or counter from the vault's `/metrics`.
 *
 * @returns Its value, or NaN when the vault does not report it.
 */
export async function metricValue(
  vault: Pick<TestVault, "endpoint">,
  name: string,
): Promise<number> {
  const text = await (await fetch(`${vault.endpoint}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return Number(line?.split(" ")[1] ?? NaN);
}

/** Removes a stopped vault's index (index.db and its -wal and -shm), as a lost disk would. */
export function removeIndex(dataDir: string): void {
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      Deno.removeSync(`${dataDir}/meta/index.db${suffix}`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
}
