/**
 * Amber: load config, open the vault, start the store, index and router
 * Workers with least privilege, wire their channels, and drain on SIGTERM.
 *
 * Run through `deno task start` (or tests/helpers/vault.ts, or the compiled
 * binary), which apply the flags from `src/permissions.ts`.
 *
 * @module
 */

import { ensureRootCredential } from "./src/auth/mod.ts";
import { ConfigError, loadConfig } from "./src/config.ts";
import { META_WORKER_URL } from "./src/meta/mod.ts";
import { log, setLogLevel } from "./src/ops/mod.ts";
import { type WorkerName, workerPermissions } from "./src/permissions.ts";
import { ROUTER_WORKER_URL, type RouterInit } from "./src/s3/mod.ts";
import {
  DEMO_VAULT_KEY,
  openVault,
  secretSealer,
  STORE_WORKER_URL,
  StoreError,
} from "./src/store/mod.ts";

function fail(line: string): never {
  console.error(`amber: ${line}`);
  Deno.exit(1);
}

function start(name: WorkerName, url: URL, permissions: Deno.PermissionOptionsObject): Worker {
  const w = new Worker(url, { type: "module", name, deno: { permissions } } as WorkerOptions);
  w.addEventListener("error", (e) => {
    e.preventDefault();
    fail(`The ${name} worker crashed: ${e.message}`);
  });
  return w;
}

function answer(
  w: Worker,
  expect: string,
): Promise<{ type: string; message?: string; port?: number }> {
  return new Promise((resolve) => {
    const on = (e: MessageEvent) => {
      if (e.data?.type === expect || e.data?.type === "failed") {
        w.removeEventListener("message", on);
        resolve(e.data);
      }
    };
    w.addEventListener("message", on);
  });
}

async function main() {
  let config;
  try {
    config = loadConfig({
      args: Deno.args,
      env: (n) => Deno.env.get(n),
      readFile: Deno.readTextFileSync,
      cwd: Deno.cwd(),
    });
  } catch (e) {
    if (e instanceof ConfigError) fail(e.lines.join("\namber: "));
    throw e;
  }
  setLogLevel(config.logLevel);
  if (config.vaultKey === undefined) {
    console.error(
      "amber: WARNING: AMBER_VAULT_KEY is not set, so the vault is encrypted under the public demo key. " +
        "Anyone with the disks can read it. Set AMBER_VAULT_KEY before storing real data.",
    );
  }
  let vault;
  try {
    vault = openVault(config.dataDir, config.vaultKey ?? DEMO_VAULT_KEY);
  } catch (e) {
    if (e instanceof StoreError && e.kind === "wrongKey") {
      fail(
        `Cannot unlock the vault in "${config.dataDir}": the vault key (AMBER_VAULT_KEY) is wrong`,
      );
    }
    if (e instanceof Deno.errors.NotCapable) {
      fail(
        `Cannot use data dir "${config.dataDir}": it is outside this binary's sandbox (rebuild with compile.sh --data-dir)`,
      );
    }
    fail(`Cannot open the vault in "${config.dataDir}": ${(e as Error).message}`);
  }
  const configured = config.accessKey && config.secretKey
    ? { accessKey: config.accessKey, secretKey: config.secretKey }
    : undefined;
  const { credential, generated } = ensureRootCredential(
    config.dataDir,
    secretSealer(vault.keys),
    configured,
  );
  if (generated) {
    console.log(
      `amber: generated the root credential (shown only now; it is stored sealed in the data dir):\n` +
        `  AWS_ACCESS_KEY_ID=${credential.accessKey}\n  AWS_SECRET_ACCESS_KEY=${credential.secretKey}`,
    );
  }

  const perms = workerPermissions(config);
  const store = start("store", STORE_WORKER_URL, perms.store);
  const meta = start("meta", META_WORKER_URL, perms.meta);
  const router = start("router", ROUTER_WORKER_URL, perms.router);
  const toMeta = new MessageChannel();
  const toStore = new MessageChannel();

  const { keys } = vault;
  store.postMessage({
    type: "init",
    dataDir: config.dataDir,
    keys: { idKey: keys.idKey, sealKey: keys.sealKey, vaultId: keys.vaultId },
    ports: [toStore.port2],
  }, [toStore.port2]);
  meta.postMessage({ type: "init", dataDir: config.dataDir, ports: [toMeta.port2] }, [
    toMeta.port2,
  ]);
  for (const [name, w] of [["store", store], ["meta", meta]] as const) {
    const r = await answer(w, "ready");
    if (r.type === "failed") fail(`The ${name} worker cannot start: ${r.message}`);
  }
  const init: RouterInit = {
    host: config.host,
    port: config.port,
    region: config.region,
    logLevel: config.logLevel,
    credentials: [credential],
    meta: toMeta.port1,
    store: toStore.port1,
  };
  router.postMessage({ type: "init", init }, [toMeta.port1, toStore.port1]);
  const ready = await answer(router, "ready");
  if (ready.type === "failed") fail(ready.message ?? "The router cannot start");
  console.log(
    `amber: serving S3 on http://${config.host}:${ready.port} with data in "${config.dataDir}"`,
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log("info", "Stopping: draining requests");
    router.postMessage({ type: "shutdown" });
    await answer(router, "stopped");
    store.postMessage({ type: "shutdown" });
    meta.postMessage({ type: "shutdown" });
    await Promise.all([answer(store, "stopped"), answer(meta, "stopped")]);
    log("info", "Stopped");
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}

if (import.meta.main) await main();
