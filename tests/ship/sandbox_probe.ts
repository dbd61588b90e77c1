/**
 * Test-only probe of the sandbox. tests/ship/sandbox_test.ts runs this module
 * with exactly the vault's flags (`vaultFlags()`), so this process holds the
 * same permissions as the vault process; it then starts one Worker per
 * `workerPermissions()` entry. The process and each Worker try the same list
 * of real operations and report, per operation, "ok" or the error's name.
 * The vault itself carries no hook for this.
 *
 * Usage: deno run <vaultFlags> sandbox_probe.ts '<ProbeTargets as JSON>'
 *
 * @module
 */

import { type SandboxInputs, type WorkerName, workerPermissions } from "../../src/permissions.ts";

/** What the probe aims at; paths are absolute. */
export interface ProbeTargets {
  /** The sandbox the process was started with. */
  sandbox: SandboxInputs;
  /** An existing file inside the data dir. */
  insideFile: string;
  /** An existing file beside the data dir (same parent). */
  besideFile: string;
  /** An existing file in a dir whose name starts with the data dir's name. */
  prefixTwinFile: string;
  /** A dir outside the data dir where writes must fail. */
  outsideDir: string;
  /** A loopback port other than the listen port. */
  otherPort: number;
  /** A variable present in the environment whose name is not AMBER_*. */
  canaryEnv: string;
}

/** Outcome of each attempt: "ok" or the name of the error thrown. */
export type ProbeReport = Record<string, string>;

/**
 * Tries each operation once. Self-contained (no outer references) because
 * Workers run it from its source text.
 */
async function probe(t: ProbeTargets, who: string): Promise<ProbeReport> {
  const report: ProbeReport = {};
  const attempt = async (name: string, op: () => unknown) => {
    try {
      await op();
      report[name] = "ok";
    } catch (e) {
      report[name] = (e as Error).name;
    }
  };
  const { dataDir, host, port } = t.sandbox;
  await attempt("read /etc/passwd", () => Deno.readTextFileSync("/etc/passwd"));
  await attempt("read beside the data dir", () => Deno.readTextFileSync(t.besideFile));
  await attempt(
    "read a prefix twin of the data dir",
    () => Deno.readTextFileSync(t.prefixTwinFile),
  );
  await attempt("read in the data dir", () => Deno.readTextFileSync(t.insideFile));
  await attempt(
    "write in the data dir",
    () => Deno.writeTextFileSync(`${dataDir}/probe-${who}`, who),
  );
  await attempt(
    "write outside the data dir",
    () => Deno.writeTextFileSync(`${t.outsideDir}/${who}`, who),
  );
  await attempt("mkdir outside the data dir", () => Deno.mkdirSync(`${t.outsideDir}/dir-${who}`));
  await attempt("listen on the listen port", () => Deno.listen({ hostname: host, port }).close());
  await attempt(
    "listen on another port",
    () => Deno.listen({ hostname: host, port: t.otherPort }).close(),
  );
  await attempt(
    "connect to another port",
    async () => (await Deno.connect({ hostname: host, port: t.otherPort })).close(),
  );
  await attempt(
    "connect to another host",
    async () => (await Deno.connect({ hostname: "127.0.0.2", port })).close(),
  );
  await attempt(
    "fetch from another host",
    async () => (await fetch(`http://127.0.0.2:${port}/`)).body?.cancel(),
  );
  await attempt("read AMBER_PORT", () => Deno.env.get("AMBER_PORT"));
  await attempt("read a non-AMBER env var", () => Deno.env.get(t.canaryEnv));
  await attempt("read the whole environment", () => Deno.env.toObject());
  await attempt("run a program", () => new Deno.Command("/bin/true").outputSync());
  await attempt("load a native library", () => Deno.dlopen("libc.so.6", {}));
  await attempt("read system information", () => Deno.hostname());
  const granted = (d: Deno.PermissionDescriptor) =>
    Deno.permissions.querySync(d).state === "granted";
  report["query read /etc/passwd"] = String(granted({ name: "read", path: "/etc/passwd" }));
  report["query write outside"] = String(granted({ name: "write", path: t.outsideDir }));
  report["query net another port"] = String(
    granted({ name: "net", host: `${host}:${t.otherPort}` }),
  );
  report["query env canary"] = String(granted({ name: "env", variable: t.canaryEnv }));
  report["query run"] = String(granted({ name: "run" }));
  return report;
}

function inWorker(name: WorkerName, t: ProbeTargets): Promise<ProbeReport> {
  const source = `const probe = ${probe.toString()};\n` +
    `postMessage(await probe(${JSON.stringify(t)}, ${JSON.stringify(name)}));`;
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  const worker = new Worker(url, {
    type: "module",
    name,
    deno: { permissions: workerPermissions(t.sandbox)[name] },
  } as WorkerOptions);
  return new Promise((resolve, reject) => {
    worker.onmessage = (e: MessageEvent) => {
      worker.terminate();
      resolve(e.data as ProbeReport);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      reject(new Error(`${name} probe failed: ${e.message}`));
    };
  });
}

if (import.meta.main) {
  const t = JSON.parse(Deno.args[0]) as ProbeTargets;
  const reports: Record<string, ProbeReport> = { process: await probe(t, "process") };
  for (const name of ["router", "store", "meta"] as const) reports[name] = await inWorker(name, t);
  console.log(JSON.stringify(reports));
}
