/**
 * compile.sh: the binary gets exactly the sandbox src/permissions.ts gives the
 * tests, from compile.sh's own options and nothing in the build shell, and a
 * refused option stops the build. A stand-in `deno` records what `deno compile`
 * would be given (the real one needs the denort stub, which cannot be fetched
 * here). From the session-11 review: a bad option built a binary with no
 * sandbox flags at all, and AMBER_DRIVES of the build shell was baked in.
 */
import assert from "node:assert/strict";
import { vaultFlags } from "../../src/permissions.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

async function compileWith(args: string[], env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/deno`,
      `#!/bin/bash
if [[ "$1" == compile ]]; then
  printf '%s\\n' "$@" > "${dir}/args"
  while [[ $# -gt 0 ]]; do [[ "$1" == --output ]] && touch "$2"; shift; done
  exit 0
fi
exec "${Deno.execPath()}" "$@"
`,
    );
    await Deno.chmod(`${dir}/deno`, 0o755);
    const out = await new Deno.Command("./compile.sh", {
      args: [...args, "--out", `${dir}/amber`],
      cwd: ROOT,
      env: { ...env, PATH: `${dir}:${Deno.env.get("PATH")}` },
      clearEnv: true,
    }).output();
    const compiled = await Deno.readTextFile(`${dir}/args`).catch(() => undefined);
    return {
      code: out.code,
      stderr: new TextDecoder().decode(out.stderr),
      flags: compiled?.split("\n").filter((a) =>
        a.startsWith("--allow-") || a.startsWith("--deny-")
      ),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("compile.sh - embeds exactly the sandbox of src/permissions.ts, whatever AMBER_* the build shell has", async () => {
  const r = await compileWith(["--data-dir", "/var/lib/amber", "--port", "9000"], {
    AMBER_DRIVES: "/srv/x1,/srv/x2",
    AMBER_EC: "1+1",
    AMBER_ACCESS_KEY: "stray",
  });
  assert.equal(r.code, 0, r.stderr);
  const expected = vaultFlags({ dataDir: "/var/lib/amber", host: "127.0.0.1", port: 9000 })
    .filter((a) => a.startsWith("--allow-") || a.startsWith("--deny-"));
  assert.ok(expected.length > 2);
  assert.deepEqual(r.flags, expected);
});

Deno.test("compile.sh - a refused option stops the build before deno compile", async () => {
  const r = await compileWith(["--port", "99999"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Invalid port "99999"/);
  assert.equal(r.flags, undefined, "deno compile ran");
});
