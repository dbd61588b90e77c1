/**
 * The scrubber end to end: a real vault on four drives at 2+2 and one on a
 * single drive have bytes flipped inside chunk shards on disk; the scrub,
 * through `/admin/scrub`, `deno task scrub` on the stopped vault and
 * `amber scrub`, names the bad shards, repairs what parity allows (a second
 * scrub finds nothing, GetObject returns identical bytes), and on one drive
 * names the damaged object and exits non-zero.
 */
import { DatabaseSync } from "node:sqlite";
import type { ScrubPass } from "../../src/channel/mod.ts";
import { scrubDataDir } from "../../src/scrub/mod.ts";
import { s3For } from "../helpers/s3_client.ts";
import { adminScrub, scrubViaAdmin } from "../helpers/scrub_admin.ts";
import { runVaultUntilExit, startVault } from "../helpers/vault.ts";
import {
  assertEquals,
  assertObjects,
  assertOk,
  putObjects,
  randomBytes,
  signedFetch,
} from "../helpers/assert_s3.ts";

const B = "scrubbed";
const MIB = 1024 * 1024;
const SIZES = [1, 100_000, 3 * MIB + 17];
const SCRUB_TOOL = new URL("../../tools/scrub.ts", import.meta.url).pathname;
const VAULT_KEY = "test-vault-key";

/** One indexed shard record on a drive. */
interface Row {
  id: Uint8Array;
  segment: number;
  offset: number;
  length: number;
  shard: number | null;
}

function rowsOf(drive: string): Row[] {
  const db = new DatabaseSync(`${drive}/chunks.db`, { readOnly: true });
  try {
    return db.prepare(
      "SELECT id, segment, offset, length, shard FROM chunks ORDER BY segment, offset",
    )
      .all() as unknown as Row[];
  } finally {
    db.close();
  }
}

/** Flips one byte inside a shard record's payload on disk. */
function flip(drive: string, row: Row): void {
  const path = `${drive}/${String(row.segment).padStart(8, "0")}.seg`;
  const f = Deno.openSync(path, { read: true, write: true });
  try {
    const at = row.offset + Math.floor(row.length / 2);
    const b = new Uint8Array(1);
    f.seekSync(at, Deno.SeekMode.Start);
    f.readSync(b);
    b[0] ^= 0x5a;
    f.seekSync(at, Deno.SeekMode.Start);
    f.writeSync(b);
  } finally {
    f.close();
  }
}

const hex = (id: Uint8Array) => Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("");

/** Runs `deno task scrub` (tools/scrub.ts, with the task's flags); returns exit code and the JSON report. */
async function scrubTool(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; report: ScrubPass; stdout: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      SCRUB_TOOL,
      ...args,
    ],
    env: { AMBER_VAULT_KEY: VAULT_KEY, ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  const line = stdout.split("\n").find((l) => l.includes('"event":"report"'));
  assertOk(line, `a JSON report in:\n${stdout}\n${stderr}`);
  return { code: out.code, report: JSON.parse(line!), stdout };
}

