/**
 * Drives and erasure coding end to end: a real vault on four drives at 2+2
 * loses two drives' contents, or has bytes flipped in its shards, and still
 * serves every object byte-identical; a drive of another vault is refused.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { runVaultUntilExit, startVault, type TestVault } from "../helpers/vault.ts";
import {
  assertBytesEqual,
  assertEquals,
  assertOk,
  bodyBytes,
  randomBytes,
} from "../helpers/assert_s3.ts";

const B = "drives";
const MIB = 1024 * 1024;

/** Object sizes: empty, tiny, one chunk, many chunks. */
const SIZES = [0, 1, 100_000, 3 * MIB + 17];

function wipe(path: string): void {
  for (const e of Deno.readDirSync(path)) Deno.removeSync(`${path}/${e.name}`, { recursive: true });
}

/** Flips one byte in every 4 KiB of a drive's segment files (past their headers). */
function flipShards(path: string): number {
  let flipped = 0;
  for (const e of Deno.readDirSync(path)) {
    if (!e.name.endsWith(".seg")) continue;
    const bytes = Deno.readFileSync(`${path}/${e.name}`);
    for (let off = 1000; off < bytes.length; off += 4096, flipped++) bytes[off] ^= 0xa5;
    Deno.writeFileSync(`${path}/${e.name}`, bytes);
  }
  return flipped;
}

async function getAll(v: TestVault, bodies: Uint8Array[]): Promise<void> {
  const s3 = s3For(v);
  try {
    await getEach(s3, bodies);
  } catch (e) {
    throw new Error(`${(e as Error).message}\nvault output (tail):\n${v.output().slice(-4000)}`, {
      cause: e,
    });
  } finally {
    s3.destroy();
  }
}

/** The state in a drive's marker, or undefined while it has none. */
function markerState(path: string): string | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(`${path}/amber-drive.json`)).state;
  } catch {
    return undefined;
  }
}

