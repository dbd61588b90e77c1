/**
 * Start-up failures: each is one line, found before anything is created or
 * written (the data dir, a keyring, the once-only root credential, a second
 * vault's checkpoint on a running vault's drives). From the session-11 review;
 * each failed before its fix.
 */
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { assertEquals, assertOk } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { freePort, runVaultUntilExit, startVault } from "../helpers/vault.ts";
import { VAULT_ENV, vaultFlags } from "../../src/permissions.ts";

/** Runs main.ts as `deno task start` would: the sandbox cut to this host and port. */
async function runWith(
  o: { dataDir: string; host: string; port: number; env: Record<string, string> },
) {
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...vaultFlags({ dataDir: o.dataDir, host: o.host, port: o.port }), main],
    env: {
      ...VAULT_ENV,
      AMBER_DATA_DIR: o.dataDir,
      AMBER_HOST: o.host,
      AMBER_PORT: String(o.port),
      ...o.env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const t = new TextDecoder();
  return { code: out.code, stdout: t.decode(out.stdout), stderr: t.decode(out.stderr) };
}

const noRoot = { AMBER_ACCESS_KEY: "", AMBER_SECRET_KEY: "", AMBER_VAULT_KEY: "test-vault-key" };

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

Deno.test({
  name: "Start-up - a damaged credentials file is one line, no stack trace",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: noRoot });
    assertEquals(await vault.stop(), 0);
    Deno.writeTextFileSync(`${vault.dataDir}/credentials.json`, '{"root": ');
    const r = await runVaultUntilExit({ dataDir: vault.dataDir, env: noRoot });
    await Deno.remove(vault.dataDir, { recursive: true });
    assertEquals(r.code, 1);
    assertOk(!r.stderr.includes("    at "), `stack trace:\n${r.stderr}`);
    assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
  },
});

Deno.test("Start-up - a port in use on first start creates nothing and shows no credential", async () => {
  const parent = await Deno.makeTempDir({ prefix: "amber-test-" });
  const dataDir = `${parent}/data`;
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (busy.addr as Deno.NetAddr).port;
  const r = await runWith({ dataDir, host: "127.0.0.1", port, env: noRoot });
  busy.close();
  const created = exists(dataDir);
  await Deno.remove(parent, { recursive: true });
  assertEquals(r.code, 1);
  assertOk(/Cannot listen/.test(r.stderr), r.stderr);
  assertOk(
    !r.stdout.includes("AWS_SECRET_ACCESS_KEY"),
    `the once-only credential was spent on a failed start:\n${r.stdout}`,
  );
  assertOk(!created, "the data dir was created by a start that failed on its port");
});

Deno.test("Start-up - an unresolvable host is refused before the data dir is created", async () => {
  const parent = await Deno.makeTempDir({ prefix: "amber-test-" });
  const dataDir = `${parent}/data`;
  const r = await runWith({ dataDir, host: "no-such-host.invalid", port: freePort(), env: noRoot });
  const created = exists(dataDir);
  await Deno.remove(parent, { recursive: true });
  assertEquals(r.code, 1);
  assertOk(!created, `the data dir was created:\n${r.stdout}${r.stderr}`);
});

Deno.test({
  name: "Start-up - a populated data dir without its keyring is refused, and no new keyring made",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault();
    assertEquals(await vault.stop(), 0);
    Deno.removeSync(`${vault.dataDir}/keyring.json`); // lost, or not restored from backup
    const r = await runVaultUntilExit({
      dataDir: vault.dataDir,
      env: {
        AMBER_ACCESS_KEY: vault.accessKey,
        AMBER_SECRET_KEY: vault.secretKey,
        AMBER_VAULT_KEY: "test-vault-key",
      },
    });
    const made = exists(`${vault.dataDir}/keyring.json`);
    await Deno.remove(vault.dataDir, { recursive: true });
    assertEquals(r.code, 1);
    assertOk(!made, `a new keyring was written into a populated data dir:\n${r.stderr}`);
  },
});

function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) walk(p);
      else {
        const st = Deno.statSync(p);
        out.set(p, `${st.size} ${st.mtime?.getTime()}`);
      }
    }
  };
  walk(dir);
  return out;
}

Deno.test({
  name: "Start-up - a second vault on a data dir in use refuses before touching it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const a = await startVault({ env: { AMBER_LOG_LEVEL: "info" } });
    const s3 = s3For(a);
    await s3.send(new CreateBucketCommand({ Bucket: "busy" }));
    for (let i = 0; i < 20; i++) {
      await s3.send(
        new PutObjectCommand({
          Bucket: "busy",
          Key: `k${i}`,
          Body: new Uint8Array(200_000).fill(i),
        }),
      );
    }
    s3.destroy();
    await new Promise((r) => setTimeout(r, 1500)); // let A settle
    const before = snapshot(a.dataDir);
    const b = await runVaultUntilExit({
      dataDir: a.dataDir,
      env: {
        AMBER_ACCESS_KEY: a.accessKey,
        AMBER_SECRET_KEY: a.secretKey,
        AMBER_VAULT_KEY: "test-vault-key",
        AMBER_LOG_LEVEL: "info",
      },
    });
    const after = snapshot(a.dataDir);
    const changed = [...after].filter(([p, s]) => before.get(p) !== s).map(([p]) => p);
    assertEquals(await a.stop(), 0);
    await Deno.remove(a.dataDir, { recursive: true });
    assertEquals(b.code, 1);
    assertOk(/in use/.test(b.stderr), b.stderr);
    assertOk(
      !/Index checkpointed/.test(b.stdout + b.stderr),
      `the second vault wrote a checkpoint:\n${b.stdout}${b.stderr}`,
    );
    assertEquals(changed, [], `files the second vault changed:\n${b.stdout}${b.stderr}`);
  },
});