Deno.test({
  name: "Scrub - 4 drives at 2+2: flipped shards are named and repaired, objects stay intact",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "amber-scrub-" });
    const drives = [0, 1, 2, 3].map((i) => `${root}/drive${i}`);
    const env = { AMBER_DRIVES: drives.join(","), AMBER_EC: "2+2" };
    const dataDir = `${root}/data`;
    const bodies = SIZES.map((n, i) => randomBytes(n, 70 + i));
    const offlineArgs = ["--data-dir", dataDir, "--drives", drives.join(","), "--ec", "2+2"];
    try {
      let v = await startVault({ dataDir, env });
      await putObjects(v, B, bodies);
      assertEquals(await v.stop(), 0);

      // A data shard on drive 0 and a parity shard on drive 3 of different chunks, plus one more.
      const flipped: { drive: number; row: Row }[] = [];
      // Not the last record of a drive (an indexed last record is kept too, not cut as a torn tail).
      const d0 = rowsOf(drives[0]).slice(0, -1);
      const d3 = rowsOf(drives[3]).slice(0, -1);
      flipped.push({ drive: 0, row: d0.find((r) => r.shard === 0)! });
      flipped.push({ drive: 3, row: d3.find((r) => r.shard! >= 2)! });
      flipped.push({ drive: 3, row: d3.filter((r) => r.shard! < 2).at(-1)! });
      for (const f of flipped) flip(drives[f.drive], f.row);

      await t.step("POST /admin/scrub - names the flipped shards and repairs them", async () => {
        v = await startVault({ dataDir, env });
        const pass = await scrubViaAdmin(v);
        assertEquals(pass.unrecoverable, 0, JSON.stringify(pass.findings));
        for (const f of flipped) {
          const found = pass.findings.find((x) =>
            x.kind === "badShard" && x.chunk === hex(f.row.id) && x.drive === f.drive
          );
          assertOk(found, `finding for drive ${f.drive}: ${JSON.stringify(pass.findings)}`);
          assertEquals(found!.shard, f.row.shard);
          assertOk(found!.repaired, "marked repaired");
        }
        assertEquals(pass.found, flipped.length);
        assertEquals(pass.repaired, flipped.length);
        assertEquals(pass.refMismatches, 0);
        assertEquals(pass.objectsTotal, bodies.length);
        const metrics = await (await fetch(`${v.endpoint}/metrics`)).text();
        assertOk(/amber_scrub_repaired_shards 3\b/.test(metrics), metrics);
        assertOk(/amber_scrub_last_full_pass_timestamp_seconds [1-9]/.test(metrics), metrics);
      });

      await t.step(
        "POST /admin/scrub - a second pass finds nothing; GetObject is intact",
        async () => {
          const pass = await scrubViaAdmin(v);
          assertEquals(pass.found, 0, JSON.stringify(pass.findings));
          assertOk(pass.shardsChecked >= 4 * pass.chunksChecked, "every shard of every chunk read");
          await assertObjects(v, B, bodies);
        },
      );

      await t.step("POST /admin/scrub - pause, resume and cancel", async () => {
        const s = await adminScrub(v, "pause");
        assertEquals(s.state, "idle", "pausing an idle scrubber changes nothing");
        const bad = await signedFetch(v, s3For(v), {
          method: "POST",
          path: "/admin/scrub",
          body: JSON.stringify({ action: "explode" }),
        });
        assertEquals(bad.status, 400);
        await bad.body?.cancel();
        const unsigned = await fetch(`${v.endpoint}/admin/scrub`);
        assertEquals(unsigned.status, 403);
        await unsigned.body?.cancel();
      });

      await t.step("deno task scrub - asks the running vault", async () => {
        const r = await scrubTool([...offlineArgs, "--port", String(v.port)], {
          AMBER_ACCESS_KEY: v.accessKey,
          AMBER_SECRET_KEY: v.secretKey,
        });
        assertEquals(r.code, 0, r.stdout);
        assertEquals(r.report.found, 0);
        assertOk(r.report.chunksChecked > 0);
        const refused = await scrubDataDir(dataDir, { drives, vaultKey: VAULT_KEY, repair: true })
          .then(() => "", (e) => (e as Error).message);
        assertOk(/the vault is running/.test(refused), `offline repair refused: ${refused}`);
      });
      assertEquals(await v.stop(), 0);

      for (const f of flipped) {
        flip(
          drives[f.drive],
          rowsOf(drives[f.drive]).find((r) => hex(r.id) === hex(f.row.id))!,
        );
      }

      await t.step(
        "deno task scrub - a stopped vault: read-only names, --repair repairs",
        async () => {
          const seen = await scrubTool(offlineArgs, {});
          assertEquals(seen.code, 0, "parity can repair it all");
          assertEquals(seen.report.found, flipped.length);
          assertEquals(seen.report.repaired, 0, "read-only without --repair");
          const fixed = await scrubTool([...offlineArgs, "--repair"], {});
          assertEquals(fixed.report.repaired, flipped.length, fixed.stdout);
          const clean = await scrubDataDir(dataDir, { drives, vaultKey: VAULT_KEY });
          assertEquals(clean.found, 0, JSON.stringify(clean.findings));
        },
      );

      await t.step("GetObject - identical after the offline repair", async () => {
        v = await startVault({ dataDir, env });
        await assertObjects(v, B, bodies);
        assertEquals(await v.stop(), 0);
      });

      await t.step(
        "POST /admin/scrub - pause survives a restart, resume finishes the pass",
        async () => {
          // 1 MiB/s: a pass over these ~6 MiB of shards takes seconds, long enough to pause.
          const slow = { ...env, AMBER_SCRUB_RATE: "1" };
          v = await startVault({ dataDir, env: slow });
          const started = await adminScrub(v, "start");
          assertEquals(started.state, "running");
          await new Promise((r) => setTimeout(r, 1500));
          const paused = await adminScrub(v, "pause");
          assertEquals(paused.state, "paused");
          const at = paused.pass!.bytesScanned;
          assertOk(at > 0 && at < paused.pass!.bytesTotal, `paused part-way: ${at}`);
          assertEquals(await v.stop(), 0);

          v = await startVault({ dataDir, env: slow });
          const after = await adminScrub(v);
          assertEquals(after.state, "paused", "still paused after the restart");
          assertOk(after.pass!.bytesScanned >= at, "the checkpoint kept the progress");
          assertEquals(after.pass!.startedAt, paused.pass!.startedAt);
          assertEquals((await adminScrub(v, "resume")).state, "running");
          const deadline = Date.now() + 60_000;
          let s = await adminScrub(v);
          while (s.state !== "idle" && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 200));
            s = await adminScrub(v);
          }
          assertEquals(s.state, "idle");
          assertEquals(s.lastPass!.startedAt, paused.pass!.startedAt, "the same pass finished");
          assertEquals(s.lastPass!.found, 0);
          assertOk(s.lastPass!.bytesScanned >= s.lastPass!.bytesTotal, "every byte read");

          assertEquals((await adminScrub(v, "start")).state, "running");
          const cancelled = await adminScrub(v, "cancel");
          assertEquals(cancelled.pass, undefined);
          assertEquals(
            cancelled.lastPass!.startedAt,
            paused.pass!.startedAt,
            "cancel keeps the last pass",
          );
          assertEquals(await v.stop(), 0);
        },
      );
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => undefined);
    }
  },
});

