/**
 * The sandbox proven, not assumed: a probe process started with exactly the
 * vault's flags (`vaultFlags()`) and Workers with exactly `workerPermissions()`
 * attempt real reads, writes, listens, connects, env reads, runs and FFI, and
 * every attempt outside each one's own set fails with Deno's NotCapable,
 * while the operations the vault needs succeed. See sandbox_probe.ts.
 */
import assert from "node:assert/strict";
import { VAULT_ENV, vaultFlags } from "../../src/permissions.ts";
import { freePort } from "../helpers/vault.ts";
import type { ProbeReport, ProbeTargets } from "./sandbox_probe.ts";

const PROBE = new URL("./sandbox_probe.ts", import.meta.url).pathname;
const DENIED = "NotCapable";

/** The outcome every party must see for the attempts no one is allowed. */
const NEVER: ProbeReport = {
  "read /etc/passwd": DENIED,
  "read beside the data dir": DENIED,
  "read a prefix twin of the data dir": DENIED,
  "write outside the data dir": DENIED,
  "mkdir outside the data dir": DENIED,
  "listen on another port": DENIED,
  "connect to another port": DENIED,
  "connect to another host": DENIED,
  "fetch from another host": DENIED,
  "read a non-AMBER env var": DENIED,
  "read the whole environment": DENIED,
  "run a program": DENIED,
  "load a native library": DENIED,
  "read system information": DENIED,
  "query read /etc/passwd": "false",
  "query write outside": "false",
  "query net another port": "false",
  "query env canary": "false",
  "query run": "false",
};

/** What each party may do: the process everything the vault needs, each Worker its share. */
const EXPECTED: Record<string, ProbeReport> = {
  process: {
    ...NEVER,
    "read in the data dir": "ok",
    "write in the data dir": "ok",
    "listen on the listen port": "ok",
    "read AMBER_PORT": "ok",
  },
  router: {
    ...NEVER,
    "read in the data dir": DENIED,
    "write in the data dir": DENIED,
    "listen on the listen port": "ok",
    "read AMBER_PORT": DENIED,
  },
  store: {
    ...NEVER,
    "read in the data dir": "ok",
    "write in the data dir": "ok",
    "listen on the listen port": DENIED,
    "read AMBER_PORT": DENIED,
  },
  meta: {
    ...NEVER,
    "read in the data dir": "ok",
    "write in the data dir": "ok",
    "listen on the listen port": DENIED,
    "read AMBER_PORT": DENIED,
  },
};

Deno.test("sandbox - the vault's flags and each Worker's permissions refuse everything outside their share", async () => {
  const parent = await Deno.makeTempDir({ prefix: "amber-sandbox-" });
  const dataDir = `${parent}/data`;
  const t: ProbeTargets = {
    sandbox: { dataDir, host: "127.0.0.1", port: freePort() },
    insideFile: `${dataDir}/inside`,
    besideFile: `${parent}/beside`,
    prefixTwinFile: `${dataDir}-twin/secret`,
    outsideDir: `${parent}/outside`,
    otherPort: freePort(),
    canaryEnv: "PROBE_CANARY_SECRET",
  };
  assert.notEqual(t.otherPort, t.sandbox.port);
  for (const dir of [dataDir, `${dataDir}-twin`, t.outsideDir]) await Deno.mkdir(dir);
  for (const file of [t.insideFile, t.besideFile, t.prefixTwinFile]) {
    await Deno.writeTextFile(file, "secret");
  }

  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...vaultFlags(t.sandbox), PROBE, JSON.stringify(t)],
    env: {
      ...VAULT_ENV,
      AMBER_DATA_DIR: dataDir,
      AMBER_PORT: String(t.sandbox.port),
      [t.canaryEnv]: "must not be readable",
    },
  }).output();
  const text = new TextDecoder();
  assert.equal(out.code, 0, text.decode(out.stderr));
  const reports = JSON.parse(text.decode(out.stdout)) as Record<string, ProbeReport>;

  for (const [who, expected] of Object.entries(EXPECTED)) {
    assert.deepEqual(reports[who], expected, `${who}: outcomes differ from its permission set`);
  }
  // Nothing escaped, and only the parties holding the data dir wrote into it.
  assert.deepEqual([...Deno.readDirSync(t.outsideDir)], []);
  assert.deepEqual(
    [...Deno.readDirSync(dataDir)].map((e) => e.name).sort(),
    ["inside", "probe-meta", "probe-process", "probe-store"],
  );
  await Deno.remove(parent, { recursive: true });
});
