/**
 * Amber: load config, open the vault, start the store, index and router
 * Workers with least privilege, wire their channels, and drain on SIGTERM.
 *
 * Run through `deno task start` (or tests/helpers/vault.ts, or the compiled
 * binary), which apply the flags from `src/permissions.ts`.
 *
 * @module
 */

import { ensureRootCredential } from "./src/auth/boot.ts";
import { configFromProcess, usage, VERSION } from "./src/config.ts";
import { auditSigner, META_WORKER_URL } from "./src/meta/boot.ts";
import { log, setLogLevel, within } from "./src/ops/boot.ts";
import { type WorkerName, workerPermissions } from "./src/permissions.ts";
import { ROUTER_WORKER_URL, type RouterInit } from "./src/s3/mod.ts";
import { SCRUB_WORKER_URL, type ScrubInit } from "./src/scrub/boot.ts";
import {
  DEMO_VAULT_KEY,
  openVault,
  secretSealer,
  STORE_WORKER_URL,
  StoreError,
  type StoreInit,
  tryLockVault,
} from "./src/store/boot.ts";

function fail(line: string): never {
  console.error(`amber: ${line}`);
  Deno.exit(1);
}

/** Fails in one line, before anything is created, when the vault could not listen where it is told to. */
function checkListen(host: string, port: number): void {
  try {
    Deno.listen({ hostname: host, port }).close();
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable) {
      fail(
        `Cannot listen on ${host}:${port}: it is outside this binary's sandbox (rebuild with compile.sh --host/--port)`,
      );
    }
    fail(`Cannot listen on ${host}:${port} (--host/--port): ${(e as Error).message}`);
  }
}

/** The vault lock, held (open) until the process exits. */
let vaultLock: Deno.FsFile | undefined;

/** Replies a Worker gives to a lifecycle message. */
type Reply = { type: string; message?: string; port?: number };

/**
 * Starts a Worker and returns it with a function waiting for its next reply
 * of a given type. Listening starts at once, so no reply is missed.
 */
function start(name: WorkerName, url: URL, permissions: Deno.PermissionOptionsObject) {
  const worker = new Worker(url, { type: "module", name, deno: { permissions } } as WorkerOptions);
  worker.addEventListener("error", (e) => {
    e.preventDefault();
    fail(`The ${name} worker crashed: ${e.message}`);
  });
  const replies: Reply[] = [];
  const waiting: { type: string; resolve: (r: Reply) => void }[] = [];
  worker.addEventListener("message", (e: MessageEvent) => {
    const reply = e.data as Reply;
    const i = waiting.findIndex((w) => w.type === reply.type || reply.type === "failed");
    if (i >= 0) waiting.splice(i, 1)[0].resolve(reply);
    else replies.push(reply);
  });
  const next = (type: string): Promise<Reply> => {
    const i = replies.findIndex((r) => r.type === type || r.type === "failed");
    if (i >= 0) return Promise.resolve(replies.splice(i, 1)[0]);
    return new Promise((resolve) => waiting.push({ type, resolve }));
  };
  return { worker, next };
}

/**
 * Subcommands that do their own work instead of serving; each returns its
 * exit status. Loaded only when asked for, with their whole areas.
 */
const SUBCOMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  keys: async (args) => (await import("./src/auth/mod.ts")).runKeysCommand(args),
  "audit-verify": async (args) =>
    (await import("./src/meta/mod.ts")).auditVerifyCommand(args, "amber audit-verify"),
  scrub: async (args) => (await import("./src/scrub/mod.ts")).runScrubCommand(args),
  "rebuild-index": async (args) =>
    (await import("./src/store/mod.ts")).runRebuildIndexCommand(args),
};

