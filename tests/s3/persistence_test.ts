/**
 * Durability across restarts: clean SIGTERM shutdown and restart, a flipped
 * byte in a segment file, and SIGKILL in the middle of a streaming upload.
 */
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { startVault, type TestVault } from "../helpers/vault.ts";
import {
  assertBytesEqual,
  assertEquals,
  assertOk,
  assertS3Error,
  bodyBytes,
  randomBytes,
  signedFetch,
  signHeaders,
} from "../helpers/assert_s3.ts";

const B = "persist";
const MIB = 1024 * 1024;

async function segments(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dataDir}/store`)) {
    if (e.isFile && e.name.endsWith(".seg")) out.push(`${dataDir}/store/${e.name}`);
  }
  return out.sort();
}

async function listKeys(s3: S3Client): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: B, ContinuationToken: token }));
    for (const c of r.Contents ?? []) keys.push(c.Key!);
    token = r.NextContinuationToken;
  } while (token);
  return keys;
}

Deno.test({
  name: "S3 persistence across restarts",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const dirs: string[] = [];
    const running: TestVault[] = [];
    const clients: S3Client[] = [];
    const start = async (dataDir?: string) => {
      const v = await startVault({ dataDir });
      running.push(v);
      if (!dirs.includes(v.dataDir)) dirs.push(v.dataDir);
      const s3 = s3For(v);
      clients.push(s3);
      return { v, s3 };
    };
    try {
      await t.step(
        "PutObject - every object survives SIGTERM and restart byte-identical",
        async () => {
          const { v, s3 } = await start();
          await s3.send(new CreateBucketCommand({ Bucket: B }));
          const objects = new Map<string, Uint8Array>([
            ["empty", new Uint8Array(0)],
            ["small.txt", new TextEncoder().encode("small object")],
            ["medium.bin", randomBytes(300_000, 1)],
            ["large.bin", randomBytes(9 * MIB + 17, 2)],
            ["dup-of-large.bin", randomBytes(9 * MIB + 17, 2)],
            ["dir/ünï cødé.txt", new TextEncoder().encode("unicode key")],
          ]);
          for (const [key, body] of objects) {
            await s3.send(
              new PutObjectCommand({ Bucket: B, Key: key, Body: body, Metadata: { k: "v" } }),
            );
          }
          const p1 = randomBytes(5 * MIB, 3);
          const p2 = randomBytes(MIB, 4);
          const mp = await s3.send(
            new CreateMultipartUploadCommand({ Bucket: B, Key: "multipart.bin" }),
          );
          const e1 = await s3.send(
            new UploadPartCommand({
              Bucket: B,
              Key: "multipart.bin",
              UploadId: mp.UploadId,
              PartNumber: 1,
              Body: p1,
            }),
          );
          const e2 = await s3.send(
            new UploadPartCommand({
              Bucket: B,
              Key: "multipart.bin",
              UploadId: mp.UploadId,
              PartNumber: 2,
              Body: p2,
            }),
          );
          await s3.send(
            new CompleteMultipartUploadCommand({
              Bucket: B,
              Key: "multipart.bin",
              UploadId: mp.UploadId,
              MultipartUpload: {
                Parts: [{ PartNumber: 1, ETag: e1.ETag }, { PartNumber: 2, ETag: e2.ETag }],
              },
            }),
          );
          const mpBody = new Uint8Array(p1.length + p2.length);
          mpBody.set(p1);
          mpBody.set(p2, p1.length);
          objects.set("multipart.bin", mpBody);
          const etags = new Map<string, string>();
          for (const key of objects.keys()) {
            etags.set(key, (await s3.send(new HeadObjectCommand({ Bucket: B, Key: key }))).ETag!);
          }

          s3.destroy();
          assertEquals(await v.stop(), 0, `SIGTERM exit code:\n${v.output().slice(-2000)}`);

          for (let round = 0; round < 2; round++) {
            const again = await start(v.dataDir);
            assertEquals(await listKeys(again.s3), [...objects.keys()].sort());
            for (const [key, body] of objects) {
              const g = await again.s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
              assertEquals(g.ETag, etags.get(key), `ETag of ${key}`);
              assertEquals(g.Metadata, key === "multipart.bin" ? {} : { k: "v" });
              assertBytesEqual(await bodyBytes(g.Body), body, key);
            }
            again.s3.destroy();
            assertEquals(await again.v.stop(), 0, "SIGTERM exit code after restart");
          }
        },
      );

      await t.step(
        "GetObject - a flipped byte in a segment file is detected, never served",
        async () => {
          const { v, s3 } = await start();
          await s3.send(new CreateBucketCommand({ Bucket: B }));
          const body = randomBytes(4 * MIB, 9);
          await s3.send(new PutObjectCommand({ Bucket: B, Key: "victim.bin", Body: body }));
          s3.destroy();
          assertEquals(await v.stop(), 0);

          const segs = await segments(v.dataDir);
          assertOk(segs.length > 0, `no segment files under ${v.dataDir}/store`);
          let biggest = segs[0];
          let biggestSize = 0;
          for (const s of segs) {
            const size = (await Deno.stat(s)).size;
            if (size > biggestSize) [biggest, biggestSize] = [s, size];
          }
          assertOk(biggestSize > 2 * MIB, `largest segment is only ${biggestSize} bytes`);
          const file = await Deno.open(biggest, { read: true, write: true });
          const at = Math.floor(biggestSize / 2);
          const one = new Uint8Array(1);
          await file.seek(at, Deno.SeekMode.Start);
          await file.read(one);
          one[0] ^= 0x01;
          await file.seek(at, Deno.SeekMode.Start);
          await file.write(one);
          file.close();

          const again = await start(v.dataDir);
          // Raw GET (no checksum mode), so the SDK's own CRC check cannot hide wrong bytes.
          let served: Uint8Array | undefined;
          let status = 0;
          try {
            const res = await signedFetch(again.v, again.s3, {
              method: "GET",
              path: `/${B}/victim.bin`,
            });
            status = res.status;
            served = new Uint8Array(await res.arrayBuffer());
          } catch {
            served = undefined; // the stream broke mid-body: detected
          }
          if (served !== undefined && status === 200) {
            const intact = served.length === body.length && served.every((x, i) => x === body[i]);
            assertOk(
              false,
              intact
                ? "GET of an object with a corrupted chunk answered 200 with intact bytes"
                : "GET served corrupted bytes with status 200",
            );
          }
          // The SDK call fails too (error status, or the body read throws).
          let sdkFailed = false;
          try {
            const g = await again.s3.send(new GetObjectCommand({ Bucket: B, Key: "victim.bin" }));
            const got = await bodyBytes(g.Body);
            sdkFailed = got.length !== body.length;
          } catch {
            sdkFailed = true;
          }
          assertOk(sdkFailed, "SDK GetObject succeeded on a corrupted object");
          // Other requests still work.
          const h = await again.s3.send(new HeadObjectCommand({ Bucket: B, Key: "victim.bin" }));
          assertEquals(h.ContentLength, body.length);
          again.s3.destroy();
          assertEquals(await again.v.stop(), 0);
        },
      );

      await t.step("PutObject - SIGKILL during a slow 64 MiB upload leaves no object", async () => {
        const { v, s3 } = await start();
        await s3.send(new CreateBucketCommand({ Bucket: B }));
        await s3.send(new PutObjectCommand({ Bucket: B, Key: "before-crash", Body: "durable" }));
        const total = 64 * MIB;
        const headers = await signHeaders(v, s3, {
          method: "PUT",
          path: `/${B}/crashed.bin`,
          headers: { "content-length": String(total) },
          unsignedPayload: true,
        });
        const head = `PUT /${B}/crashed.bin HTTP/1.1\r\n` +
          Object.entries(headers).map(([k, h]) => `${k}: ${h}\r\n`).join("") + "\r\n";
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: v.port });
        await conn.write(new TextEncoder().encode(head));
        const piece = randomBytes(MIB, 10);
        let sent = 0;
        try {
          // About 24 MiB over ~1.2 s, then the process dies mid-stream.
          for (let i = 0; i < 24; i++) {
            await conn.write(piece);
            sent += piece.length;
            await new Promise((r) => setTimeout(r, 50));
          }
        } catch {
          // the server may stop reading; fine
        }
        assertOk(sent > 0, "nothing was sent");
        s3.destroy();
        await v.kill();
        try {
          conn.close();
        } catch {
          // already closed
        }

        const again = await start(v.dataDir);
        await assertS3Error(
          again.s3.send(new HeadObjectCommand({ Bucket: B, Key: "crashed.bin" })),
          "NotFound",
          404,
        );
        await assertS3Error(
          again.s3.send(new GetObjectCommand({ Bucket: B, Key: "crashed.bin" })),
          "NoSuchKey",
          404,
        );
        assertEquals(await listKeys(again.s3), ["before-crash"]);
        const g = await again.s3.send(new GetObjectCommand({ Bucket: B, Key: "before-crash" }));
        assertEquals(new TextDecoder().decode(await bodyBytes(g.Body)), "durable");
        // The vault takes writes again after the crash.
        await again.s3.send(new PutObjectCommand({ Bucket: B, Key: "after-crash", Body: "ok" }));
        assertEquals(await listKeys(again.s3), ["after-crash", "before-crash"]);
        again.s3.destroy();
        assertEquals(await again.v.stop(), 0);
      });
    } finally {
      for (const c of clients) c.destroy();
      for (const v of running) await v.kill().catch(() => undefined);
      for (const d of dirs) await Deno.remove(d, { recursive: true }).catch(() => undefined);
    }
  },
});
