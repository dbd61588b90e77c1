/**
 * Start-up as an operator meets it: configuration errors, the vault key, and
 * the generated root credential.
 */
import { ListBucketsCommand, S3Client } from "@aws-sdk/client-s3";
import { assertEquals, assertOk, assertS3Error } from "../helpers/assert_s3.ts";
import { runVaultUntilExit, startVault } from "../helpers/vault.ts";

function listing(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of Deno.readDirSync(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) walk(p);
      else {
        const st = Deno.statSync(p);
        out.push(`${p} ${st.size} ${st.mtime?.getTime()}`);
      }
    }
  };
  walk(dir);
  return out.sort().join("\n");
}

Deno.test("Start-up - every bad setting is reported in one line, and the vault exits non-zero", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "amber-test-" });
  const r = await runVaultUntilExit({
    dataDir,
    args: ["--log-level", "loud"],
    env: { AMBER_REGION: "Not A Region", AMBER_ACCESS_KEY: "onlyhalf" },
  });
  assertEquals(r.code, 1);
  const lines = r.stderr.trim().split("\n");
  assertEquals(lines.length, 3, r.stderr);
  assertOk(lines.some((l) => l.includes("--log-level") && l.includes('"loud"')), r.stderr);
  assertOk(lines.some((l) => l.includes("AMBER_REGION")), r.stderr);
  assertOk(lines.some((l) => l.includes("AMBER_SECRET_KEY")), r.stderr);
  assertOk(!r.stderr.includes("    at "), "no stack trace");
  await Deno.remove(dataDir, { recursive: true });
});

Deno.test({
  name: "Start-up - a generated root credential is printed once, works, and survives a restart",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const noRoot = { AMBER_ACCESS_KEY: "", AMBER_SECRET_KEY: "", AMBER_VAULT_KEY: "" };
    const vault = await startVault({ env: noRoot });
    const out = vault.output();
    const accessKeyId = /AWS_ACCESS_KEY_ID=(\S+)/.exec(out)?.[1];
    const secretAccessKey = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(out)?.[1];
    assertOk(accessKeyId && secretAccessKey, out);
    assertOk(
      out.includes("WARNING: AMBER_VAULT_KEY is not set"),
      "the demo key is announced loudly",
    );
    const client = (secret: string) =>
      new S3Client({
        endpoint: vault.endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: accessKeyId!, secretAccessKey: secret },
      });
    const good = client(secretAccessKey!);
    await good.send(new ListBucketsCommand({}));
    const bad = client("wrong-secret-0000000000");
    await assertS3Error(bad.send(new ListBucketsCommand({})), "SignatureDoesNotMatch", 403);
    await assertS3Error(unsignedListBuckets(vault.endpoint), "AccessDenied", 403);
    assertEquals(await vault.stop(), 0);

    const again = await startVault({ dataDir: vault.dataDir, port: vault.port, env: noRoot });
    assertOk(
      !again.output().includes("AWS_SECRET_ACCESS_KEY"),
      "the secret is printed only on first start",
    );
    await good.send(new ListBucketsCommand({}));
    good.destroy();
    bad.destroy();
    assertEquals(await again.stop(), 0);
  },
});

async function unsignedListBuckets(endpoint: string): Promise<never> {
  const r = await fetch(`${endpoint}/`);
  const text = await r.text();
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1];
  throw Object.assign(new Error(text), {
    name: code,
    Code: code,
    $metadata: { httpStatusCode: r.status },
  });
}

Deno.test({
  name: "Start-up - a wrong vault key refuses to start and touches nothing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const vault = await startVault({ env: { AMBER_VAULT_KEY: "the right key" } });
    assertEquals(await vault.stop(), 0);
    const before = listing(vault.dataDir);
    const r = await runVaultUntilExit({
      dataDir: vault.dataDir,
      env: {
        AMBER_VAULT_KEY: "the wrong key",
        AMBER_ACCESS_KEY: "AKTEST",
        AMBER_SECRET_KEY: "secret-secret",
      },
    });
    assertEquals(r.code, 1, r.stderr);
    assertOk(r.stderr.includes("the vault key (AMBER_VAULT_KEY) is wrong"), r.stderr);
    assertOk(!r.stderr.includes("    at "), "no stack trace");
    assertEquals(listing(vault.dataDir), before, "nothing in the data dir changed");
    const ok = await startVault({
      dataDir: vault.dataDir,
      env: { AMBER_VAULT_KEY: "the right key" },
    });
    assertEquals(await ok.stop(), 0);
  },
});

Deno.test("Start-up - a new vault refuses a vault key under 12 characters, in one line, creating nothing", async () => {
  const parent = await Deno.makeTempDir({ prefix: "amber-test-" });
  const dataDir = `${parent}/vault`;
  const r = await runVaultUntilExit({ dataDir, env: { AMBER_VAULT_KEY: "hunter2-ok" } });
  assertEquals(r.code, 1, r.stderr);
  assertOk(
    r.stderr.includes(
      "the vault key (AMBER_VAULT_KEY) has 10 characters; a new vault needs at least 12",
    ),
    r.stderr,
  );
  assertOk(!r.stderr.includes("    at "), "no stack trace");
  assertEquals([...Deno.readDirSync(parent)].map((e) => e.name), [], "no data dir was made");
  await Deno.remove(parent, { recursive: true });
});

Deno.test("Start-up - a data dir or port outside the sandbox is refused with the compile.sh flag to rebuild with", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "amber-test-" });
  const port = await runVaultUntilExit({ dataDir, args: ["--port", "1"] });
  assertEquals(port.code, 1, port.stderr);
  assertOk(
    port.stderr.includes("outside this binary's sandbox") && port.stderr.includes("--port"),
    port.stderr,
  );
  assertOk(!port.stderr.includes("    at "), "no stack trace");
  const dir = await runVaultUntilExit({ dataDir, args: ["--data-dir", `${dataDir}-elsewhere`] });
  assertEquals(dir.code, 1, dir.stderr);
  assertOk(
    dir.stderr.includes("outside this binary's sandbox") && dir.stderr.includes("--data-dir"),
    dir.stderr,
  );
  await Deno.remove(dataDir, { recursive: true });
});