async function main() {
  if (Deno.args[0] === "version") return console.log(`amber ${VERSION}`);
  const command = SUBCOMMANDS[Deno.args[0]];
  if (command) Deno.exit(await command(Deno.args.slice(1)));
  if (Deno.args[0] === "help" || Deno.args.includes("--help")) return console.log(usage());
  const config = configFromProcess();
  setLogLevel(config.logLevel);
  if (config.vaultKey === undefined) {
    console.error(
      "amber: WARNING: AMBER_VAULT_KEY is not set, so the vault is encrypted under the public demo key. " +
        "Anyone with the disks can read it. Set AMBER_VAULT_KEY before storing real data.",
    );
  }
  checkListen(config.host, config.port);
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
  // Held for the life of the process: a second vault (or an offline repair) on this data dir is
  // refused before it writes anything.
  vaultLock = tryLockVault(config.dataDir);
  if (!vaultLock) {
    fail(
      `Cannot use data dir "${config.dataDir}": it is in use by another amber process (a running vault, or an offline scrub --repair or rebuild-index)`,
    );
  }
  const configured = config.accessKey && config.secretKey
    ? { accessKey: config.accessKey, secretKey: config.secretKey }
    : undefined;
  let root;
  try {
    root = ensureRootCredential(config.dataDir, secretSealer(vault.keys), configured);
  } catch (e) {
    fail(`Cannot set up the root credential in "${config.dataDir}": ${(e as Error).message}`);
  }
  const { credential, generated } = root;
  if (generated) {
    // At once, whatever happens next: it is never shown again. The listen address was checked
    // before anything was created, so the likeliest failed start spends nothing.
    console.log(
      `amber: generated the root credential (shown only now; it is stored sealed in the data dir):\n` +
        `  AWS_ACCESS_KEY_ID=${credential.accessKey}\n  AWS_SECRET_ACCESS_KEY=${credential.secretKey}`,
    );
  }

  const perms = workerPermissions(config);
  const store = start("store", STORE_WORKER_URL, perms.store);
  const meta = start("meta", META_WORKER_URL, perms.meta);
  const scrub = start("scrub", SCRUB_WORKER_URL, perms.scrub);
  let router;
  try {
    router = start("router", ROUTER_WORKER_URL, perms.router);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotCapable)) throw e;
    fail(
      `Cannot listen on ${config.host}:${config.port}: it is outside this binary's sandbox (rebuild with compile.sh --host/--port)`,
    );
  }
  const storeReady = store.next("ready");
  const metaReady = meta.next("ready");
  const scrubReady = scrub.next("ready");
  const toMeta = new MessageChannel();
  const toStore = new MessageChannel();
  const storeToMeta = new MessageChannel();
  const scrubToStore = new MessageChannel();
  const toScrub = new MessageChannel();
  const metaToStore = new MessageChannel();

  const { keys } = vault;
  const vaultIdHex = Buffer.from(keys.vaultId).toString("hex");
  store.worker.postMessage(
    {
      type: "init",
      dataDir: config.dataDir,
      keys: {
        idKey: keys.idKey,
        sealKey: keys.sealKey,
        vaultId: keys.vaultId,
        secretsKey: keys.secretsKey,
      },
      ports: [toStore.port2, scrubToStore.port2, metaToStore.port2],
      meta: storeToMeta.port1,
      gcIntervalMs: config.gcIntervalSeconds * 1000,
      gcGraceMs: config.gcGraceSeconds * 1000,
      drives: config.drives,
      ec: config.ec,
      rebuildBytesPerSecond: config.rebuildMiBps * 1024 * 1024,
    } satisfies StoreInit,
    [toStore.port2, storeToMeta.port1, scrubToStore.port2, metaToStore.port2],
  );
  meta.worker.postMessage({
    type: "init",
    dataDir: config.dataDir,
    maxClockJumpMs: config.maxClockJumpSeconds * 1000,
    uploadExpiryMs: config.uploadExpirySeconds * 1000,
    indexKey: keys.indexKey,
    inlineKey: keys.inlineKey,
    fourEyes: {
      vault: vaultIdHex,
      quorum: config.deleteQuorum,
      approvers: config.approvers,
      ttlSeconds: config.approvalTtlSeconds,
    },
    ports: [toMeta.port2, storeToMeta.port2],
    store: metaToStore.port1,
    checkpointIntervalMs: config.indexCheckpointSeconds * 1000,
  }, [
    toMeta.port2,
    storeToMeta.port2,
    metaToStore.port1,
  ]);
  scrub.worker.postMessage(
    {
      type: "init",
      dataDir: config.dataDir,
      drives: config.drives,
      sealKey: keys.sealKey,
      inlineKey: keys.inlineKey,
      intervalSeconds: config.scrubIntervalSeconds,
      rateBytesPerSecond: config.scrubMiBps * 1024 * 1024,
      store: scrubToStore.port1,
      ports: [toScrub.port2],
    } satisfies ScrubInit,
    [scrubToStore.port1, toScrub.port2],
  );
  const starting = [["store", storeReady], ["meta", metaReady], ["scrub", scrubReady]] as const;
  for (const [name, ready] of starting) {
    const r = await ready;
    if (r.type === "failed") fail(`The ${name} worker cannot start: ${r.message}`);
  }
  console.log(
    `amber: audit seals are signed with Ed25519 key ${
      Buffer.from(auditSigner(keys.indexKey).publicKey).toString("hex")
    } (pin it: audit-verify --public-key)`,
  );
  console.log(`amber: vault id ${vaultIdHex} (approvals name it: deno task approve --vault)`);
  const init: RouterInit = {
    host: config.host,
    port: config.port,
    region: config.region,
    domain: config.domain,
    logLevel: config.logLevel,
    root: credential,
    adminToken: config.adminToken,
    signalThresholds: config.signalThresholds,
    vaultId: vaultIdHex,
    meta: toMeta.port1,
    store: toStore.port1,
    scrub: toScrub.port1,
  };
  const routerReady = router.next("ready");
  router.worker.postMessage({ type: "init", init }, [toMeta.port1, toStore.port1, toScrub.port1]);
  const ready = await routerReady;
  if (ready.type === "failed") fail(ready.message ?? "The router cannot start");
  console.log(
    `amber: serving S3 on http://${
      config.host.includes(":") ? `[${config.host}]` : config.host
    }:${ready.port} with data in "${config.dataDir}"`,
  );

  /** How long a stop waits for the router (which drains for up to 100 s), ms. */
  const ROUTER_STOP_MS = 110_000;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log("info", "Stopping: draining requests");
    const routerStopped = router.next("stopped");
    router.worker.postMessage({ type: "shutdown" });
    // The router waits up to 100 s for the requests under way; a download nobody reads would hold
    // its stop for ever, so the rest stops anyway a little later (and exit ends the download).
    if ((await within(routerStopped, ROUTER_STOP_MS)).late) {
      log("warn", "Stopping with responses still being sent: their clients are cut off");
    }
    const scrubStopped = scrub.next("stopped");
    scrub.worker.postMessage({ type: "shutdown" });
    await scrubStopped;
    // The index first: its last checkpoint goes through the store.
    const metaStopped = meta.next("stopped");
    meta.worker.postMessage({ type: "shutdown" });
    await metaStopped;
    const storeStopped = store.next("stopped");
    store.worker.postMessage({ type: "shutdown" });
    await storeStopped;
    log("info", "Stopped");
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
}

if (import.meta.main) await main();
