/**
 * Bucket quotas against a real vault: hard byte limits cut single and
 * multipart uploads off as they stream and leave nothing behind, object
 * count and object size limits, the soft limit's warning, usage, and Veeam's
 * SOSAPI capacity objects. The vault collects garbage every second with no
 * grace, so the chunks of a cut-off upload must go.
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListPartsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import {
  assertEquals,
  assertOk,
  assertS3Error,
  bodyBytes,
  randomBytes,
  signedFetch,
  signHeaders,
  vaultSuite,
  waitFor,
} from "../helpers/assert_s3.ts";
import { metric, policyRequest, setPolicy, usage } from "./helpers.ts";

const KIB = 1024;
const MIB = 1024 * KIB;
const SOSAPI = ".system-d26a9498-cb7c-4a87-a44a-8ae204f5ba6c";
const text = async (body: unknown) => new TextDecoder().decode(await bodyBytes(body as never));

vaultSuite("Bucket quotas", async ({ t, vault, s3 }) => {
  const chunks = () => metric(vault, "amber_chunks");

  await t.step(
    "PUT /admin/buckets/{bucket}/policy - sets and reads back; bad policies are refused",
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "policy" }));
      const set = await setPolicy(vault, s3, "policy", {
        quota: { hardBytes: 10 * MIB, softBytes: 8 * MIB },
        uploadWindows: [{ cron: "0 22 * * *", durationMinutes: 360 }],
        freshness: [{ prefix: "db/", everyHours: 26, minBytes: 1024 }],
      });
      assertEquals(set.policy.quota, { hardBytes: 10 * MIB, softBytes: 8 * MIB });
      const got = await policyRequest(vault, s3, "policy", "GET");
      assertEquals(got.status, 200);
      assertEquals(got.body.policy, set.policy);
      assertEquals(got.body.usage, { objects: 0, logicalBytes: 0, storedBytes: 0, uploadBytes: 0 });

      const bad = await policyRequest(vault, s3, "policy", "PUT", {
        quota: { hardBytes: 5, softBytes: 6 },
      });
      assertEquals(bad.status, 400);
      assertEquals(bad.body.error?.code, "InvalidArgument");
      assertOk(
        String(bad.body.error?.message).includes("softBytes"),
        String(bad.body.error?.message),
      );
      const cron = await policyRequest(vault, s3, "policy", "PUT", {
        uploadWindows: [{ cron: "0 25 * * *", durationMinutes: 60 }],
      });
      assertEquals(cron.status, 400);
      assertOk(String(cron.body.error?.message).includes("hour"), String(cron.body.error?.message));
      const unknown = await policyRequest(vault, s3, "nope", "GET");
      assertEquals([unknown.status, unknown.body.error?.code], [404, "NoSuchBucket"]);
      // Cleared again: {} removes every setting.
      assertEquals((await setPolicy(vault, s3, "policy", {})).policy, {});
    },
  );

  await t.step("PUT /admin/buckets/{bucket}/policy - unsigned requests are refused", async () => {
    const res = await fetch(`${vault.endpoint}/admin/buckets/policy/policy`, {
      method: "PUT",
      body: JSON.stringify({ quota: { hardBytes: 1 } }),
    });
    const body = await res.json();
    assertEquals(res.status, 403, JSON.stringify(body));
    assertEquals((await setPolicy(vault, s3, "policy", {})).policy, {});
  });

  await t.step(
    "PutObject - a body past the hard quota is cut off with QuotaExceeded and leaves nothing",
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "hard" }));
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: "hard",
          VersioningConfiguration: { Status: "Enabled" },
        }),
      );
      await setPolicy(vault, s3, "hard", { quota: { hardBytes: 3 * MIB } });
      await s3.send(
        new PutObjectCommand({ Bucket: "hard", Key: "first", Body: randomBytes(2 * MIB, 1) }),
      );
      const before = await chunks();
      const e = await assertS3Error(
        s3.send(
          new PutObjectCommand({ Bucket: "hard", Key: "second", Body: randomBytes(2 * MIB, 2) }),
        ),
        "QuotaExceeded",
        403,
      );
      assertOk(e.message.includes("hard quota"), e.message);

      // A streamed body of unknown length is cut off once it passes the room left: this one would
      // go on for 256 MiB, so an answer before then shows the vault stopped reading.
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent >= 256 * MIB) return c.close();
          c.enqueue(randomBytes(64 * KIB, 100 + sent / (64 * KIB)));
          sent += 64 * KIB;
        },
      });
      const headers = await signHeaders(vault, s3, {
        method: "PUT",
        path: "/hard/streamed",
        unsignedPayload: true,
      });
      delete headers.host;
      const res = await fetch(`${vault.endpoint}/hard/streamed`, {
        method: "PUT",
        headers,
        body: stream,
        duplex: "half",
      } as RequestInit);
      assertOk(sent < 64 * MIB, `the vault read ${sent} bytes before refusing`);
      const xml = await res.text();
      assertEquals(res.status, 403, xml);
      assertOk(xml.includes("<Code>QuotaExceeded</Code>"), xml);

      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: "hard" }));
      assertEquals(versions.Versions?.map((v) => v.Key), ["first"]);
      assertEquals((await usage(vault, s3, "hard")).logicalBytes, 2 * MIB);
      await waitFor(
        "the cut-off uploads' chunks are collected",
        async () => await chunks() === before,
      );
    },
  );

  await t.step(
    "UploadPart - a part past the hard quota is cut off; the upload keeps only its earlier parts",
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "hard-mpu" }));
      await setPolicy(vault, s3, "hard-mpu", { quota: { hardBytes: 12 * MIB } });
      const { UploadId } = await s3.send(
        new CreateMultipartUploadCommand({ Bucket: "hard-mpu", Key: "big" }),
      );
      const part = (n: number) =>
        s3.send(
          new UploadPartCommand({
            Bucket: "hard-mpu",
            Key: "big",
            UploadId,
            PartNumber: n,
            Body: randomBytes(5 * MIB, 10 + n),
          }),
        );
      const p1 = await part(1);
      const p2 = await part(2);
      assertEquals((await usage(vault, s3, "hard-mpu")).uploadBytes, 10 * MIB);
      await assertS3Error(part(3), "QuotaExceeded", 403);
      const parts = await s3.send(
        new ListPartsCommand({ Bucket: "hard-mpu", Key: "big", UploadId }),
      );
      assertEquals(parts.Parts?.map((p) => p.PartNumber), [1, 2]);
      // What was accepted completes (it moves bytes already counted).
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: "hard-mpu",
          Key: "big",
          UploadId,
          MultipartUpload: {
            Parts: [{ PartNumber: 1, ETag: p1.ETag }, { PartNumber: 2, ETag: p2.ETag }],
          },
        }),
      );
      const u = await usage(vault, s3, "hard-mpu");
      assertEquals([u.objects, u.logicalBytes, u.uploadBytes], [1, 10 * MIB, 0]);
      assertOk(u.storedBytes > 9 * MIB, `stored ${u.storedBytes}`);
      // Full beyond the room: a new upload is refused before any body is read.
      await assertS3Error(
        s3.send(
          new PutObjectCommand({ Bucket: "hard-mpu", Key: "more", Body: randomBytes(3 * MIB) }),
        ),
        "QuotaExceeded",
        403,
      );
    },
  );

  await t.step(
    "CopyObject - a copy past the hard quota is refused and leaves no version",
    async () => {
      await assertS3Error(
        s3.send(
          new CopyObjectCommand({ Bucket: "hard-mpu", Key: "copy", CopySource: "hard-mpu/big" }),
        ),
        "QuotaExceeded",
        403,
      );
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: "hard-mpu" }));
      assertEquals(listed.Contents?.map((o) => o.Key), ["big"]);
    },
  );

  await t.step(
    "PutObject - maxObjectBytes refuses a larger object with EntityTooLarge",
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "sized" }));
      await setPolicy(vault, s3, "sized", { quota: { maxObjectBytes: 1000, maxObjects: 2 } });
      await s3.send(new PutObjectCommand({ Bucket: "sized", Key: "a", Body: randomBytes(1000) }));
      const e = await assertS3Error(
        s3.send(new PutObjectCommand({ Bucket: "sized", Key: "b", Body: randomBytes(1001) })),
        "EntityTooLarge",
        400,
      );
      assertOk(e.message.includes("1000 bytes"), e.message);
    },
  );

  await t.step("UploadPart - maxObjectBytes counts every part of the upload", async () => {
    await setPolicy(vault, s3, "sized", { quota: { maxObjectBytes: 8 * MIB } });
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: "sized", Key: "mpu" }),
    );
    const part = (n: number) =>
      s3.send(
        new UploadPartCommand({
          Bucket: "sized",
          Key: "mpu",
          UploadId,
          PartNumber: n,
          Body: randomBytes(5 * MIB, n),
        }),
      );
    await part(1);
    await assertS3Error(part(2), "EntityTooLarge", 400);
    // Re-sending part 1 replaces it, so it fits.
    await part(1);
  });

  await t.step(
    "PutObject - maxObjects refuses one object version too many with QuotaExceeded",
    async () => {
      await setPolicy(vault, s3, "sized", { quota: { maxObjects: 2 } });
      await s3.send(new PutObjectCommand({ Bucket: "sized", Key: "b", Body: "b" }));
      const e = await assertS3Error(
        s3.send(new PutObjectCommand({ Bucket: "sized", Key: "c", Body: "c" })),
        "QuotaExceeded",
        403,
      );
      assertOk(e.message.includes("at most 2 object versions"), e.message);
      // Replacing an object in an unversioned bucket adds no version.
      await s3.send(new PutObjectCommand({ Bucket: "sized", Key: "b", Body: "b2" }));
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: "sized" }));
      assertEquals(listed.Contents?.map((o) => o.Key), ["a", "b"]);
    },
  );

  await t.step(
    "PutObject - crossing the soft limit succeeds with a warning header and metric",
    async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "soft" }));
      await setPolicy(vault, s3, "soft", { quota: { softBytes: 1000, hardBytes: 100_000 } });
      const quiet = await signedFetch(vault, s3, { method: "PUT", path: "/soft/small", body: "x" });
      await quiet.body?.cancel();
      assertEquals([quiet.status, quiet.headers.get("x-amber-quota-warning")], [200, null]);
      const res = await signedFetch(vault, s3, {
        method: "PUT",
        path: "/soft/larger",
        body: randomBytes(5000),
      });
      await res.body?.cancel();
      assertEquals(res.status, 200);
      const warning = res.headers.get("x-amber-quota-warning") ?? "";
      assertOk(warning.includes("above its soft quota of 1000 bytes"), warning);
      const got = await s3.send(new GetObjectCommand({ Bucket: "soft", Key: "larger" }));
      assertEquals((await bodyBytes(got.Body)).length, 5000);
      assertEquals(
        await metric(vault, 'amber_bucket_soft_quota_warnings_total{bucket="soft"}'),
        1,
      );
      assertEquals(
        await metric(vault, 'amber_bucket_usage_bytes{bucket="soft",kind="logical"}'),
        5001,
      );
      assertEquals(
        await metric(vault, 'amber_bucket_quota_bytes{bucket="soft",limit="hard"}'),
        100_000,
      );
      assertEquals(await metric(vault, 'amber_bucket_health{bucket="soft",state="over-quota"}'), 1);
    },
  );

  await t.step("GetObject - SOSAPI system.xml and capacity.xml report the hard quota", async () => {
    const sys = await s3.send(
      new GetObjectCommand({ Bucket: "hard-mpu", Key: `${SOSAPI}/system.xml` }),
    );
    const sysXml = await text(sys.Body);
    assertOk(sysXml.includes("<CapacityInfo>true</CapacityInfo>"), sysXml);
    assertOk(sysXml.includes('<ProtocolVersion>"1.0"</ProtocolVersion>'), sysXml);
    assertOk(sysXml.includes("<KbBlockSize>4096</KbBlockSize>"), sysXml);
    const cap = await s3.send(
      new GetObjectCommand({ Bucket: "hard-mpu", Key: `${SOSAPI}/capacity.xml` }),
    );
    assertEquals(
      await text(cap.Body),
      `<?xml version="1.0" encoding="UTF-8"?>\n<CapacityInfo><Capacity>${12 * MIB}</Capacity>` +
        `<Available>${2 * MIB}</Available><Used>${10 * MIB}</Used></CapacityInfo>`,
    );
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: "hard-mpu", Key: `${SOSAPI}/capacity.xml` }),
    );
    assertOk(head.ETag && head.LastModified && head.ContentLength! > 50, JSON.stringify(head));
    const ranged = await s3.send(
      new GetObjectCommand({ Bucket: "hard-mpu", Key: `${SOSAPI}/system.xml`, Range: "bytes=0-4" }),
    );
    assertEquals(await text(ranged.Body), "<?xml");
    // Used beyond capacity: Available is clamped at 0.
    await setPolicy(vault, s3, "hard-mpu", { quota: { hardBytes: 4 * MIB } });
    const over = await s3.send(
      new GetObjectCommand({ Bucket: "hard-mpu", Key: `${SOSAPI}/capacity.xml` }),
    );
    assertOk((await text(over.Body)).includes("<Available>0</Available>"));
  });

  await t.step(
    "GetObject - SOSAPI without a hard quota: CapacityInfo false, no capacity.xml",
    async () => {
      const sys = await s3.send(
        new GetObjectCommand({ Bucket: "sized", Key: `${SOSAPI}/system.xml` }),
      );
      assertOk((await text(sys.Body)).includes("<CapacityInfo>false</CapacityInfo>"));
      await assertS3Error(
        s3.send(new GetObjectCommand({ Bucket: "sized", Key: `${SOSAPI}/capacity.xml` })),
        "NoSuchKey",
        404,
      );
      await assertS3Error(
        s3.send(new GetObjectCommand({ Bucket: "missing", Key: `${SOSAPI}/system.xml` })),
        "NoSuchBucket",
        404,
      );
    },
  );
}, { env: { AMBER_GC_INTERVAL: "1", AMBER_GC_GRACE: "0" } });
