/**
 * What anyone on the network can do with the unsigned endpoints, and what a
 * stored object can do in a browser (session 10 security review): little.
 */
import {
  CreateBucketCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
} from "@aws-sdk/client-s3";
import { assertEquals, assertOk, signedFetch, vaultSuite } from "../helpers/assert_s3.ts";
import { s3For } from "../helpers/s3_client.ts";

const TOKEN = "unsigned-abuse-admin-token-0123456789";

/** Audit records so far, paging GET /admin/audit with the admin token. */
async function auditRecords(endpoint: string): Promise<{ target: string; detail: string }[]> {
  const out: { target: string; detail: string }[] = [];
  let since = 0;
  while (true) {
    const page = await (await fetch(`${endpoint}/admin/audit?since=${since}&limit=1000`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })).json();
    out.push(...page.records);
    if (!page.next) return out;
    since = page.next;
  }
}

vaultSuite("Unsigned endpoints and stored objects", async ({ t, vault, s3 }) => {
  await s3.send(new CreateBucketCommand({ Bucket: "web" }));

  await t.step(
    "Every answer but the console's page is sandboxed: a stored page runs no script and loads nothing",
    async () => {
      await s3.send(
        new PutObjectCommand({
          Bucket: "web",
          Key: "page.html",
          Body: "<script>alert(1)</script>",
          ContentType: "text/html",
        }),
      );
      const answers: [string, Response][] = [];
      for (const path of ["/web/page.html", "/web/missing"]) {
        answers.push([path, await signedFetch(vault, s3, { method: "GET", path })]);
      }
      // The vault's own JSON and text answers too (console review, session 12).
      for (const path of ["/healthz", "/metrics", "/health/buckets"]) {
        answers.push([path, await fetch(`${vault.endpoint}${path}`)]);
      }
      // An admin answer (a refused one would add an audit record the next step counts).
      answers.push([
        "/admin/audit",
        await fetch(`${vault.endpoint}/admin/audit?limit=1`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        }),
      ]);
      for (const [path, res] of answers) {
        await res.body?.cancel();
        // Nothing from elsewhere either: a remote image would tell the writer who opened it.
        assertEquals(
          [res.headers.get("content-security-policy"), res.headers.get("x-content-type-options")],
          ["sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'", "nosniff"],
          path,
        );
      }
    },
  );

  await t.step("POST /approve - a token that does not verify writes no audit record", async () => {
    const before = (await auditRecords(vault.endpoint)).length;
    const filler = "/vault/db.tar?versionId=" + "A".repeat(4000);
    for (let i = 0; i < 20; i++) {
      const res = await fetch(
        `${vault.endpoint}/approve?action=DeleteObject&resource=${encodeURIComponent(filler)}`,
        { method: "POST", headers: { "x-amber-approval": "not-a-token" } },
      );
      assertEquals(res.status, 403, await res.text());
    }
    assertEquals((await auditRecords(vault.endpoint)).length, before);
  });

  await t.step(
    "/admin - refusals of callers with no key: a few a minute in the audit log, cut short",
    async () => {
      const before = (await auditRecords(vault.endpoint)).length;
      const long = "/admin/keys/" + "x".repeat(2000);
      for (let i = 0; i < 40; i++) {
        const res = await fetch(`${vault.endpoint}${long}`, {
          headers: { authorization: "Bearer not-the-token-at-all" },
        });
        assertEquals(res.status, 403, await res.text());
      }
      const added = (await auditRecords(vault.endpoint)).slice(before);
      // At most 10 a minute (two minutes if the minute turned meanwhile).
      assertOk(added.length >= 1 && added.length <= 20, `${added.length} records`);
      assertOk(added.every((r) => r.target.length < 400), added[0]?.target.slice(0, 100));
    },
  );

  await t.step("/health/drives - states, not the paths the drives are mounted at", async () => {
    const body = await (await fetch(`${vault.endpoint}/health/drives`)).json();
    assertEquals(Object.keys(body.drives[0]).sort(), ["index", "owedShards", "state"]);
    assertOk(!JSON.stringify(body).includes(vault.dataDir), JSON.stringify(body));
  });

  await t.step("Signals - requests to buckets that do not exist raise none", async () => {
    const added = await fetch(`${vault.endpoint}/admin/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        accessKey: "writer",
        secretKey: "writer-secret-0123456789",
        level: "write",
      }),
    });
    assertEquals(added.status, 201, await added.text());
    const writer = s3For(vault, {
      credentials: { accessKeyId: "writer", secretAccessKey: "writer-secret-0123456789" },
    });
    try {
      for (let b = 0; b < 5; b++) {
        for (let i = 0; i < 3; i++) {
          await writer.send(
            new PutObjectLegalHoldCommand({
              Bucket: `made-up-${b}`,
              Key: "k",
              LegalHold: { Status: "ON" },
            }),
          ).catch(() => undefined);
        }
      }
    } finally {
      writer.destroy();
    }
    const signals = await (await fetch(`${vault.endpoint}/health/signals`)).json();
    assertEquals(signals.active, []);
    const metrics = await (await fetch(`${vault.endpoint}/metrics`)).text();
    assertOk(!metrics.includes("made-up-"), "no series for a made-up bucket");
  });
}, {
  env: { AMBER_ADMIN_TOKEN: TOKEN, AMBER_SIGNAL_THRESHOLDS: '{"lockChangesPerHour": 2}' },
});
