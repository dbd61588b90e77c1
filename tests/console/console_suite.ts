/**
 * The web console in headless Chromium (Debian `chromium`), driven over the
 * DevTools protocol: sign-in, an Object Lock bucket with a COMPLIANCE-locked
 * version and a delete marker, the versions table's lock columns, a refused
 * delete, the legal hold and retention actions and the operator panels.
 * Screenshots go to tests/console/artifacts/ (gitignored); their paths are
 * printed. Run with `deno task test:clients --only=console`.
 *
 * @module
 */

import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { addAccessKey, check, type Suite, type Target } from "../clients/lib.ts";
import { type BrowserPage, launchChromium } from "./cdp.ts";

const ARTIFACTS = new URL("./artifacts/", import.meta.url).pathname;
const DAY_MS = 86_400_000;

/** The fixture every case browses: one Object Lock bucket under `db/`. */
interface Fixture {
  bucket: string;
  lockedVersion: string;
  retainUntil: Date;
  markerVersion: string;
}

/** A managed access key the console signs in with. */
interface ConsoleKey {
  id: string;
  secret: string;
}

/** How the console prints a time (ISO without milliseconds, space instead of T). */
function shown(d: Date): string {
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** The fixture's quota and freshness rule, for the health column and panel. */
const FIXTURE_POLICY = {
  quota: { hardBytes: 1024 * 1024 },
  freshness: [{ prefix: "db/", everyHours: 26, minBytes: 1 }],
};

async function createFixture(s3: S3Client, t: Target): Promise<Fixture> {
  const bucket = `console-lock-${crypto.randomUUID().slice(0, 8)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
  check(t.adminToken, "the console suite needs Amber's admin token (AMBER_ADMIN_TOKEN)");
  const policy = await fetch(`${t.endpoint}/admin/buckets/${bucket}/policy`, {
    method: "PUT",
    headers: { authorization: `Bearer ${t.adminToken}` },
    body: JSON.stringify(FIXTURE_POLICY),
  });
  check(policy.ok, `setting the bucket policy: ${policy.status} ${await policy.text()}`);
  const retainUntil = new Date(Math.floor((Date.now() + 2 * DAY_MS) / 1000) * 1000);
  const locked = await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: "db/full-backup.tar",
      Body: "nightly full backup",
      ObjectLockMode: "COMPLIANCE",
      ObjectLockRetainUntilDate: retainUntil,
    }),
  );
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "db/old-log.txt", Body: "old" }));
  const marker = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "db/old-log.txt" }));
  check(marker.DeleteMarker === true, "the fixture's DELETE made no delete marker");
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "readme.txt", Body: "top level" }));
  return {
    bucket,
    lockedVersion: locked.VersionId ?? "",
    retainUntil,
    markerVersion: marker.VersionId ?? "",
  };
}

/** The SDK's address of the fixture's locked version. */
const lockedObject = (f: Fixture) => ({
  Bucket: f.bucket,
  Key: "db/full-backup.tar",
  VersionId: f.lockedVersion,
});

/** Waits for the row's action outcome and checks it reads as refused by the vault with AccessDenied. */
async function expectRefused(page: BrowserPage, r: string, what: string): Promise<void> {
  await page.waitFor(`${r}.querySelector(".outcome").textContent`, `the outcome of ${what}`);
  const result = await page.evaluate<{ cls: string; text: string }>(
    `({ cls: ${r}.querySelector(".outcome").className, text: ${r}.querySelector(".outcome").textContent })`,
  );
  check(
    result.cls.includes("refused") &&
      result.text.startsWith("Refused by the vault: AccessDenied: "),
    `${what} was not shown as refused with its S3 code: ${JSON.stringify(result)}`,
  );
}

const row = (versionId: string) =>
  `document.querySelector('#versions tr[data-version-id="${versionId}"]')`;

/**
 * Builds the console suite.
 *
 * @param t The vault and credentials.
 * @returns The suite (its binary is Debian's `chromium`).
 */
export function consoleSuite(t: Target): Suite {
  let s3: S3Client | undefined;
  let fixture: Fixture | undefined;
  const client = () =>
    s3 ??= new S3Client({
      endpoint: t.endpoint,
      region: t.region,
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: t.accessKey, secretAccessKey: t.secretKey },
    });
  const fix = async () => fixture ??= await createFixture(client(), t);

  /** Runs `fn` against a fresh browser; on failure saves a screenshot of the state it failed in. */
  async function inBrowser(name: string, fn: (page: BrowserPage) => Promise<void>) {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const page = await launchChromium();
    try {
      await fn(page);
      const problems = page.log().filter((l) =>
        /exception|Content Security Policy|Refused to/i.test(l)
      );
      check(problems.length === 0, `the page reported problems:\n${problems.join("\n")}`);
    } catch (e) {
      const path = `${ARTIFACTS}${name}-FAILED.png`;
      await page.screenshot(path).catch(() => undefined);
      console.log(`      screenshot of the failure: ${path}`);
      throw e;
    } finally {
      await page.close();
    }
  }
  async function shot(page: BrowserPage, file: string) {
    const path = `${ARTIFACTS}${file}`;
    await page.screenshot(path);
    console.log(`      screenshot: ${path}`);
  }
  async function signIn(
    page: BrowserPage,
    secret = t.secretKey,
    accessKey = t.accessKey,
  ) {
    await page.goto(`${t.endpoint}/`);
    await page.waitFor(`document.querySelector("#access-key")`, "the sign-in form");
    await page.type("#access-key", accessKey);
    await page.type("#secret-key", secret);
    await page.evaluate(`document.querySelector("#region").value = ${JSON.stringify(t.region)}`);
    await page.click("#signin-submit");
  }
  async function openLockedBucket(page: BrowserPage, f: Fixture, key?: ConsoleKey) {
    await signIn(page, key?.secret, key?.id);
    await page.waitFor(
      `document.querySelector('#bucket-table tr[data-bucket="${f.bucket}"] button')`,
      "the bucket list",
    );
    await page.click(`#bucket-table tr[data-bucket="${f.bucket}"] button`);
    await page.waitFor(`document.querySelector("button.folder")`, "the db/ folder");
    await page.click("button.folder");
    await page.waitFor(
      `${row(f.lockedVersion)}?.querySelector(".lock-mode").textContent.includes("COMPLIANCE")`,
      "the locked version's lock mode",
    );
  }

  /** A case that starts in the fixture's `db/` versions table; `r` selects the locked version's row. */
  const lockedBucketCase = (
    name: string,
    artefact: string,
    body: (page: BrowserPage, f: Fixture, r: string) => Promise<void>,
  ) => ({
    name,
    fn: () =>
      inBrowser(artefact, async (page) => {
        const f = await fix();
        await openLockedBucket(page, f);
        await body(page, f, row(f.lockedVersion));
      }),
  });

  return {
    client: "console",
    bin: "chromium",
    pkg: "chromium",
    cases: [
      {
        name:
          "Web console - sign-in: a wrong secret is refused, the right one lists the buckets with versioning, lock and health",
        fn: () =>
          inBrowser("01-sign-in", async (page) => {
            const f = await fix();
            await signIn(page, "not-the-secret");
            await page.waitFor(
              `document.querySelector("#signin-error").textContent.includes("SignatureDoesNotMatch")`,
              "the refused sign-in",
            );
            await shot(page, "01-sign-in-refused.png");
            const stored = await page.evaluate<number>(
              "sessionStorage.length + localStorage.length",
            );
            check(stored === 0, "a refused sign-in left credentials in storage");
            await page.evaluate(`document.querySelector("#secret-key").value = ""`);
            await page.type("#secret-key", t.secretKey);
            await page.click("#signin-submit");
            const bucketRow = `#bucket-table tr[data-bucket="${f.bucket}"]`;
            await page.waitFor(
              `document.querySelector('${bucketRow} .lock')?.textContent.includes("Enabled") && ` +
                `document.querySelector('${bucketRow} .versioning')?.textContent === "Enabled" && ` +
                `document.querySelector('${bucketRow} .health .health-state')`,
              "the bucket's versioning and Object Lock state",
            );
            const where = await page.evaluate<{ session: string | null; local: number }>(
              `({ session: sessionStorage.getItem("amber.console.credentials"), local: localStorage.length })`,
            );
            check(
              where.session?.includes(t.secretKey) && where.local === 0,
              `credentials are not kept in sessionStorage only: ${JSON.stringify(where)}`,
            );
            const health = await page.evaluate<string>(
              `document.querySelector('${bucketRow} .health')?.textContent ?? ""`,
            );
            check(
              /^(ok|late|too-small|over-quota)\d+ B of 1\.0 MiB \(0 %\)/.test(health),
              `the bucket's health and usage vs quota: "${health}"`,
            );
            await shot(page, "02-buckets.png");
          }),
      },
      {
        name:
          "Web console - ListObjectVersions of an Object Lock bucket: COMPLIANCE mode, retain-until and a delete marker explained",
        fn: () =>
          inBrowser("03-versions", async (page) => {
            const f = await fix();
            await openLockedBucket(page, f);
            const locked = await page.evaluate<Record<string, string>>(
              `(() => { const r = ${row(f.lockedVersion)}; return {
                key: r.dataset.key, kind: r.dataset.kind,
                mode: r.querySelector(".lock-mode").textContent,
                until: r.querySelector(".retain-until").textContent,
                hold: r.querySelector(".legal-hold").textContent }; })()`,
            );
            check(locked.key === "db/full-backup.tar", `wrong row: ${JSON.stringify(locked)}`);
            check(locked.mode === "COMPLIANCE", `lock mode shown: ${locked.mode}`);
            check(
              locked.until.startsWith(shown(f.retainUntil)),
              `retain-until shown "${locked.until}", expected ${shown(f.retainUntil)}`,
            );
            check(locked.hold === "OFF", `legal hold shown: ${locked.hold}`);
            const marker = await page.evaluate<Record<string, string>>(
              `(() => { const r = ${row(f.markerVersion)}; return r && {
                key: r.dataset.key, kind: r.dataset.kind, text: r.textContent,
                note: document.querySelector("#marker-note")?.textContent ?? "" }; })()`,
            );
            check(marker, "the delete marker has no row in the versions table");
            check(
              marker.key === "db/old-log.txt" && marker.kind === "delete-marker" &&
                marker.text.includes("DELETE MARKER") && marker.text.includes("Not a lock failure"),
              `delete marker row: ${JSON.stringify(marker)}`,
            );
            check(
              marker.note.includes("not a broken lock"),
              `no explanation of delete markers: ${marker.note}`,
            );
            const versionsOfOldLog = await page.evaluate<number>(
              `document.querySelectorAll('#versions tr[data-key="db/old-log.txt"]').length`,
            );
            check(versionsOfOldLog === 2, `db/old-log.txt shows ${versionsOfOldLog} rows, not 2`);
            await shot(page, "03-versions.png");
          }),
      },
      lockedBucketCase(
        "Web console - DeleteObject of a COMPLIANCE-locked version is shown as refused with AccessDenied",
        "04-delete-refused",
        async (page, f, r) => {
          await page.evaluate(`${r}.querySelector("button.delete").click()`);
          await page.evaluate(`${r}.querySelector("button.confirm-delete").click()`);
          await expectRefused(page, r, "the COMPLIANCE-locked version's delete");
          const still = await client().send(
            new HeadObjectCommand(lockedObject(f)),
          );
          check(still.ObjectLockMode === "COMPLIANCE", "the locked version is gone");
          await shot(page, "04-delete-refused.png");
        },
      ),
      lockedBucketCase(
        "Web console - PutObjectLegalHold and PutObjectRetention (a later date) from the versions table",
        "05-hold-and-extend",
        async (page, f, r) => {
          await page.evaluate(`${r}.querySelector("button.legal-hold-toggle").click()`);
          await page.waitFor(
            `${r}.querySelector(".legal-hold").textContent === "ON" && ` +
              `${r}.querySelector(".outcome.done")`,
            "the legal hold shown ON",
          );
          const hold = await client().send(
            new GetObjectLegalHoldCommand(lockedObject(f)),
          );
          check(hold.LegalHold?.Status === "ON", `legal hold is ${hold.LegalHold?.Status}`);

          await page.evaluate(`${r}.querySelector("button.extend").click()`);
          // datetime-local is local time: five days after the current retain-until.
          await page.evaluate(
            `(() => { const d = new Date(${f.retainUntil.getTime() + 5 * DAY_MS});
                const local = new Date(d.getTime() - d.getTimezoneOffset() * 60000);
                ${r}.querySelector(".retain-input").value = local.toISOString().slice(0, 16); })()`,
          );
          await page.evaluate(`${r}.querySelector("button.apply-retention").click()`);
          await page.waitFor(
            `${r}.querySelector(".outcome.done")?.textContent.includes("Retention set")`,
            "the retention extension",
          );
          const retention = await client().send(
            new GetObjectRetentionCommand(lockedObject(f)),
          );
          const until = retention.Retention?.RetainUntilDate?.getTime() ?? 0;
          check(
            retention.Retention?.Mode === "COMPLIANCE" &&
              until >= f.retainUntil.getTime() + 5 * DAY_MS - 60_000,
            `retention after extending: ${JSON.stringify(retention.Retention)}`,
          );
          await shot(page, "05-legal-hold-and-extended-retention.png");
          // Later cases see the extended date.
          f.retainUntil = new Date(until);
        },
      ),
      {
        name:
          "Web console - a read-level key browses the locked bucket; its PutObjectLegalHold and the audit log are refused",
        fn: () =>
          inBrowser("06-read-key", async (page) => {
            const f = await fix();
            const reader = { id: "console-reader", secret: "console-reader-secret-0123" };
            await addAccessKey(t, { ...reader, level: "read" });
            const before = await client().send(new GetObjectLegalHoldCommand(lockedObject(f)))
              .then((h) => h.LegalHold?.Status, () => "OFF");
            await openLockedBucket(page, f, reader);
            const r = row(f.lockedVersion);
            await page.evaluate(`${r}.querySelector("button.legal-hold-toggle").click()`);
            await expectRefused(page, r, "the read key's legal hold");
            const after = await client().send(new GetObjectLegalHoldCommand(lockedObject(f)));
            check(
              after.LegalHold?.Status === before,
              `a read key changed the legal hold from ${before} to ${after.LegalHold?.Status}`,
            );
            await page.waitFor(
              `document.querySelector("#panel-audit .outcome.refused")?.textContent.includes("403")`,
              "the audit panel's refusal for a read key",
            );
            await shot(page, "06-read-key-refused.png");
          }),
      },
      {
        name:
          "Web console - an unversioned bucket without Object Lock, then sign-out forgets the key",
        fn: () =>
          inBrowser("07-plain-bucket", async (page) => {
            const bucket = `console-plain-${crypto.randomUUID().slice(0, 8)}`;
            await client().send(new CreateBucketCommand({ Bucket: bucket }));
            await client().send(
              new PutObjectCommand({ Bucket: bucket, Key: "notes.txt", Body: "plain" }),
            );
            await signIn(page);
            const bucketRow = `#bucket-table tr[data-bucket="${bucket}"]`;
            await page.waitFor(
              `document.querySelector('${bucketRow} .versioning')?.textContent === "Never enabled" && ` +
                `document.querySelector('${bucketRow} .lock')?.textContent === "Off"`,
              "the plain bucket's versioning and Object Lock state",
            );
            await page.click(`${bucketRow} button`);
            const r = `document.querySelector('#versions tr[data-key="notes.txt"]')`;
            await page.waitFor(
              `${r}?.querySelector(".lock-mode").textContent === "none"`,
              "the row",
            );
            const seen = await page.evaluate<
              { version: string; marker: boolean; buttons: string[] }
            >(
              `({ version: ${r}.dataset.versionId, marker: !!document.querySelector("#marker-note"),
                  buttons: [...${r}.querySelectorAll("button")].map((b) => b.textContent) })`,
            );
            check(
              seen.version === "null" && !seen.marker &&
                JSON.stringify(seen.buttons) === '["Delete version"]',
              `unversioned row: ${JSON.stringify(seen)}`,
            );
            await shot(page, "07-plain-bucket.png");
            await page.click("#signout");
            await page.waitFor(
              `document.readyState === "complete" && !document.querySelector("#signin").hidden`,
              "the sign-in form after signing out",
            );
            const left = await page.evaluate<number>("sessionStorage.length");
            check(left === 0, "sign-out left the credentials in sessionStorage");
          }),
      },
      {
        name:
          "Web console - operator panels: /healthz, clock guard, usage vs quota and freshness, signals, the audit log; a missing endpoint shown as not available",
        fn: () =>
          inBrowser("08-operations", async (page) => {
            const f = await fix();
            await signIn(page);
            await page.waitFor(
              `document.querySelector("#healthz-state")?.textContent === "ok"`,
              "/healthz ok",
            );
            for (const id of ["clock", "storage", "usage", "drives", "signals", "audit"]) {
              await page.waitFor(
                `!document.querySelector("#panel-${id} .body").textContent.includes("Sign in to load")`,
                `the ${id} panel`,
              );
            }
            const panels = await page.evaluate<Record<string, string>>(
              `Object.fromEntries([...document.querySelectorAll("#ops .panel")].map((p) => [p.id, p.querySelector(".body").textContent]))`,
            );
            check(
              panels["panel-clock"].includes("steady"),
              `clock panel: ${panels["panel-clock"]}`,
            );
            for (const [id, text] of Object.entries(panels)) {
              check(
                !text.includes("[object "),
                `the ${id} panel renders an object as text: ${text}`,
              );
            }
            const usage = await page.evaluate<string>(
              `document.querySelector('#health-table tr[data-bucket="${f.bucket}"]')?.textContent ?? ""`,
            );
            check(
              usage.includes("of 1.0 MiB") && usage.includes("db/: last backup"),
              `the usage panel's row for the fixture: "${usage}"`,
            );
            const signals = panels["panel-signals"];
            check(
              signals.includes("No signal is active") || signals.includes("since"),
              `the signals panel shows neither a quiet vault nor alerts: ${signals}`,
            );
            const drives = panels["panel-drives"];
            check(
              drives.startsWith("From /") || drives.includes("Not available on this vault"),
              `the drives panel neither shows its endpoint's data nor says it is not available: ${drives}`,
            );
            // The root key is owner-level, so it reads the audit log: the fixture's writes are in it.
            const audit = await page.evaluate<{ summary: string; rows: string }>(
              `({ summary: document.querySelector("#audit-summary")?.textContent ?? "",
                  rows: document.querySelector("#audit-records")?.textContent ?? "" })`,
            );
            check(
              audit.summary.startsWith("Latest ") && audit.rows.includes(f.bucket),
              `the audit panel does not show the fixture's records: ${panels["panel-audit"]}`,
            );
            await page.evaluate(`document.querySelector("#ops").scrollIntoView()`);
            await shot(page, "08-operations.png");
          }),
      },
      {
        name:
          "Web console - an HTML object a writer stored cannot run script on the console's origin (its credentials)",
        async fn() {
          // Any key that may write could store this, the backup job's append key too, and then
          // send the administrator a link to it.
          const f = await fix();
          const payload = `<!doctype html><title>report</title><script>
            document.title = "RAN " + (sessionStorage.getItem("amber.console.credentials") ?? "");
          </script>`;
          await client().send(
            new PutObjectCommand({
              Bucket: f.bucket,
              Key: "report.html",
              Body: payload,
              ContentType: "text/html",
            }),
          );
          const url = await getSignedUrl(
            client(),
            new GetObjectCommand({ Bucket: f.bucket, Key: "report.html" }),
            { expiresIn: 3600 },
          );
          const page = await launchChromium();
          try {
            await signIn(page);
            await page.waitFor(`document.querySelector("#bucket-table tr")`, "the bucket list");
            await page.goto(url); // in the tab that holds the credentials
            const title = await page.evaluate<string>("document.title");
            check(title === "report", `the object's script ran: title "${title}"`);
          } finally {
            await page.close();
          }
        },
      },
      {
        name:
          "Web console - a key with a zero-width or text-reordering character is drawn unlike the key it imitates",
        fn: () =>
          inBrowser("08-lookalike-keys", async (page) => {
            const real = "full-backup.tar";
            // Any writer, an append key too, may store such a lookalike beside the real key.
            const keys = [real, real + "\u200b", "\u202erat.pukcab-lluf"];
            await client().send(new CreateBucketCommand({ Bucket: "lookalike" }));
            for (const Key of keys) {
              await client().send(new PutObjectCommand({ Bucket: "lookalike", Key, Body: Key }));
            }
            await signIn(page);
            await page.waitFor(
              `document.querySelector('#bucket-table tr[data-bucket="lookalike"] button')`,
              "the bucket list",
            );
            await page.click(`#bucket-table tr[data-bucket="lookalike"] button`);
            await page.waitFor(
              `document.querySelectorAll("#versions tbody tr").length === 3`,
              "the three keys",
            );
            const drawn = await page.evaluate<string[]>(
              `Array.from(document.querySelectorAll("#versions tbody tr td:first-child code"))
                .map((c) => c.innerText)`,
            );
            const visible = (s: string) => s.replace(/[\u200b-\u200f\u202a-\u202e\ufeff]/g, "");
            check(
              drawn.filter((d) => visible(d) === real).length === 1,
              `a lookalike is drawn as "${real}": ${JSON.stringify(drawn)}`,
            );
            check(
              drawn.some((d) => d.includes("U+202E")),
              `the right-to-left override is not named: ${JSON.stringify(drawn)}`,
            );
          }),
      },
    ],
  };
}
