/**
 * The systemd unit: `systemd-analyze verify` accepts it, its environment
 * matches the one the tests and `deno task start` use, and the vault started
 * with the unit's command line and environment serves and stops cleanly.
 */
import assert from "node:assert/strict";
import { VAULT_ENV } from "../../src/permissions.ts";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";

const UNIT = new URL("../../systemd/amber.service", import.meta.url).pathname;

function unitEntries(text: string, key: string): string[] {
  return text.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) =>
    l.slice(key.length + 1)
  );
}

/**
 * Runs `systemd-analyze <args> <unit>` on a copy of the unit whose ExecStart
 * exists: analysis checks it, and the binary is not installed on a build host.
 */
async function analyze(args: string[]): Promise<Deno.CommandOutput> {
  const dir = await Deno.makeTempDir();
  const unit = (await Deno.readTextFile(UNIT)).replace(
    /^ExecStart=.*$/m,
    "ExecStart=/bin/true serve",
  );
  await Deno.writeTextFile(`${dir}/amber.service`, unit);
  try {
    return await new Deno.Command("systemd-analyze", { args: [...args, `${dir}/amber.service`] })
      .output();
  } catch (e) {
    throw new Error(`systemd-analyze is not available (apt-get install systemd): ${e}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("systemd unit - systemd-analyze verify accepts it", async () => {
  const out = await analyze(["verify"]);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.ok(!/amber\.service:\d+/.test(stderr), `verify reported problems in the unit:\n${stderr}`);
});

Deno.test("systemd unit - systemd-analyze security scores its exposure at 1.5 or better", async () => {
  const out = await analyze(["security", "--offline=yes"]);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const score = /Overall exposure level for amber\.service: (\d+\.\d+)/.exec(text);
  assert.ok(score, text);
  // README.md ("The systemd unit's security score") records this figure; tighten, never loosen.
  assert.ok(Number(score[1]) <= 1.5, `exposure ${score[1]} is above 1.5:\n${text}`);
});

Deno.test("systemd unit - runs as the user install.sh creates", async () => {
  const unit = await Deno.readTextFile(UNIT);
  const install = await Deno.readTextFile(new URL("../../install.sh", import.meta.url));
  assert.deepEqual(unitEntries(unit, "User"), ["amber"]);
  assert.deepEqual(unitEntries(unit, "Group"), ["amber"]);
  assert.match(install, /useradd --system --user-group .* amber\n/s);
});

Deno.test("systemd unit - hardening directives and the allocator environment are in place", async () => {
  const unit = await Deno.readTextFile(UNIT);
  for (const [k, v] of Object.entries(VAULT_ENV)) {
    assert.ok(
      unitEntries(unit, "Environment").includes(`${k}=${v}`),
      `Environment=${k}=${v} missing`,
    );
  }
  for (
    const line of [
      "ProtectSystem=strict",
      "ReadWritePaths=/var/lib/amber",
      "NoNewPrivileges=yes",
      "CapabilityBoundingSet=",
      "ProtectHome=yes",
      "PrivateTmp=yes",
      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
      "SystemCallFilter=@system-service @pkey",
      "Restart=on-failure",
    ]
  ) assert.ok(unit.split("\n").includes(line), `${line} missing`);
  assert.ok(unitEntries(unit, "Environment").includes("AMBER_DATA_DIR=/var/lib/amber"));
});

Deno.test({
  name:
    "systemd unit - the vault starts with the unit's arguments and environment and stops on SIGTERM",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const unit = await Deno.readTextFile(UNIT);
    const env = Object.fromEntries(
      unitEntries(unit, "Environment").map((e) => e.split("=", 2) as [string, string])
        .filter(([k]) => k !== "AMBER_DATA_DIR"), // a temporary dir stands in for /var/lib/amber
    );
    const args = unitEntries(unit, "ExecStart")[0].split(" ").slice(1);
    assert.deepEqual(args, ["serve"]);
    const vault = await startVault({ env, args });
    const health = await fetch(`${vault.endpoint}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
    assert.equal(await vault.stop(), 0);
  },
});

/** The system calls the unit's `SystemCallFilter=` groups allow, expanded as systemd does. */
async function allowedSyscalls(unit: string): Promise<string[]> {
  const listing = await new Deno.Command("systemd-analyze", { args: ["syscall-filter"] }).output();
  const groups = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of new TextDecoder().decode(listing.stdout).split("\n")) {
    const s = line.trim();
    if (line.startsWith("@")) groups.set(s, current = []);
    else if (s !== "" && !s.startsWith("#")) current?.push(s);
  }
  const expand = (name: string): string[] =>
    name.startsWith("@") ? (groups.get(name) ?? []).flatMap(expand) : [name];
  const filter = unitEntries(unit, "SystemCallFilter").flatMap((v) => v.split(/\s+/));
  return [...new Set(filter.flatMap(expand))];
}

Deno.test({
  name:
    "systemd unit - the vault serves and stops under the unit's system call filter (any other call kills it)",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const unit = await Deno.readTextFile(UNIT);
    const dir = await Deno.makeTempDir();
    try {
      const allowed = await allowedSyscalls(unit);
      assert.ok(allowed.length > 300, `systemd-analyze syscall-filter listed ${allowed.length}`);
      await Deno.writeTextFile(`${dir}/allowed.txt`, allowed.join("\n"));
      const libseccomp = "/usr/lib/x86_64-linux-gnu/libseccomp.so.2";
      const cc = await new Deno.Command("gcc", {
        args: [
          "-O1",
          "-o",
          `${dir}/filter`,
          new URL("./seccomp_allowlist.c", import.meta.url).pathname,
          libseccomp,
        ],
      }).output().catch((e) => {
        throw new Error(`gcc is needed to build the filter (apt-get install gcc): ${e}`);
      });
      assert.equal(
        cc.code,
        0,
        `building the filter (needs ${libseccomp}):\n${new TextDecoder().decode(cc.stderr)}`,
      );
      const vault = await startVault({
        args: ["serve"],
        wrap: [`${dir}/filter`, `${dir}/allowed.txt`],
      });
      try {
        const s3 = s3For(vault);
        await s3.send(new CreateBucketCommand({ Bucket: "filtered" }));
        const body = new Uint8Array(3 * 1024 * 1024).fill(7);
        await s3.send(new PutObjectCommand({ Bucket: "filtered", Key: "k", Body: body }));
        const got = await s3.send(new GetObjectCommand({ Bucket: "filtered", Key: "k" }));
        assert.equal((await got.Body!.transformToByteArray()).length, body.length);
        s3.destroy();
      } finally {
        assert.equal(await vault.stop(), 0, vault.output());
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
