/**
 * The scrubber's Worker sandbox (src/permissions.ts): it reads the data dir
 * and the drives, writes only its checkpoint, and can neither change nor
 * delete a shard file.
 */
import { assertEquals } from "../helpers/assert_s3.ts";

Deno.test("Scrub sandbox - reads drives, writes only its checkpoint, deletes nothing", async () => {
  const root = await Deno.makeTempDir({ prefix: "amber-scrub-sandbox-" });
  const dataDir = `${root}/data`;
  const drive = `${root}/drive`;
  try {
    for (const d of [dataDir, drive]) {
      Deno.mkdirSync(d);
      Deno.writeTextFileSync(`${d}/file`, "shard bytes");
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--unstable-worker-options",
        `--allow-read=${root},${new URL("../..", import.meta.url).pathname}`,
        `--allow-write=${root}`,
        new URL("./scrub_sandbox_probe.ts", import.meta.url).pathname,
        dataDir,
        drive,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    assertEquals(JSON.parse(text), {
      readDataDir: true,
      readDrive: true,
      writeCheckpoint: true,
      writeDataDir: false,
      writeDrive: false,
      removeDrive: false,
      truncateDrive: false,
      readOutside: false,
      env: false,
    });
    assertEquals(Deno.readTextFileSync(`${drive}/file`), "shard bytes");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
