/**
 * SigV4 on the wire, signed by an independent signer (tests/helpers/raw_sigv4.ts) and sent as
 * exact bytes: credential scope and key errors, signatures that must not carry over to another
 * request, presigned URL bounds, odd keys, tampered aws-chunked bodies (from the session-12 auth
 * review, which found them correct).
 *
 * @module
 */
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { assertEquals, vaultSuite } from "../helpers/assert_s3.ts";
import { chunkedBody, codeOf, type RawSign, sendRaw, signRaw } from "../helpers/raw_sigv4.ts";

const B = "wire-checked";

vaultSuite("SigV4 signed independently", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: "plain", Body: "plain" }));
  const cred = {
    accessKey: vault.accessKey,
    secretKey: vault.secretKey,
    host: `127.0.0.1:${vault.port}`,
  };
  const send = async (
    r: Omit<RawSign, "accessKey" | "secretKey"> & Partial<RawSign> & { host?: string },
    body?: string,
  ) => {
    const s = signRaw({ ...cred, ...r });
    return await sendRaw(vault.port, r.method, s.target, s.headers, body);
  };
  const expect = (r: { status: number; body: string }, status: number, code?: string) => {
    assertEquals(r.status, status, r.body.slice(0, 300));
    if (code) assertEquals(codeOf(r.body), code);
  };
  const absent = async (key: string) =>
    assertEquals(
      await s3.send(new HeadObjectCommand({ Bucket: B, Key: key })).then(() => "found", () => "no"),
      "no",
    );

  await t.step("credential scope and key errors are the AWS codes", async () => {
    const get = { method: "GET", path: `/${B}/plain` };
    expect(await send({ ...get, accessKey: "NOSUCHKEY" }), 403, "InvalidAccessKeyId");
    expect(await send({ ...get, secretKey: "wrong" }), 403, "SignatureDoesNotMatch");
    expect(await send({ ...get, service: "ec2" }), 400, "AuthorizationHeaderMalformed");
    expect(
      await send({ ...get, terminator: "aws4_requestX" }),
      400,
      "AuthorizationHeaderMalformed",
    );
    expect(await send({ ...get, scopeDate: "20000101" }), 400, "AuthorizationHeaderMalformed");
    expect(
      await send({ ...get, signedHeaders: ["x-amz-content-sha256", "x-amz-date"] }),
      400,
      "AuthorizationHeaderMalformed",
    );
    expect(
      await send({ ...get, signedHeaders: ["host", "x-amz-content-sha256"] }),
      403,
      "AccessDenied",
    );
    expect(await send({ ...get, nowMs: Date.now() - 16 * 60_000 }), 403, "RequestTimeTooSkewed");
    expect(await send({ ...get, nowMs: Date.now() + 16 * 60_000 }), 403, "RequestTimeTooSkewed");
    expect(await send({ ...get, useDateHeader: true }), 200);
  });

  await t.step("a signature does not carry over to another method, key or query", async () => {
    const s = signRaw({ ...cred, method: "GET", path: `/${B}/plain` });
    expect(await sendRaw(vault.port, "DELETE", s.target, s.headers), 403, "SignatureDoesNotMatch");
    expect(
      await sendRaw(vault.port, "GET", `/${B}/other`, s.headers),
      403,
      "SignatureDoesNotMatch",
    );
    expect(
      await sendRaw(vault.port, "GET", `${s.target}?acl`, s.headers),
      403,
      "SignatureDoesNotMatch",
    );
    const p = signRaw({ ...cred, method: "GET", path: `/${B}/plain`, presign: { expires: 60 } });
    expect(
      await sendRaw(vault.port, "PUT", p.target, p.headers, "x"),
      403,
      "SignatureDoesNotMatch",
    );
    expect(
      await sendRaw(vault.port, "GET", `${p.target}&X-Amz-Expires=604800`, p.headers),
      403,
      "SignatureDoesNotMatch",
    );
    expect(
      await sendRaw(vault.port, "GET", p.target, [...p.headers, ["x-amz-meta-x", "1"]]),
      403,
      "AccessDenied",
    );
    await absent("x");
  });

  await t.step("presigned URL bounds", async () => {
    const get = { method: "GET", path: `/${B}/plain` };
    expect(await send({ ...get, presign: { expires: 604800 } }), 200);
    expect(
      await send({ ...get, presign: { expires: 604801 } }),
      400,
      "AuthorizationQueryParametersError",
    );
    expect(
      await send({ ...get, presign: { expires: -1 } }),
      400,
      "AuthorizationQueryParametersError",
    );
    expect(
      await send({ ...get, nowMs: Date.now() - 120_000, presign: { expires: 60 } }),
      403,
      "AccessDenied",
    );
    expect(
      await send({ ...get, nowMs: Date.now() + 20 * 60_000, presign: { expires: 3600 } }),
      403,
      "AccessDenied",
    );
    expect(
      await send({ ...get, nowMs: Date.now() - 6 * 86_400_000, presign: { expires: 604800 } }),
      200,
    );
  });

  await t.step("odd keys: what the client signs is what is verified and addressed", async () => {
    for (
      const key of [
        "a//b",
        "a/../b",
        "..",
        "sp ace",
        "plus+sign",
        "pct%2Fslash",
        "é中😀",
        "c:o@l$!'()*~",
      ]
    ) {
      const path = `/${B}/` + key.split("/").map((s) => encodeURIComponent(s)).join("/");
      expect(await send({ method: "PUT", path, payloadHash: "UNSIGNED-PAYLOAD" }, key), 200);
      const h = await s3.send(new HeadObjectCommand({ Bucket: B, Key: key })).then(() => "ok");
      assertEquals(h, "ok", key);
      expect(await send({ method: "GET", path, presign: { expires: 60 } }), 200);
    }
    expect(
      await send({ method: "GET", host: `${B}.localhost:${vault.port}`, path: "/plain" }),
      200,
    );
  });

  await t.step(
    "aws-chunked signatures: any change to chunks or their order is refused",
    async () => {
      const enc = new TextEncoder();
      const c1 = enc.encode("a".repeat(100));
      const c2 = enc.encode("b".repeat(50));
      const put = (key: string, decoded = "150") => {
        const s = signRaw({
          ...cred,
          method: "PUT",
          path: `/${B}/${key}`,
          headers: [["content-encoding", "aws-chunked"], ["x-amz-decoded-content-length", decoded]],
          payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        });
        return {
          s,
          k: { signingKey: s.signingKey, date: s.date, scope: s.scope, seed: s.signature },
        };
      };
      const go = (s: { target: string; headers: [string, string][] }, body: Uint8Array | string) =>
        sendRaw(vault.port, "PUT", s.target, s.headers, body);
      let x = put("ok");
      expect(await go(x.s, chunkedBody(x.k, [c1, c2]).body), 200);
      x = put("tampered-sig");
      expect(
        await go(
          x.s,
          chunkedBody(x.k, [c1, c2], { tamper: (i, g) => i === 1 ? "0".repeat(64) : g }).body,
        ),
        403,
        "SignatureDoesNotMatch",
      );
      x = put("tampered-data");
      const t2 = new TextDecoder().decode(chunkedBody(x.k, [c1, c2]).body).replace("bbbb", "bbbc");
      expect(await go(x.s, t2), 403, "SignatureDoesNotMatch");
      x = put("reordered");
      const { sigs } = chunkedBody(x.k, [c1, c2]);
      const re = `32;chunk-signature=${sigs[1]}\r\n${"b".repeat(50)}\r\n` +
        `64;chunk-signature=${sigs[0]}\r\n${"a".repeat(100)}\r\n0;chunk-signature=${
          sigs[2]
        }\r\n\r\n`;
      expect(await go(x.s, re), 403, "SignatureDoesNotMatch");
      x = put("no-final");
      const full = new TextDecoder().decode(chunkedBody(x.k, [c1, c2]).body);
      expect(
        await go(x.s, full.slice(0, full.lastIndexOf("0;chunk-signature"))),
        400,
        "IncompleteBody",
      );
      x = put("len-big", "200");
      expect(await go(x.s, chunkedBody(x.k, [c1, c2]).body), 400, "IncompleteBody");
      x = put("len-small", "120");
      expect(await go(x.s, chunkedBody(x.k, [c1, c2]).body), 400);
      for (
        const k of [
          "tampered-sig",
          "tampered-data",
          "reordered",
          "no-final",
          "len-big",
          "len-small",
        ]
      ) {
        await absent(k);
      }
    },
  );
});
