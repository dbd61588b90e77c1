/**
 * Graceful stop: SIGTERM/SIGINT while a multi-MB PutObject is half sent. The
 * upload finishes with 200, requests that arrive meanwhile get 503, the vault
 * exits 0, and the object is there after a restart. (Session-11 review: Deno's
 * `shutdown()` cut the body off and the upload failed with IncompleteBody.)
 */
import { CreateBucketCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import {
  assertBytesEqual,
  assertEquals,
  assertOk,
  bodyBytes,
  randomBytes,
  signHeaders,
} from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";

async function drainCase(signal: "SIGTERM" | "SIGINT", second: boolean) {
  const vault = await startVault();
  const s3 = s3For(vault);
  await s3.send(new CreateBucketCommand({ Bucket: "drain" }));
  const size = 8 * 1024 * 1024;
  const body = randomBytes(size, 7);
  const headers = await signHeaders(vault, s3, {
    method: "PUT",
    path: "/drain/big",
    headers: { "content-length": String(size) },
    unsignedPayload: true,
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: vault.port });
  const head = `PUT /drain/big HTTP/1.1\r\n` +
    Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
  const enc = new TextEncoder();
  const writeAll = async (b: Uint8Array) => {
    let off = 0;
    while (off < b.length) off += await conn.write(b.subarray(off));
  };
  await writeAll(enc.encode(head));
  await writeAll(body.subarray(0, size / 2));
  await new Promise((r) => setTimeout(r, 300));
  Deno.kill(vault.pid, signal); // the upload is half sent
  await new Promise((r) => setTimeout(r, 500));
  if (second) Deno.kill(vault.pid, signal);
  const turnedAway = await fetch(`${vault.endpoint}/healthz`);
  await turnedAway.body?.cancel();
  assertEquals(turnedAway.status, 503, "a request arriving while the vault stops");
  let wrote = true;
  try {
    await writeAll(body.subarray(size / 2));
  } catch {
    wrote = false;
  }
  const buf = new Uint8Array(64 * 1024);
  let text = "";
  try {
    const n = await conn.read(buf);
    text = n ? new TextDecoder().decode(buf.subarray(0, n)) : "";
  } catch (e) {
    text = `read failed: ${e}`;
  }
  conn.close();
  const code = await vault.stop();
  s3.destroy();
  if (!text.startsWith("HTTP/1.1 200") || code !== 0) {
    await Deno.remove(vault.dataDir, { recursive: true });
  }
  assertOk(wrote, `the rest of the body could not be sent\n${vault.output()}`);
  assertOk(text.startsWith("HTTP/1.1 200"), `in-flight PUT answered: ${text.slice(0, 800)}`);
  assertEquals(code, 0, vault.output());

  const again = await startVault({ dataDir: vault.dataDir });
  const s3b = s3For(again);
  const got = await s3b.send(new GetObjectCommand({ Bucket: "drain", Key: "big" }));
  assertBytesEqual(await bodyBytes(got.Body), body, "object after restart");
  s3b.destroy();
  assertEquals(await again.stop(), 0);
  await Deno.remove(vault.dataDir, { recursive: true });
}

const opts = { sanitizeOps: false, sanitizeResources: false };
Deno.test({
  ...opts,
  name: "Shutdown - SIGTERM finishes an in-flight 8 MiB PUT",
  fn: () => drainCase("SIGTERM", false),
});
Deno.test({
  ...opts,
  name: "Shutdown - SIGINT finishes an in-flight 8 MiB PUT",
  fn: () => drainCase("SIGINT", false),
});
Deno.test({
  ...opts,
  name: "Shutdown - a second SIGTERM during the drain",
  fn: () => drainCase("SIGTERM", true),
});
