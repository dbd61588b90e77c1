/**
 * The web console's route at `/`: a browser's unsigned GET gets the page,
 * and every S3 request to `/` (signed, presigned, unsigned from an SDK or a
 * virtual-hosted bucket) is still S3. The console itself is tested in headless
 * Chromium by the client suites (tests/console/).
 */
import { ListBucketsCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  assertEquals,
  assertErrorResponse,
  assertOk,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";
import type { TestVault } from "../helpers/vault.ts";

const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/** A GET / with exactly this Host header (fetch would replace it). */
async function rawGetRoot(vault: TestVault, host: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: vault.port });
  try {
    await conn.write(new TextEncoder().encode(
      `GET / HTTP/1.1\r\nHost: ${host}\r\nAccept: ${BROWSER_ACCEPT}\r\nConnection: close\r\n\r\n`,
    ));
    let out = "";
    for await (const chunk of conn.readable.pipeThrough(new TextDecoderStream())) out += chunk;
    return out;
  } catch (e) {
    conn.close();
    throw e;
  }
}

vaultSuite("Web console route", async ({ t, s3, vault }) => {
  await t.step("GET / - a browser without credentials gets the console page", async () => {
    const res = await fetch(`${vault.endpoint}/`, { headers: { accept: BROWSER_ACCEPT } });
    const html = await res.text();
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "text/html; charset=utf-8");
    assertOk(res.headers.get("content-security-policy")?.startsWith("default-src 'none'"));
    // A page that opened the console cannot swap its tab later (console review, session 12).
    assertEquals(res.headers.get("cross-origin-opener-policy"), "same-origin");
    assertOk(html.includes("<title>Amber vault console</title>"), html.slice(0, 300));
    assertOk(html.includes(`data-region="${vault.region}"`), "the region is not prefilled");
  });

  await t.step(
    "ListBuckets - unsigned requests that are not a browser's stay AccessDenied",
    async () => {
      for (const accept of [undefined, "*/*", "application/xml"]) {
        const res = await fetch(`${vault.endpoint}/`, accept ? { headers: { accept } } : {});
        await assertErrorResponse(res, "AccessDenied", 403);
      }
      const query = await fetch(`${vault.endpoint}/?x-id=ListBuckets`, {
        headers: { accept: BROWSER_ACCEPT },
      });
      await assertErrorResponse(query, "AccessDenied", 403);
      const head = await fetch(`${vault.endpoint}/`, {
        method: "HEAD",
        headers: { accept: BROWSER_ACCEPT },
      });
      await assertErrorResponse(head, "AccessDenied", 403, { head: true });
    },
  );

  await t.step("ListObjects - a virtual-hosted bucket's GET / is never the console", async () => {
    const raw = await rawGetRoot(vault, `console-bucket.localhost:${vault.port}`);
    assertOk(raw.startsWith("HTTP/1.1 403"), raw.slice(0, 200));
    assertOk(raw.includes("<Code>AccessDenied</Code>"), raw.slice(0, 400));
  });

  await t.step(
    "ListBuckets - signed and presigned requests with a browser's Accept are S3",
    async () => {
      const listed = await s3.send(new ListBucketsCommand({}));
      assertOk(Array.isArray(listed.Buckets ?? []), "the SDK's ListBuckets failed");
      const signed = await signedFetch(vault, s3, {
        method: "GET",
        path: "/",
        headers: { accept: BROWSER_ACCEPT },
      });
      const xml = await signed.text();
      assertEquals(signed.status, 200, xml);
      assertOk(xml.includes("<ListAllMyBucketsResult"), xml.slice(0, 300));
      const url = await getSignedUrl(s3, new ListBucketsCommand({}), { expiresIn: 60 });
      const presigned = await fetch(url, { headers: { accept: BROWSER_ACCEPT } });
      const body = await presigned.text();
      assertEquals(presigned.status, 200, body);
      assertOk(body.includes("<ListAllMyBucketsResult"), body.slice(0, 300));
    },
  );
});
