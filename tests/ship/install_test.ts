/**
 * install.sh against a temporary root (`--prefix`): the files it lays down
 * and their modes, freshly generated secrets the vault accepts, re-running
 * never touching the env file, and `--uninstall` keeping the data; then the
 * real-root path (user, ownership) inside a private mount namespace.
 */
import assert from "node:assert/strict";
import { ListBucketsCommand } from "@aws-sdk/client-s3";
import { loadConfig } from "../../src/config.ts";
import { s3For } from "../helpers/s3_client.ts";
import { startVault } from "../helpers/vault.ts";

const INSTALL = new URL("../../install.sh", import.meta.url).pathname;
const UNIT = new URL("../../systemd/amber.service", import.meta.url).pathname;

/** Runs install.sh with POSIX `sh` (dash on Debian), never against the real root. */
async function install(args: string[]): Promise<{ code: number; out: string }> {
  assert.ok(args.includes("--prefix"), "a test must never install into /");
  const r = await new Deno.Command("sh", { args: [INSTALL, ...args], env: { DESTDIR: "" } })
    .output();
  const text = new TextDecoder();
  return { code: r.code, out: text.decode(r.stdout) + text.decode(r.stderr) };
}

/** A stand-in for dist/amber: answers `version` like the real binary. */
async function fakeBinary(dir: string, version: string): Promise<string> {
  const path = `${dir}/amber-${version}`;
  await Deno.writeTextFile(path, `#!/bin/sh\necho "amber ${version}"\n`, { mode: 0o755 });
  return path;
}

function mode(path: string): string {
  return ((Deno.statSync(path).mode ?? 0) & 0o777).toString(8).padStart(4, "0");
}

function envFile(text: string): Map<string, string> {
  return new Map(
    text.split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => {
      const eq = l.indexOf("=");
      return [l.slice(0, eq), l.slice(eq + 1)];
    }),
  );
}