Deno.test({
  name: "Scrub - 1 drive: a flipped shard names its object and the scrub exits non-zero",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dataDir = await Deno.makeTempDir({ prefix: "amber-scrub1-" });
    const drive = `${dataDir}/store`;
    const bodies = SIZES.map((n, i) => randomBytes(n, 90 + i));
    try {
      let v = await startVault({ dataDir });
      await putObjects(v, B, bodies);
      assertEquals(await v.stop(), 0);
      // The single chunk of obj-1 (100 000 bytes).
      const s3Rows = rowsOf(drive);
      const victim = s3Rows.find((r) => r.length > 50_000 && r.length < 120_000)!;
      assertOk(victim, "the chunk of obj-1");
      flip(drive, victim);

      await t.step("amber scrub - names obj-1 and exits 1", async () => {
        const r = await runVaultUntilExit({
          dataDir,
          env: { AMBER_VAULT_KEY: VAULT_KEY },
          args: ["scrub", "--json"],
          timeoutMs: 60_000,
        });
        assertEquals(r.code, 1, r.stdout + r.stderr);
        const report = JSON.parse(r.stdout.split("\n").find((l) => l.includes('"report"'))!);
        assertEquals(report.unrecoverable, 1);
        const lost = report.findings.find((f: { kind: string }) => f.kind === "unrecoverable");
        assertEquals(lost.chunk, hex(victim.id));
        assertEquals(lost.objects, [{ bucket: B, key: "obj-1", versionId: "null" }]);
      });

      await t.step("POST /admin/scrub - the running vault reports it too", async () => {
        v = await startVault({ dataDir });
        const pass = await scrubViaAdmin(v);
        assertEquals(pass.unrecoverable, 1);
        const lost = pass.findings.find((f) => f.kind === "unrecoverable")!;
        assertEquals(lost.objects, [{ bucket: B, key: "obj-1", versionId: "null" }]);
        const metrics = await (await fetch(`${v.endpoint}/metrics`)).text();
        assertOk(/amber_scrub_unrecoverable_chunks 1\b/.test(metrics), metrics);
        assertEquals(await v.stop(), 0);
      });

      await t.step("deno task scrub - text report names the object, exit 1", async () => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--allow-read", "--allow-write", "--allow-net", "--allow-env", SCRUB_TOOL],
          env: { AMBER_VAULT_KEY: VAULT_KEY, AMBER_DATA_DIR: dataDir },
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = new TextDecoder().decode(out.stdout);
        assertEquals(out.code, 1, text);
        assertOk(text.includes(`"key":"obj-1"`), text);
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true }).catch(() => undefined);
    }
  },
});

Deno.test({
  name: "Scrub - the format v1 fixture scrubs clean, before and after this build opens it",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const fixture = new URL("../fixtures/format_v1_store/", import.meta.url).pathname;
    const dataDir = await Deno.makeTempDir({ prefix: "amber-scrub-v1-" });
    await new Deno.Command("cp", { args: ["-r", `${fixture}.`, dataDir] }).output();
    try {
      const before = await scrubDataDir(dataDir, { vaultKey: VAULT_KEY });
      assertEquals(before.found, 0, JSON.stringify(before.findings));
      assertEquals(before.objectsTotal, 3);
      assertOk(before.chunksChecked > 0, "v1 chunks read");
      const v = await startVault({ dataDir });
      assertEquals(await v.stop(), 0);
      const after = await scrubDataDir(dataDir, { vaultKey: VAULT_KEY });
      assertEquals(after.found, 0, JSON.stringify(after.findings));
      // Its v1 chunks are all still there; the index journal of that start adds v2 records.
      assertOk(after.chunksChecked >= before.chunksChecked);
      assertEquals(after.objectsTotal, 3);
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
