/**
 * The WORM suite: Object Lock as AWS S3 does it, and every way around a lock
 * we know of, each refused with the bytes still readable afterwards.
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectLockConfigurationCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectLockConfigurationCommand,
  PutObjectRetentionCommand,
} from "@aws-sdk/client-s3";
import {
  assertEquals,
  assertErrorResponse,
  assertOk,
  assertS3Error,
  bodyBytes,
  md5Base64,
  signedFetch,
  vaultSuite,
} from "../helpers/assert_s3.ts";

const DAY = 86_400_000;
const text = async (body: unknown) => new TextDecoder().decode(await bodyBytes(body as never));

vaultSuite("Object Lock and the WORM guarantees", async ({ t, vault, s3 }) => {
  const L = "locked";
  const P = "plain";
  await s3.send(new CreateBucketCommand({ Bucket: L, ObjectLockEnabledForBucket: true }));
  await s3.send(new CreateBucketCommand({ Bucket: P }));
  const inDays = (d: number) => new Date(Date.now() + d * DAY);

  await t.step(
    "CreateBucket - object lock turns versioning on, and it cannot be suspended",
    async () => {
      assertEquals(
        (await s3.send(new GetBucketVersioningCommand({ Bucket: L }))).Status,
        "Enabled",
      );
      await assertS3Error(
        s3.send(
          new PutBucketVersioningCommand({
            Bucket: L,
            VersioningConfiguration: { Status: "Suspended" },
          }),
        ),
        "InvalidBucketState",
        409,
      );
    },
  );

  await t.step(
    "GetObjectLockConfiguration - a bucket without lock is ObjectLockConfigurationNotFoundError",
    async () => {
      await assertS3Error(
        s3.send(new GetObjectLockConfigurationCommand({ Bucket: P })),
        "ObjectLockConfigurationNotFoundError",
        404,
      );
      const r = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: L }));
      assertEquals(r.ObjectLockConfiguration?.ObjectLockEnabled, "Enabled");
      assertEquals(r.ObjectLockConfiguration?.Rule, undefined);
    },
  );

  await t.step("PutObjectLockConfiguration - bad periods and modes are refused", async () => {
    const put = (xml: string) =>
      signedFetch(vault, s3, {
        method: "PUT",
        path: `/${L}`,
        query: { "object-lock": "" },
        headers: { "content-md5": md5Base64(xml) },
        body: xml,
      });
    const rule = (inner: string) =>
      `<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>${inner}</DefaultRetention></Rule></ObjectLockConfiguration>`;
    await assertErrorResponse(
      await put(rule("<Mode>GOVERNANCE</Mode><Days>0</Days>")),
      "InvalidRetentionPeriod",
      400,
    );
    await assertErrorResponse(
      await put(rule("<Mode>GOVERNANCE</Mode><Years>-1</Years>")),
      "InvalidRetentionPeriod",
      400,
    );
    // Past a hundred years (AWS's bound) the lock could not be kept: ends beyond any date, or no date.
    for (const period of ["<Days>36501</Days>", "<Years>101</Years>", "<Years>300000</Years>"]) {
      await assertErrorResponse(
        await put(rule(`<Mode>COMPLIANCE</Mode>${period}`)),
        "InvalidRetentionPeriod",
        400,
      );
    }
    await assertErrorResponse(
      await put(rule("<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>")),
      "MalformedXML",
      400,
    );
    await assertErrorResponse(
      await put(rule("<Mode>governance</Mode><Days>1</Days>")),
      "MalformedXML",
      400,
    );
    await assertErrorResponse(
      await put(
        "<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>",
      ),
      "MalformedXML",
      400,
    );
  });

  await t.step(
    "PutObjectLockConfiguration - a plain bucket needs versioning enabled first",
    async () => {
      const cfg = { ObjectLockEnabled: "Enabled" as const };
      await assertS3Error(
        s3.send(new PutObjectLockConfigurationCommand({ Bucket: P, ObjectLockConfiguration: cfg })),
        "InvalidBucketState",
        409,
      );
    },
  );

  let compliance = "";
  await t.step(
    "PutObject - COMPLIANCE lock headers are stored and returned on HEAD and GET",
    async () => {
      const until = inDays(2);
      const r = await s3.send(
        new PutObjectCommand({
          Bucket: L,
          Key: "backup.bak",
          Body: "precious",
          ObjectLockMode: "COMPLIANCE",
          ObjectLockRetainUntilDate: until,
        }),
      );
      compliance = r.VersionId!;
      const h = await s3.send(new HeadObjectCommand({ Bucket: L, Key: "backup.bak" }));
      assertEquals(h.ObjectLockMode, "COMPLIANCE");
      assertEquals(
        h.ObjectLockRetainUntilDate?.getTime(),
        until.getTime(),
      );
      assertEquals(h.ObjectLockLegalHoldStatus, "OFF");
      const ret = await s3.send(new GetObjectRetentionCommand({ Bucket: L, Key: "backup.bak" }));
      assertEquals(ret.Retention?.Mode, "COMPLIANCE");
    },
  );

  await t.step(
    "DeleteObject - a COMPLIANCE version cannot be deleted, not even with the bypass header",
    async () => {
      await assertS3Error(
        s3.send(new DeleteObjectCommand({ Bucket: L, Key: "backup.bak", VersionId: compliance })),
        "AccessDenied",
        403,
      );
      await assertS3Error(
        s3.send(
          new DeleteObjectCommand({
            Bucket: L,
            Key: "backup.bak",
            VersionId: compliance,
            BypassGovernanceRetention: true,
          }),
        ),
        "AccessDenied",
        403,
      );
    },
  );

  await t.step(
    "DeleteObject - without a version id only adds a delete marker; the locked bytes stay",
    async () => {
      const d = await s3.send(new DeleteObjectCommand({ Bucket: L, Key: "backup.bak" }));
      assertEquals(d.DeleteMarker, true);
      const g = await s3.send(
        new GetObjectCommand({ Bucket: L, Key: "backup.bak", VersionId: compliance }),
      );
      assertEquals(await text(g.Body), "precious");
      // The marker itself is not locked and may go, which brings the object back.
      await s3.send(
        new DeleteObjectCommand({ Bucket: L, Key: "backup.bak", VersionId: d.VersionId }),
      );
      assertEquals(
        await text((await s3.send(new GetObjectCommand({ Bucket: L, Key: "backup.bak" }))).Body),
        "precious",
      );
    },
  );

  await t.step(
    "PutObjectRetention - COMPLIANCE can only be extended: shorten, switch or remove are refused",
    async () => {
      const put = (mode: "COMPLIANCE" | "GOVERNANCE", until: Date, bypass = false) =>
        s3.send(
          new PutObjectRetentionCommand({
            Bucket: L,
            Key: "backup.bak",
            VersionId: compliance,
            Retention: { Mode: mode, RetainUntilDate: until },
            BypassGovernanceRetention: bypass,
          }),
        );
      await assertS3Error(put("COMPLIANCE", inDays(1)), "AccessDenied", 403);
      await assertS3Error(put("GOVERNANCE", inDays(30), true), "AccessDenied", 403);
      const empty = "<Retention></Retention>";
      const remove = await signedFetch(vault, s3, {
        method: "PUT",
        path: `/${L}/backup.bak`,
        query: { retention: "", versionId: compliance },
        headers: { "content-md5": md5Base64(empty), "x-amz-bypass-governance-retention": "true" },
        body: empty,
      });
      await assertErrorResponse(remove, "AccessDenied", 403);
      await put("COMPLIANCE", inDays(3));
      const ret = await s3.send(
        new GetObjectRetentionCommand({ Bucket: L, Key: "backup.bak", VersionId: compliance }),
      );
      assertOk(
        ret.Retention!.RetainUntilDate!.getTime() > inDays(2.5).getTime(),
        "the extension took",
      );
    },
  );

  await t.step(
    "PutObjectRetention - namespace-less XML on the latest version extends it (Veeam, kopia)",
    async () => {
      const xml = `<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>${
        inDays(4).toISOString()
      }</RetainUntilDate></Retention>`;
      const res = await signedFetch(vault, s3, {
        method: "PUT",
        path: `/${L}/backup.bak`,
        query: { retention: "" },
        headers: { "content-md5": md5Base64(xml) },
        body: xml,
      });
      assertEquals(res.status, 200, await res.text());
    },
  );

  await t.step(
    "PutObject - overwriting a locked key makes a new version; the locked one stays",
    async () => {
      await s3.send(new PutObjectCommand({ Bucket: L, Key: "backup.bak", Body: "newer" }));
      assertEquals(
        await text((await s3.send(new GetObjectCommand({ Bucket: L, Key: "backup.bak" }))).Body),
        "newer",
      );
      assertEquals(
        await text(
          (await s3.send(
            new GetObjectCommand({ Bucket: L, Key: "backup.bak", VersionId: compliance }),
          )).Body,
        ),
        "precious",
      );
    },
  );

  await t.step(
    "DeleteObject - GOVERNANCE needs the bypass header; with it the version goes",
    async () => {
      const r = await s3.send(
        new PutObjectCommand({
          Bucket: L,
          Key: "gov",
          Body: "g",
          ObjectLockMode: "GOVERNANCE",
          ObjectLockRetainUntilDate: inDays(1),
        }),
      );
      await assertS3Error(
        s3.send(new DeleteObjectCommand({ Bucket: L, Key: "gov", VersionId: r.VersionId })),
        "AccessDenied",
        403,
      );
      await assertS3Error(
        s3.send(
          new PutObjectRetentionCommand({
            Bucket: L,
            Key: "gov",
            VersionId: r.VersionId,
            Retention: { Mode: "GOVERNANCE", RetainUntilDate: inDays(0.5) },
          }),
        ),
        "AccessDenied",
        403,
      );
      await s3.send(
        new DeleteObjectCommand({
          Bucket: L,
          Key: "gov",
          VersionId: r.VersionId,
          BypassGovernanceRetention: true,
        }),
      );
      await assertS3Error(
        s3.send(new GetObjectCommand({ Bucket: L, Key: "gov", VersionId: r.VersionId })),
        "NoSuchVersion",
        404,
      );
    },
  );

  await t.step(
    "PutObjectLegalHold - a legal hold blocks deletion whatever the retention",
    async () => {
      const r = await s3.send(new PutObjectCommand({ Bucket: L, Key: "held", Body: "h" }));
      await s3.send(
        new PutObjectLegalHoldCommand({
          Bucket: L,
          Key: "held",
          VersionId: r.VersionId,
          LegalHold: { Status: "ON" },
        }),
      );
      assertEquals(
        (await s3.send(
          new GetObjectLegalHoldCommand({ Bucket: L, Key: "held", VersionId: r.VersionId }),
        )).LegalHold?.Status,
        "ON",
      );
      await assertS3Error(
        s3.send(
          new DeleteObjectCommand({
            Bucket: L,
            Key: "held",
            VersionId: r.VersionId,
            BypassGovernanceRetention: true,
          }),
        ),
        "AccessDenied",
        403,
      );
      await s3.send(
        new PutObjectLegalHoldCommand({
          Bucket: L,
          Key: "held",
          VersionId: r.VersionId,
          LegalHold: { Status: "OFF" },
        }),
      );
      await s3.send(new DeleteObjectCommand({ Bucket: L, Key: "held", VersionId: r.VersionId }));
    },
  );

  await t.step(
    "DeleteObjects - the locked version is an AccessDenied error, the free one is deleted",
    async () => {
      const locked = await s3.send(
        new PutObjectCommand({
          Bucket: L,
          Key: "batch/locked",
          Body: "l",
          ObjectLockMode: "COMPLIANCE",
          ObjectLockRetainUntilDate: inDays(1),
        }),
      );
      const free = await s3.send(new PutObjectCommand({ Bucket: L, Key: "batch/free", Body: "f" }));
      const r = await s3.send(
        new DeleteObjectsCommand({
          Bucket: L,
          BypassGovernanceRetention: true,
          Delete: {
            Objects: [{ Key: "batch/locked", VersionId: locked.VersionId }, {
              Key: "batch/free",
              VersionId: free.VersionId,
            }],
          },
        }),
      );
      assertEquals(r.Deleted?.map((d) => d.Key), ["batch/free"]);
      assertEquals(r.Errors?.map((e) => [e.Key, e.Code]), [["batch/locked", "AccessDenied"]]);
      assertEquals(
        await text((await s3.send(new GetObjectCommand({ Bucket: L, Key: "batch/locked" }))).Body),
        "l",
      );
    },
  );

  await t.step(
    "PutObject - lock parameters need Content-MD5 or a checksum, as AWS requires",
    async () => {
      const res = await signedFetch(vault, s3, {
        method: "PUT",
        path: `/${L}/no-digest`,
        unsignedPayload: true,
        headers: {
          "x-amz-object-lock-mode": "GOVERNANCE",
          "x-amz-object-lock-retain-until-date": inDays(1).toISOString(),
        },
        body: "data",
      });
      const body = await assertErrorResponse(res, "InvalidRequest", 400);
      assertOk(body.includes("Content-MD5"), body);
      const ok = await signedFetch(vault, s3, {
        method: "PUT",
        path: `/${L}/with-digest`,
        unsignedPayload: true,
        headers: {
          "content-md5": md5Base64("data"),
          "x-amz-object-lock-mode": "GOVERNANCE",
          "x-amz-object-lock-retain-until-date": inDays(1).toISOString(),
        },
        body: "data",
      });
      assertEquals(ok.status, 200, await ok.text());
    },
  );

  await t.step(
    "PutObject - lock headers on a bucket without Object Lock are InvalidRequest",
    async () => {
      await assertS3Error(
        s3.send(
          new PutObjectCommand({
            Bucket: P,
            Key: "k",
            Body: "x",
            ObjectLockMode: "GOVERNANCE",
            ObjectLockRetainUntilDate: inDays(1),
          }),
        ),
        "InvalidRequest",
        400,
      );
      await s3.send(new PutObjectCommand({ Bucket: P, Key: "k", Body: "x" }));
      await assertS3Error(
        s3.send(
          new PutObjectRetentionCommand({
            Bucket: P,
            Key: "k",
            Retention: { Mode: "GOVERNANCE", RetainUntilDate: inDays(1) },
          }),
        ),
        "InvalidRequest",
        400,
      );
      await assertS3Error(
        s3.send(
          new PutObjectCommand({
            Bucket: L,
            Key: "k",
            Body: "x",
            ObjectLockMode: "GOVERNANCE",
            ObjectLockRetainUntilDate: new Date(Date.now() - DAY),
          }),
        ),
        "InvalidArgument",
        400,
      );
    },
  );

  await t.step(
    "PutObjectLockConfiguration - a default retention applies to writes without lock headers",
    async () => {
      await s3.send(
        new PutObjectLockConfigurationCommand({
          Bucket: L,
          ObjectLockConfiguration: {
            ObjectLockEnabled: "Enabled",
            Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: 1 } },
          },
        }),
      );
      const cfg = await s3.send(new GetObjectLockConfigurationCommand({ Bucket: L }));
      assertEquals(cfg.ObjectLockConfiguration?.Rule?.DefaultRetention, {
        Mode: "COMPLIANCE",
        Days: 1,
      });
      const r = await s3.send(new PutObjectCommand({ Bucket: L, Key: "defaulted", Body: "d" }));
      const h = await s3.send(new HeadObjectCommand({ Bucket: L, Key: "defaulted" }));
      assertEquals(h.ObjectLockMode, "COMPLIANCE");
      const until = h.ObjectLockRetainUntilDate!.getTime();
      assertOk(
        Math.abs(until - (Date.now() + DAY)) < 60_000,
        `retain-until ${new Date(until).toISOString()}`,
      );
      await assertS3Error(
        s3.send(new DeleteObjectCommand({ Bucket: L, Key: "defaulted", VersionId: r.VersionId })),
        "AccessDenied",
        403,
      );
    },
  );

  await t.step("DeleteBucket - a bucket holding locked versions cannot be deleted", async () => {
    const res = await signedFetch(vault, s3, { method: "DELETE", path: `/${L}` });
    await assertErrorResponse(res, "BucketNotEmpty", 409);
  });

  await t.step("Restart - locks survive a restart and are still enforced", async () => {
    assertEquals(await vault.stop(), 0);
    const { startVault } = await import("../helpers/vault.ts");
    const again = await startVault({ dataDir: vault.dataDir, port: vault.port });
    try {
      await assertS3Error(
        s3.send(new DeleteObjectCommand({ Bucket: L, Key: "backup.bak", VersionId: compliance })),
        "AccessDenied",
        403,
      );
      const versions = await s3.send(
        new ListObjectVersionsCommand({ Bucket: L, Prefix: "backup.bak" }),
      );
      assertOk(versions.Versions?.some((v) => v.VersionId === compliance));
    } finally {
      // Leave a running vault behind for the suite's own stop.
      Object.assign(vault, { stop: () => again.stop(), output: () => again.output() });
    }
  });
});
