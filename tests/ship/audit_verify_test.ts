/**
 * `amber audit-verify` (the binary's subcommand, run here as main.ts with the
 * vault's own flags) and `deno task audit-verify` run the same code: the same
 * answer for an intact chain and for a tampered one.
 */
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { vaultFlags } from "../../src/permissions.ts";
import { s3For } from "../helpers/s3_client.ts";
import { freePort, startVault } from "../helpers/vault.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const MAIN = `${REPO}main.ts`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[]): Promise<Run> {
  const r = await new Deno.Command(Deno.execPath(), { args, cwd: REPO }).output();
  const text = new TextDecoder();
  return { code: r.code, stdout: text.decode(r.stdout), stderr: text.decode(r.stderr) };
}

/** `amber audit-verify <dir>` inside the sandbox the binary is built with for `sandboxDir`. */
function viaBinary(sandboxDir: string, dir: string): Promise<Run> {
  const flags = vaultFlags({ dataDir: sandboxDir, host: "127.0.0.1", port: freePort() });
  return run(["run", ...flags, MAIN, "audit-verify", dir]);
}

function viaTask(dir: string): Promise<Run> {
  return run(["task", "--quiet", "audit-verify", dir]);
}

/** The timing differs from run to run; the verdict must not. */
function verdict(r: Run): string {
  return r.stdout.replace(/\(\d+ ms\)/, "(… ms)");
}

/** A stopped vault whose audit log holds two records; returns its data dir. */
async function auditedDataDir(): Promise<string> {
  const vault = await startVault();
  const s3 = s3For(vault);
  for (const bucket of ["audited", "audited-too"]) {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  s3.destroy();
  assert.equal(await vault.stop(), 0);
  return vault.dataDir;
}

Deno.test({
  name: "audit-verify - the binary's subcommand and deno task audit-verify give one verdict",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await auditedDataDir();

    const [binary, task] = [await viaBinary(dir, dir), await viaTask(dir)];
    assert.equal(binary.code, 0, binary.stderr);
    assert.equal(task.code, 0, task.stderr);
    assert.match(
      binary.stdout,
      /^audit-verify: 2 records, chain intact, 1 seals valid \(sealed through record 2; 0 newer records unsealed\) \(\d+ ms\)\n$/,
    );
    assert.equal(verdict(binary), verdict(task));

    const db = new DatabaseSync(`${dir}/meta/index.db`);
    db.prepare("UPDATE audit SET target = '/forged' WHERE seq = 2").run();
    db.close();
    const [brokenBinary, brokenTask] = [await viaBinary(dir, dir), await viaTask(dir)];
    assert.equal(brokenBinary.code, 1);
    assert.equal(brokenTask.code, 1);
    assert.match(brokenBinary.stdout, /record 2 is broken: its content does not match its hash/);
    assert.equal(brokenBinary.stdout, brokenTask.stdout);

    // A data dir the binary was not built for is refused in one line, naming the compile.sh flag.
    const other = await Deno.makeTempDir({ prefix: "amber-other-" });
    const outside = await viaBinary(other, dir);
    assert.equal(outside.code, 2);
    assert.equal(
      outside.stderr,
      `audit-verify: Cannot open the index in "${dir}": it is outside this binary's sandbox (rebuild with compile.sh --data-dir)\n`,
    );
    const usage = await viaBinary(dir, "");
    assert.equal(usage.code, 2);
  },
});