Deno.test({
  name: "install.sh - lays down binary, unit, data dir and a 0600 env file with fresh secrets",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "amber-install-" });
    const root = `${dir}/root`;
    const binary = await fakeBinary(dir, "0.1.0");
    const r = await install([
      "--prefix",
      root,
      "--binary",
      binary,
      "--unit",
      UNIT,
      "--port",
      "9000",
    ]);
    assert.equal(r.code, 0, r.out);

    assert.equal(
      await Deno.readTextFile(`${root}/usr/local/bin/amber`),
      Deno.readTextFileSync(binary),
    );
    assert.equal(mode(`${root}/usr/local/bin/amber`), "0755");
    assert.equal(
      await Deno.readTextFile(`${root}/etc/systemd/system/amber.service`),
      await Deno.readTextFile(UNIT),
    );
    assert.equal(mode(`${root}/etc/systemd/system/amber.service`), "0644");
    assert.equal(mode(`${root}/var/lib/amber`), "0700");
    assert.equal(mode(`${root}/etc/amber`), "0700");
    assert.equal(mode(`${root}/etc/amber/amber.env`), "0600");
    assert.deepEqual(
      [...Deno.readDirSync(`${root}/etc/amber`)].map((e) => e.name),
      ["amber.env"],
      "no temporary file left beside the env file",
    );

    const env = envFile(await Deno.readTextFile(`${root}/etc/amber/amber.env`));
    assert.match(env.get("AMBER_VAULT_KEY") ?? "", /^[0-9a-f]{64}$/);
    assert.match(env.get("AMBER_ADMIN_TOKEN") ?? "", /^[0-9a-f]{64}$/);
    assert.match(env.get("AMBER_ACCESS_KEY") ?? "", /^AMBER[0-9A-F]{16}$/);
    assert.match(env.get("AMBER_SECRET_KEY") ?? "", /^[0-9a-f]{48}$/);
    assert.equal(env.get("AMBER_PORT"), "9000");
    // The vault's own config accepts every generated setting, and a vault started with the env
    // file (but its own port and data dir) answers the generated root credential.
    const config = loadConfig({ args: [], env: (n) => env.get(n), readFile: () => "{}", cwd: "/" });
    assert.equal(config.port, 9000);
    env.delete("AMBER_PORT");
    const vault = await startVault({ env: Object.fromEntries(env) });
    const s3 = s3For(vault, {
      credentials: {
        accessKeyId: env.get("AMBER_ACCESS_KEY")!,
        secretAccessKey: env.get("AMBER_SECRET_KEY")!,
      },
    });
    try {
      assert.deepEqual((await s3.send(new ListBucketsCommand({}))).Buckets ?? [], []);
    } finally {
      s3.destroy();
      assert.equal(await vault.stop(), 0);
    }

    // Printed once, and the steps that need a real root say they were skipped.
    for (const key of ["AMBER_VAULT_KEY", "AMBER_ADMIN_TOKEN", "AMBER_SECRET_KEY"]) {
      assert.ok(r.out.includes(env.get(key)!), `${key} not printed`);
    }
    assert.match(r.out, /skipped: creating system user amber/);
    assert.match(r.out, /skipped: systemctl enable --now amber.service/);

    // A second host gets its own secrets.
    const other = await install(["--prefix", `${dir}/other`, "--binary", binary, "--unit", UNIT]);
    assert.equal(other.code, 0, other.out);
    const otherEnv = envFile(await Deno.readTextFile(`${dir}/other/etc/amber/amber.env`));
    for (const key of ["AMBER_VAULT_KEY", "AMBER_ADMIN_TOKEN", "AMBER_ACCESS_KEY"]) {
      assert.notEqual(otherEnv.get(key), env.get(key), `${key} repeated across installs`);
    }
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("install.sh - re-running upgrades the binary and never rewrites the env file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amber-install-" });
  const root = `${dir}/root`;
  const first = await install(["--prefix", root, "--binary", await fakeBinary(dir, "0.1.0")]);
  assert.equal(first.code, 0, first.out);
  const envBefore = await Deno.readTextFile(`${root}/etc/amber/amber.env`);
  await Deno.writeTextFile(`${root}/var/lib/amber/keyring`, "kept");

  const again = await install(["--prefix", root, "--binary", await fakeBinary(dir, "0.2.0")]);
  assert.equal(again.code, 0, again.out);
  assert.match(again.out, /installed .*amber \(amber 0\.2\.0\)/);
  assert.match(again.out, /kept the existing .*amber\.env/);
  assert.equal(await Deno.readTextFile(`${root}/etc/amber/amber.env`), envBefore);
  assert.equal(mode(`${root}/etc/amber/amber.env`), "0600");
  for (const [k, v] of envFile(envBefore)) {
    if (k !== "AMBER_ACCESS_KEY") assert.ok(!again.out.includes(v), `${k} printed again`);
  }
  assert.match(await Deno.readTextFile(`${root}/usr/local/bin/amber`), /amber 0\.2\.0/);
  assert.equal(await Deno.readTextFile(`${root}/var/lib/amber/keyring`), "kept");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("install.sh - --uninstall removes binary and unit and keeps the data dir and env file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amber-install-" });
  const root = `${dir}/root`;
  assert.equal(
    (await install(["--prefix", root, "--binary", await fakeBinary(dir, "0.1.0")])).code,
    0,
  );
  await Deno.writeTextFile(`${root}/var/lib/amber/keyring`, "kept");
  const envBefore = await Deno.readTextFile(`${root}/etc/amber/amber.env`);

  const r = await install(["--prefix", root, "--uninstall"]);
  assert.equal(r.code, 0, r.out);
  assert.throws(() => Deno.statSync(`${root}/usr/local/bin/amber`), Deno.errors.NotFound);
  assert.throws(
    () => Deno.statSync(`${root}/etc/systemd/system/amber.service`),
    Deno.errors.NotFound,
  );
  assert.equal(await Deno.readTextFile(`${root}/var/lib/amber/keyring`), "kept");
  assert.equal(await Deno.readTextFile(`${root}/etc/amber/amber.env`), envBefore);
  assert.match(r.out, /kept the data dir .*var\/lib\/amber and the env file .*amber\.env/);
  assert.match(r.out, /skipped: systemctl disable --now amber.service/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("install.sh - refuses a bad option, a missing binary or one that does not run, with one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "amber-install-" });
  const root = `${dir}/root`;
  const unknown = await install(["--prefix", root, "--frobnicate"]);
  assert.equal(unknown.code, 1);
  assert.equal(
    unknown.out,
    'install.sh: unknown option "--frobnicate" (see ./install.sh --help)\n',
  );

  const missing = await install(["--prefix", root, "--binary", `${dir}/nope`]);
  assert.equal(missing.code, 1);
  assert.match(missing.out, /^install\.sh: --binary ".*nope" is not a file\n$/);

  const broken = `${dir}/broken`;
  await Deno.writeTextFile(broken, "#!/bin/sh\nexit 126\n", { mode: 0o755 });
  const wrongArch = await install(["--prefix", root, "--binary", broken]);
  assert.equal(wrongArch.code, 1);
  assert.match(wrongArch.out, /does not run on this host \(built for another --target\?\)/);
  assert.throws(() => Deno.statSync(root), Deno.errors.NotFound, "nothing installed");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("install.sh - as root on / (a private mount namespace): creates the user amber and hands it the data dir", async () => {
  assert.equal(
    Deno.uid(),
    0,
    "this test needs root and unshare(1), as on the project's machines, to run install.sh on /",
  );
  const dir = await Deno.makeTempDir({ prefix: "amber-install-" });
  // /etc is a copy (useradd writes there), /usr/local/bin and /var/lib are empty tmpfs; all of it
  // exists only inside the namespace. The marker check refuses to go on against the real /etc.
  const copy = await new Deno.Command("cp", { args: ["-a", "/etc", `${dir}/etc`] }).output();
  assert.equal(copy.code, 0, new TextDecoder().decode(copy.stderr));
  await Deno.writeTextFile(`${dir}/etc/.amber-install-test`, "");
  const binary = await fakeBinary(dir, "0.1.0");
  const script = `set -e
mount --bind "${dir}/etc" /etc
test -f /etc/.amber-install-test
mount -t tmpfs none /usr/local/bin
mount -t tmpfs none /var/lib
sh "${INSTALL}" --binary "${binary}" --unit "${UNIT}"
echo "== modes"
stat -c '%n %U:%G %a' /usr/local/bin/amber /var/lib/amber /etc/amber /etc/amber/amber.env \\
  /etc/systemd/system/amber.service
echo "== user"
getent passwd amber | cut -d: -f1,6,7
echo "== again"
sh "${INSTALL}" --binary "${binary}" --unit "${UNIT}"
echo "== uninstall"
sh "${INSTALL}" --uninstall
ls -d /var/lib/amber /etc/amber/amber.env /usr/local/bin/amber 2>&1 || true
`;
  const r = await new Deno.Command("unshare", {
    args: ["--mount", "--propagation", "private", "sh", "-c", script],
    env: { DESTDIR: "" },
  }).output();
  const text = new TextDecoder();
  const out = text.decode(r.stdout) + text.decode(r.stderr);
  assert.equal(r.code, 0, out);
  const section = (name: string) => out.split(`== ${name}\n`)[1].split("\n==")[0];
  assert.match(out, /^created system user amber$/m);
  assert.match(
    out,
    /skipped: systemctl enable --now amber.service \((systemd is not running|systemctl not found)/,
  );
  assert.deepEqual(section("modes").trim().split("\n"), [
    "/usr/local/bin/amber root:root 755",
    "/var/lib/amber amber:amber 700",
    "/etc/amber root:root 700",
    "/etc/amber/amber.env root:root 600",
    "/etc/systemd/system/amber.service root:root 644",
  ]);
  assert.equal(section("user").trim(), "amber:/var/lib/amber:/usr/sbin/nologin");
  assert.match(section("again"), /^system user amber exists$/m);
  assert.match(section("again"), /kept the existing \/etc\/amber\/amber\.env/);
  assert.match(section("uninstall"), /^\/var\/lib\/amber$/m);
  assert.match(section("uninstall"), /^\/etc\/amber\/amber\.env$/m);
  assert.match(section("uninstall"), /cannot access '\/usr\/local\/bin\/amber'/);
  await Deno.remove(dir, { recursive: true });
});
