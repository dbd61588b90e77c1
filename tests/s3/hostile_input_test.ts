/**
 * Hostile or broken requests (session 10 robustness review): an S3 error,
 * never a 500, a wrong object deleted, a stalled router or a request held for
 * ever.
 */
import {
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import {
  assertEquals,
  assertErrorResponse,
  assertOk,
  md5Base64,
  signedFetch,
  signHeaders,
  vaultSuite,
} from "../helpers/assert_s3.ts";

import { peakRssMiB } from "../helpers/vault.ts";

const B = "hostile";

vaultSuite("Hostile input", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: "src", Body: "hello" }));
  const deleteObjects = (xml: string) =>
    signedFetch(vault, s3, {
      method: "POST",
      path: `/${B}`,
      query: { delete: "" },
      headers: { "content-md5": md5Base64(xml) },
      body: xml,
    });

  await t.step("XML - a character reference past Unicode is MalformedXML, not a 500", async () => {
    const u = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: "mp" }));
    const p = await s3.send(
      new UploadPartCommand({
        Bucket: B,
        Key: "mp",
        UploadId: u.UploadId,
        PartNumber: 1,
        Body: "a",
      }),
    );
    for (const ref of ["&#x110000;", "&#99999999999;"]) {
      const res = await signedFetch(vault, s3, {
        method: "POST",
        path: `/${B}/mp`,
        query: { uploadId: u.UploadId! },
        body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${p
          .ETag!}${ref}</ETag></Part></CompleteMultipartUpload>`,
      });
      await assertErrorResponse(res, "MalformedXML", 400);
    }
    await assertErrorResponse(
      await deleteObjects("<Delete><Object><Key>&#x110000;</Key></Object></Delete>"),
      "MalformedXML",
      400,
    );
  });

  await t.step("DeleteObjects - a lone surrogate is MalformedXML, not the key U+FFFD", async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: "\uFFFD", Body: "keep me" }));
    await assertErrorResponse(
      await deleteObjects("<Delete><Object><Key>&#xD800;</Key></Object></Delete>"),
      "MalformedXML",
      400,
    );
    await s3.send(new HeadObjectCommand({ Bucket: B, Key: "\uFFFD" })); // still there
  });

  await t.step("CopyObject - a bad escape in the source bucket is InvalidArgument", async () => {
    const res = await signedFetch(vault, s3, {
      method: "PUT",
      path: `/${B}/dst`,
      headers: { "x-amz-copy-source": `%ZZ${B}/src` },
    });
    await assertErrorResponse(res, "InvalidArgument", 400);
  });

  await t.step(
    "XML - a document of too many elements is refused before it costs memory",
    async () => {
      const u = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: "many" }));
      const xml = "<CompleteMultipartUpload>" +
        "<Part/>".repeat(Math.floor((4 * 1024 * 1024 - 60) / 7)) + "</CompleteMultipartUpload>";
      const results = await Promise.all(Array.from({ length: 6 }, async () => {
        const res = await signedFetch(vault, s3, {
          method: "POST",
          path: `/${B}/many`,
          query: { uploadId: u.UploadId! },
          body: xml,
        });
        return `${res.status} ${/<Code>(\w+)/.exec(await res.text())?.[1]}`;
      }));
      assertEquals(results, results.map(() => "400 MalformedXML"));
      const peak = await peakRssMiB(vault.pid);
      assertOk(peak < 256, `VmHWM ${peak.toFixed(0)} MiB`);
    },
  );

  await t.step("PutObject - 1-byte aws-chunked chunks do not stall other requests", async () => {
    const n = 2 * 1024 * 1024;
    const one = new TextEncoder().encode("1\r\nX\r\n");
    const body = new Uint8Array(n * one.length + 5);
    for (let i = 0; i < n; i++) body.set(one, i * one.length);
    body.set(new TextEncoder().encode("0\r\n\r\n"), n * one.length);
    let worst = 0;
    let done = false;
    const probe = (async () => {
      while (!done) {
        // From another process, timed by it: this one's event loop is busy sending (starting a
        // process from it can take a second by itself).
        const out = await new Deno.Command("curl", {
          args: [
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code} %{time_total}",
            `${vault.endpoint}/healthz`,
          ],
        }).output();
        const [code, seconds] = new TextDecoder().decode(out.stdout).split(" ");
        assertEquals(code, "200");
        worst = Math.max(worst, Number(seconds) * 1000);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const res = await signedFetch(vault, s3, {
      method: "PUT",
      path: `/${B}/tiny-chunks`,
      body,
      payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      headers: { "content-encoding": "aws-chunked", "x-amz-decoded-content-length": String(n) },
    });
    const text = await res.text();
    done = true;
    await probe;
    assertEquals(res.status, 200, text);
    assertOk(worst < 1000, `/healthz waited ${worst.toFixed(0)} ms`);
  });

  await t.step("PutObject - a body that stops coming gets RequestTimeout", async () => {
    const headers = await signHeaders(vault, s3, {
      method: "PUT",
      path: `/${B}/stalled`,
      unsignedPayload: true,
      headers: { "content-length": String(8 * 1024 * 1024) },
    });
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: vault.port });
    try {
      const head = `PUT /${B}/stalled HTTP/1.1\r\n` +
        Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join("") + "\r\n";
      await conn.write(new TextEncoder().encode(head));
      await conn.write(new Uint8Array(1024 * 1024 + 17)); // …and then nothing
      const reply = new Uint8Array(4096);
      const got = await Promise.race([
        conn.read(reply),
        new Promise<"none">((r) => setTimeout(() => r("none"), 30_000)),
      ]);
      assertOk(got !== "none" && got !== null, "no answer within 30 s");
      const text = new TextDecoder().decode(reply.subarray(0, got as number));
      assertOk(/^HTTP\/1\.1 400/.test(text) && text.includes("RequestTimeout"), text);
    } finally {
      conn.close();
    }
  });
});
