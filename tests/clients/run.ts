/**
 * Runs the real-client suites (aws-cli, boto3, rclone, s3cmd, restic, and the
 * web console in headless Chromium) against
 * one vault started with the production permission flags, prints one line per
 * case and ends with `N passed, N failed`. Exits non-zero when any case
 * failed. A client whose binary is missing fails all its cases.
 *
 * Usage: `deno task test:clients [--only=aws-cli,rclone] [--endpoint=URL]`.
 * With `--endpoint` no vault is started and the credentials come from
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_DEFAULT_REGION` (and
 * Amber's admin token from `AMBER_ADMIN_TOKEN`), so the suites can run
 * against any S3 server.
 *
 * @module
 */

import { consoleSuite } from "../console/console_suite.ts";
import { startVault, type TestVault } from "../helpers/vault.ts";
import { awsCliSuite } from "./aws_cli.ts";
import { boto3Suite } from "./boto3.ts";
import { clockSuite } from "./clock.ts";
import { type CaseResult, haveBinary, type Suite, tail, type Target } from "./lib.ts";
import { rcloneSuite } from "./rclone.ts";
import { resticSuite } from "./restic.ts";
import { promtoolSuite } from "./promtool.ts";
import { s3cmdSuite } from "./s3cmd.ts";

const SUITES: Array<(t: Target) => Suite> = [
  awsCliSuite,
  boto3Suite,
  rcloneSuite,
  s3cmdSuite,
  resticSuite,
  clockSuite,
  promtoolSuite,
  consoleSuite,
];

/** Admin token of the vault the suites start. */
const ADMIN_TOKEN = "clients-admin-token-0123456789";

function flag(name: string): string | undefined {
  const pre = `--${name}=`;
  return Deno.args.find((a) => a.startsWith(pre))?.slice(pre.length);
}

function indent(s: string): string {
  return s.trimEnd().split("\n").map((l) => `      ${l}`).join("\n");
}

async function runSuite(suite: Suite, results: CaseResult[]): Promise<void> {
  const record = (r: CaseResult) => {
    results.push(r);
    const secs = (r.ms / 1000).toFixed(1);
    if (r.ok) console.log(`  ok   ${r.name} (${secs}s)`);
    else console.log(`  FAIL ${r.name} (${secs}s)\n${indent(r.detail ?? "")}`);
  };
  console.log(`\n${suite.client}`);
  if (!await haveBinary(suite.bin)) {
    const why = `FAILED: client binary "${suite.bin}" not found; ` +
      `install it with "apt-get install -y ${suite.pkg}"`;
    const names = suite.cases.length ? suite.cases.map((c) => c.name) : [`${suite.client} - run`];
    for (const name of names) record({ name, ok: false, ms: 0, detail: why });
    return;
  }
  if (suite.external) {
    try {
      await suite.external(record);
    } catch (e) {
      record({ name: `${suite.client} - run`, ok: false, ms: 0, detail: String(e) });
    }
  }
  for (const c of suite.cases) {
    const start = Date.now();
    try {
      await c.fn();
      record({ name: c.name, ok: true, ms: Date.now() - start });
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      record({ name: c.name, ok: false, ms: Date.now() - start, detail });
    }
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const only = flag("only")?.split(",").map((s) => s.trim());
  const external = flag("endpoint");
  const workDir = await Deno.makeTempDir({ prefix: "amber-clients-" });
  let vault: TestVault | undefined;
  const results: CaseResult[] = [];
  try {
    let t: Target;
    if (external) {
      const url = new URL(external);
      t = {
        endpoint: url.origin,
        hostPort: url.host,
        accessKey: Deno.env.get("AWS_ACCESS_KEY_ID") ?? "",
        secretKey: Deno.env.get("AWS_SECRET_ACCESS_KEY") ?? "",
        region: Deno.env.get("AWS_DEFAULT_REGION") ?? "us-east-1",
        workDir,
        adminToken: Deno.env.get("AMBER_ADMIN_TOKEN"),
      };
    } else {
      vault = await startVault({ env: { AMBER_ADMIN_TOKEN: ADMIN_TOKEN } });
      t = {
        endpoint: vault.endpoint,
        hostPort: new URL(vault.endpoint).host,
        accessKey: vault.accessKey,
        secretKey: vault.secretKey,
        region: vault.region,
        workDir,
        adminToken: ADMIN_TOKEN,
      };
    }
    console.log(`Real-client suites against ${t.endpoint} (work dir ${workDir})`);
    for (const make of SUITES) {
      const suite = make(t);
      if (only && !only.includes(suite.client)) continue;
      await runSuite(suite, results);
    }
  } catch (e) {
    results.push({ name: "clients - start", ok: false, ms: 0, detail: String(e) });
    console.log(`  FAIL clients - start\n${indent(String(e))}`);
  } finally {
    if (vault) {
      const code = await vault.stop();
      await Deno.remove(vault.dataDir, { recursive: true }).catch(() => {});
      const failed = results.some((r) => !r.ok);
      if (failed || code !== 0) {
        console.log(
          `\nvault exited with code ${code}; its output (tail):\n${
            indent(tail(vault.output(), 40))
          }`,
        );
      }
    }
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  if (failed) {
    console.log("\nFailed cases:");
    for (const r of results) if (!r.ok) console.log(`  ${r.name}`);
  }
  console.log(`\nclient suites took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

Deno.exit(await main());
