/**
 * Conditional GET/HEAD edge cases against RFC 9110 and S3: invalid HTTP dates are ignored, the
 * three HTTP date formats are read as GMT whatever the vault's local time zone.
 *
 * @module
 */
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { assertEquals, randomBytes, signedFetch, vaultSuite } from "../helpers/assert_s3.ts";

const B = "cond-bucket";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const p2 = (n: number) => String(n).padStart(2, "0");
const time = (d: Date) =>
  `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;

/** `Sun Nov  6 08:49:37 1994`: RFC 9110's obsolete asctime() form, always GMT. */
function asctime(d: Date): string {
  const day = d.toUTCString().slice(0, 3);
  const date = String(d.getUTCDate()).padStart(2);
  return `${day} ${MONTHS[d.getUTCMonth()]} ${date} ${time(d)} ${d.getUTCFullYear()}`;
}

/** `Sunday, 06-Nov-94 08:49:37 GMT`: RFC 850 form. */
function rfc850(d: Date): string {
  const days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const yy = p2(d.getUTCFullYear() % 100);
  return `${days[d.getUTCDay()]}, ${p2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${yy} ${
    time(d)
  } GMT`;
}

vaultSuite("GetObject - conditional headers: dates", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: "obj", Body: randomBytes(100, 5) }));
  const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "obj" }));
  const lm = head.LastModified!;
  const get = async (headers: Record<string, string>) => {
    const res = await signedFetch(vault, s3, { method: "GET", path: `/${B}/obj`, headers });
    await res.arrayBuffer();
    return res.status;
  };

  await t.step("GetObject - an If-Unmodified-Since that is no HTTP date is ignored", async () => {
    // RFC 9110 13.1.4: "A recipient MUST ignore the If-Unmodified-Since header field if the
    // received field value is not a valid HTTP-date". Date.parse reads "1" as 2001-01-01.
    assertEquals(
      [await get({ "if-unmodified-since": "1" }), await get({ "if-unmodified-since": "2020" })],
      [200, 200],
    );
  });

  await t.step("GetObject - an If-Modified-Since that is no HTTP date is ignored", async () => {
    // "12/31/2099" is no HTTP-date; Date.parse reads it as a date in 2099, so the vault says 304.
    assertEquals(await get({ "if-modified-since": "12/31/2099" }), 200);
  });

  await t.step("GetObject - If-Modified-Since in RFC 850 and asctime forms", async () => {
    const hourBefore = new Date(lm.getTime() - 3600_000);
    const hourAfter = new Date(lm.getTime() + 3600_000);
    assertEquals(
      [
        await get({ "if-modified-since": rfc850(hourBefore) }),
        await get({ "if-modified-since": rfc850(hourAfter) }),
        await get({ "if-modified-since": asctime(hourBefore) }),
        await get({ "if-modified-since": asctime(hourAfter) }),
      ],
      [200, 304, 200, 304],
    );
  });
});

// asctime() carries no zone and is GMT (RFC 9110 5.6.7); Date.parse reads it in local time.
vaultSuite("GetObject - asctime dates are GMT in any vault time zone", async ({ t, s3, vault }) => {
  await s3.send(new CreateBucketCommand({ Bucket: B }));
  await s3.send(new PutObjectCommand({ Bucket: B, Key: "obj", Body: randomBytes(100, 5) }));
  const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: "obj" }));
  const lm = head.LastModified!;
  await t.step(
    "GetObject - asctime If-Modified-Since an hour before Last-Modified is 200 (TZ=America/New_York)",
    async () => {
      const hourBefore = new Date(lm.getTime() - 3600_000);
      const res = await signedFetch(vault, s3, {
        method: "GET",
        path: `/${B}/obj`,
        headers: { "if-modified-since": asctime(hourBefore) },
      });
      await res.arrayBuffer();
      assertEquals(res.status, 200);
    },
  );
}, { env: { TZ: "America/New_York" } });