/** Waits until every drive is online and none is rebuilding, as `/metrics` tells. */
async function waitRebuilt(v: TestVault): Promise<void> {
  const deadline = Date.now() + 30_000;
  let text = "";
  while (Date.now() < deadline) {
    text = await (await fetch(`${v.endpoint}/metrics`)).text();
    if (/amber_drives_rebuilding 0\b/.test(text) && /amber_drives_online 4\b/.test(text)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assertOk(
    false,
    `drives not rebuilt within 30 s:\n${
      text.split("\n").filter((l) => /drive/.test(l)).join("\n")
    }`,
  );
}

async function getEach(s3: S3Client, bodies: Uint8Array[]): Promise<void> {
  {
    for (const [i, body] of bodies.entries()) {
      const r = await s3.send(new GetObjectCommand({ Bucket: B, Key: `obj-${i}` }));
      assertBytesEqual(await bodyBytes(r.Body), body, `obj-${i}`);
    }
  }
}

Deno.test({
  name: "Drives - 4 drives at 2+2 survive two wiped drives and flipped shard bytes",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const root = await Deno.makeTempDir({ prefix: "amber-drives-" });
    const drives = [0, 1, 2, 3].map((i) => `${root}/drive${i}`);
    const env = { AMBER_DRIVES: drives.join(","), AMBER_EC: "2+2" };
    const dataDir = `${root}/data`;
    const bodies = SIZES.map((n, i) => randomBytes(n, 40 + i));
    try {
      await t.step("PutObject - objects are striped over four drives", async () => {
        const v = await startVault({ dataDir, env });
        const s3 = s3For(v);
        try {
          await s3.send(new CreateBucketCommand({ Bucket: B }));
          for (const [i, body] of bodies.entries()) {
            await s3.send(new PutObjectCommand({ Bucket: B, Key: `obj-${i}`, Body: body }));
          }
          await getAll(v, bodies);
        } finally {
          s3.destroy();
          assertEquals(await v.stop(), 0, v.output().slice(-3000));
        }
        for (const d of drives) {
          assertOk(Deno.statSync(`${d}/amber-drive.json`).isFile, `marker on ${d}`);
          assertOk([...Deno.readDirSync(d)].some((e) => e.name.endsWith(".seg")), `shards on ${d}`);
        }
      });

      /** Wipes two drives, starts the vault, reads everything, and waits for the rebuild. */
      const wipeTwoAndRead = async (a: number, b: number) => {
        wipe(drives[a]);
        wipe(drives[b]);
        const v = await startVault({ dataDir, env });
        try {
          await getAll(v, bodies);
          // The replaced drives are rebuilt in the background; the metrics show it.
          await waitRebuilt(v);
        } finally {
          assertEquals(await v.stop(), 0, v.output().slice(-3000));
        }
      };

      await t.step(
        "GetObject - two drives wiped (rm -rf) still serve every object",
        () => wipeTwoAndRead(1, 2),
      );

      await t.step(
        "GetObject - the rebuilt drives carry the data once the others are wiped",
        () => wipeTwoAndRead(0, 3),
      );

      await t.step(
        "GetObject - a drive wiped while the vault runs is noticed, rebuilt, and reads go on",
        async () => {
          const v = await startVault({ dataDir, env });
          try {
            wipe(drives[2]);
            await getAll(v, bodies);
            // The watcher notices the lost marker within seconds, marks the drive again and rebuilds it.
            const deadline = Date.now() + 30_000;
            while (markerState(drives[2]) !== "ready" && Date.now() < deadline) {
              await new Promise((r) => setTimeout(r, 200));
            }
            assertEquals(markerState(drives[2]), "ready", "the wiped drive was marked and rebuilt");
            await waitRebuilt(v);
            await getAll(v, bodies);
          } finally {
            assertEquals(await v.stop(), 0, v.output().slice(-3000));
          }
          // Its shards are really back: it and one other drive carry every object.
          wipe(drives[0]);
          wipe(drives[1]);
          const again = await startVault({ dataDir, env });
          try {
            await getAll(again, bodies);
          } finally {
            assertEquals(await again.stop(), 0, again.output().slice(-3000));
          }
        },
      );

      await t.step("GetObject - flipped bytes in two drives' shards are read around", async () => {
        assertOk(flipShards(drives[0]) > 0);
        assertOk(flipShards(drives[3]) > 0);
        const v = await startVault({ dataDir, env });
        try {
          await getAll(v, bodies);
        } finally {
          assertEquals(await v.stop(), 0, v.output().slice(-3000));
        }
      });

      await t.step("Start-up - a drive of another vault is refused with a clear line", async () => {
        const otherData = `${root}/other`;
        const otherDrives = [0, 1].map((i) => `${root}/other${i}`);
        const other = await startVault({
          dataDir: otherData,
          env: { AMBER_DRIVES: otherDrives.join(",") },
        });
        assertEquals(await other.stop(), 0, other.output().slice(-3000));
        const mixed = [drives[0], otherDrives[1], drives[2], drives[3]];
        const r = await runVaultUntilExit({
          dataDir,
          env: {
            AMBER_DRIVES: mixed.join(","),
            AMBER_EC: "2+2",
            AMBER_VAULT_KEY: "test-vault-key",
          },
        });
        assertEquals(r.code, 1, r.stderr);
        assertOk(
          new RegExp(`Cannot use drive "${otherDrives[1]}" in slot 1: it belongs to another vault`)
            .test(r.stderr),
          r.stderr,
        );
      });

      await t.step("Start-up - k+m that does not match the drives is refused", async () => {
        const r = await runVaultUntilExit({
          dataDir,
          env: { AMBER_DRIVES: drives.join(","), AMBER_EC: "3+2" },
        });
        assertEquals(r.code, 1);
        assertOk(/k\+m must equal the 4 drives/.test(r.stderr), r.stderr);
      });
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
