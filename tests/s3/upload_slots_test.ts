/**
 * The vault-wide budget of pieces in flight to the store (session 13, from
 * its review): after uploads that end every way an upload can end early (client gone mid-body, body stalled until
 * RequestTimeout, body refused mid-stream, digest refused after the stream),
 * uploads still go through: no slot of the router's 12 stays taken. Stalled
 * uploaders hold no slot while they stall. Failed uploads leave nothing
 * visible.
 *
 * @module
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from "@aws-sdk/client-s3";
import {
  assertBytesEqual,
  assertEquals,
  assertOk,
  randomBytes,
  signedFetch,
  signHeaders,
  vaultSuite,
} from "../helpers/assert_s3.ts";
import type { TestVault } from "../helpers/vault.ts";
import type { S3Client } from "@aws-sdk/client-s3";

const MIB = 1024 * 1024;
const B = "upload-slots";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens a PUT declaring `declared` bytes, sends `sent` of them; returns the connection. */
async function partialPut(
  vault: TestVault,
  s3: S3Client,
  key: string,
  declared: number,
  sent: number,
): Promise<Deno.TcpConn> {
  const headers = await signHeaders(vault, s3, {
    method: "PUT",
    path: `/${B}/${key}`,
    headers: { "content-length": String(declared) },
    unsignedPayload: true,
  });
  const head = `PUT /${B}/${key} HTTP/1.1\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: vault.port });
  await conn.write(new TextEncoder().encode(head));
  const body = randomBytes(sent, declared + sent);
  for (let at = 0; at < body.length;) at += await conn.write(body.subarray(at));
  return conn;
}

/** Reads a connection until it answers or closes: the status line's code, 0 if none. */
async function statusOf(conn: Deno.TcpConn, timeoutMs: number): Promise<number> {
  const buf = new Uint8Array(4096);
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !text.includes("\r\n")) {
    const n = await Promise.race([
      conn.read(buf).catch(() => null),
      sleep(deadline - Date.now()).then(() => null),
    ]);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
}

/** A PutObject that must finish within `ms`, then reads back equal. */
async function putAndCheck(s3: S3Client, key: string, body: Uint8Array, ms = 30_000) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`PutObject ${key} hung for ${ms} ms`)), ms);
  });
  try {
    await Promise.race([
      s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: body })),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
  const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: key }));
  assertBytesEqual(await got.Body!.transformToByteArray(), body, key);
}

async function keys(s3: S3Client): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: B }));
  return (out.Contents ?? []).map((c) => c.Key!);
}

vaultSuite(
  "PutObject - uploads that end early give their piece slots back",
  async ({ t, s3, vault }) => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));

    await t.step("32 clients that go away mid-body, 8 at a time", async () => {
      for (let round = 0; round < 4; round++) {
        const conns = await Promise.all(
          Array.from(
            { length: 8 },
            (_, i) => partialPut(vault, s3, `gone-${round}-${i}`, 12 * MIB, 6 * MIB + 123),
          ),
        );
        await sleep(200);
        for (const c of conns) {
          c.close();
        }
      }
      await sleep(500);
      await Promise.all(
        [0, 1, 2].map((i) => putAndCheck(s3, `after-gone-${i}`, randomBytes(16 * MIB, 50 + i))),
      );
      assertEquals((await keys(s3)).filter((k) => k.startsWith("gone-")), []);
    });

    await t.step(
      "bodies refused mid-stream (longer than declared, bad SHA-256) give slots back",
      async () => {
        for (let i = 0; i < 16; i++) {
          const body = randomBytes(3 * MIB, 200 + i);
          // Signed with the SHA-256 of other bytes: refused once the whole body was stored.
          const res = await signedFetch(vault, s3, {
            method: "PUT",
            path: `/${B}/badsha-${i}`,
            body,
            payloadHash: "0".repeat(64),
          });
          await res.body?.cancel();
          assertEquals(res.status, 400);
        }
        await Promise.all(
          [0, 1, 2].map((i) =>
            putAndCheck(s3, `after-refused-${i}`, randomBytes(16 * MIB, 60 + i))
          ),
        );
        assertEquals((await keys(s3)).filter((k) => k.startsWith("badsha-")), []);
      },
    );

    await t.step(
      "14 stalled uploaders hold no slot: others upload meanwhile; they time out",
      async () => {
        const stalled = await Promise.all(
          Array.from(
            { length: 14 },
            (_, i) => partialPut(vault, s3, `stalled-${i}`, 8 * MIB, 3 * MIB + 7),
          ),
        );
        const t0 = Date.now();
        await Promise.all(
          [0, 1].map((i) =>
            putAndCheck(s3, `during-stall-${i}`, randomBytes(16 * MIB, 70 + i), 15_000)
          ),
        );
        console.log(`two 16 MiB uploads beside 14 stalled ones took ${Date.now() - t0} ms`);
        const statuses = await Promise.all(stalled.map((c) => statusOf(c, 40_000)));
        for (const c of stalled) {
          c.close();
        }
        console.log("stalled uploads answered", statuses.join(" "));
        assertOk(statuses.every((s) => s === 400), `statuses ${statuses}`);
        await Promise.all(
          [0, 1, 2].map((i) => putAndCheck(s3, `after-stall-${i}`, randomBytes(16 * MIB, 80 + i))),
        );
        assertEquals((await keys(s3)).filter((k) => k.startsWith("stalled-")), []);
      },
    );
  },
);
