/**
 * Session-13 durability review, end to end: 2+2 on four drives; drive 3
 * is unplugged and drive 0 replaced by an empty disk; the vault rebuilds drive
 * 0; drive 3 is plugged back in. Every object must still read (with two
 * drives holding one shard, reads failed with all four online). That any two
 * drives may then be lost is checked at store level (src/store/striped_test.ts).
 */
import { startVault, type TestVault } from "../helpers/vault.ts";
import {
  assertEquals,
  assertObjects,
  assertOk,
  putObjects,
  randomBytes,
} from "../helpers/assert_s3.ts";

const B = "dup";
const MIB = 1024 * 1024;

function wipe(path: string): void {
  for (const e of Deno.readDirSync(path)) Deno.removeSync(`${path}/${e.name}`, { recursive: true });
}

async function metrics(v: TestVault): Promise<string> {
  return await (await fetch(`${v.endpoint}/metrics`)).text();
}

async function waitFor(v: TestVault, re: RegExp[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  let text = "";
  while (Date.now() < deadline) {
    text = await metrics(v);
    if (re.every((r) => r.test(text))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  assertOk(
    false,
    `not reached: ${re}\n${text.split("\n").filter((l) => /drive/.test(l)).join("\n")}`,
  );
}

Deno.test({
  name:
    "Drives - 2+2: a drive unplugged while another is replaced and rebuilt, then plugged back: objects read",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "amber-test-dup-e2e-" });
    const drives = [0, 1, 2, 3].map((i) => `${root}/drive${i}`);
    const env = { AMBER_DRIVES: drives.join(","), AMBER_EC: "2+2" };
    const dataDir = `${root}/data`;
    const bodies = [3 * MIB + 17, 2 * MIB, 700_000].map((n, i) => randomBytes(n, 70 + i));
    try {
      let v = await startVault({ dataDir, env });
      try {
        await putObjects(v, B, bodies);
      } finally {
        assertEquals(await v.stop(), 0);
      }

      // Drive 3 unplugged; drive 0 fails and an empty disk takes its place.
      Deno.renameSync(drives[3], `${root}/drive3.unplugged`);
      wipe(drives[0]);
      v = await startVault({ dataDir, env });
      try {
        await waitFor(v, [/amber_drives_rebuilding 0\b/, /amber_drives_online 3\b/]);
        await assertObjects(v, B, bodies, "drive 3 away, drive 0 rebuilt");
      } finally {
        assertEquals(await v.stop(), 0);
      }

      // Drive 3 is plugged back in: all four drives hold their data again.
      Deno.renameSync(`${root}/drive3.unplugged`, drives[3]);
      v = await startVault({ dataDir, env });
      try {
        await waitFor(v, [/amber_drives_rebuilding 0\b/, /amber_drives_online 4\b/]);
        await assertObjects(v, B, bodies, "all four drives back");
      } finally {
        await v.stop();
      }
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => undefined);
    }
  },
});
