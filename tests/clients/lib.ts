/**
 * Shared pieces of the real-client suites: running a client binary with a
 * timeout, making test trees and big random files, and comparing trees.
 *
 * @module
 */

/** Where the suites run and with which credentials. */
export interface Target {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  endpoint: string;
  /** `127.0.0.1:PORT`. */
  hostPort: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** A private temporary directory for this run. */
  workDir: string;
  /** Amber's admin token (`AMBER_ADMIN_TOKEN`), for cases that manage access keys. */
  adminToken?: string;
}

/** One named case of a client suite. */
export interface Case {
  /** `"<client> - <what>"`. */
  name: string;
  fn: () => Promise<void>;
}

/** A client suite: the binary it needs and its cases, run in order. */
export interface Suite {
  client: string;
  /** Absolute path or name of the binary the suite needs, checked before it runs. */
  bin: string;
  /** The Debian package that ships `bin`, for the failure message. */
  pkg: string;
  cases: Case[];
  /** Runs before the cases; may replace the cases (boto3 reports its own). */
  external?: (record: (r: CaseResult) => void) => Promise<void>;
}

/** The outcome of one case. */
export interface CaseResult {
  name: string;
  ok: boolean;
  ms: number;
  detail?: string;
}

/** What a finished command printed. */
export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for {@linkcode run}. */
export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Variables removed from the inherited environment. */
  unset?: string[];
  /** Killed (SIGKILL) after this long. */
  timeoutMs?: number;
}

/** Default command timeout: generous for a 2-core CI machine. */
export const COMMAND_TIMEOUT_MS = 10 * 60_000;

/** Last `n` lines of `s`, for failure messages. */
export function tail(s: string, n = 15): string {
  const lines = s.trimEnd().split("\n");
  return lines.slice(-n).join("\n");
}

function withoutKeys(env: Record<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !keys.includes(k)));
}

/**
 * Runs a command to completion and returns what it printed.
 *
 * @param cmd Binary.
 * @param args Arguments.
 * @param opts Env, cwd, timeout.
 * @returns Exit code, stdout and stderr.
 */
export async function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<Output> {
  const child = new Deno.Command(cmd, {
    args,
    ...(opts.unset?.length
      ? { clearEnv: true, env: { ...withoutKeys(Deno.env.toObject(), opts.unset), ...opts.env } }
      : { env: opts.env }),
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timeoutMs = opts.timeoutMs ?? COMMAND_TIMEOUT_MS;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  try {
    const out = await child.output();
    const dec = new TextDecoder();
    const stdout = dec.decode(out.stdout);
    let stderr = dec.decode(out.stderr);
    if (timedOut) stderr += `\n[killed after ${timeoutMs} ms]`;
    return { code: timedOut ? -1 : out.code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a command and throws when it exits non-zero.
 *
 * @param cmd Binary.
 * @param args Arguments.
 * @param opts Env, cwd, timeout.
 * @returns What it printed.
 */
export async function must(cmd: string, args: string[], opts: RunOptions = {}): Promise<Output> {
  const out = await run(cmd, args, opts);
  if (out.code !== 0) {
    throw new Error(
      `Command failed (exit ${out.code}): ${cmd} ${args.join(" ")}\n` +
        `--- stderr ---\n${tail(out.stderr, 25)}\n--- stdout ---\n${tail(out.stdout, 10)}`,
    );
  }
  return out;
}

/**
 * Adds a managed access key through `/admin/keys` with the vault's admin token.
 *
 * @param t The vault; it must carry the admin token.
 * @param key The key id, its secret and its default level (`read`, `append`, …).
 */
export async function addAccessKey(
  t: Target,
  key: { id: string; secret: string; level: string },
): Promise<void> {
  check(t.adminToken, "this case needs Amber's admin token (AMBER_ADMIN_TOKEN)");
  const added = await fetch(`${t.endpoint}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${t.adminToken}` },
    body: JSON.stringify({ accessKey: key.id, secretKey: key.secret, level: key.level }),
  });
  check(added.status === 201, `adding the key: ${added.status} ${await added.text()}`);
}

/** Throws `message` unless `cond`. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** Whether `bin` can be executed (absolute path or a name on PATH). */
export async function haveBinary(bin: string): Promise<boolean> {
  if (bin.includes("/")) {
    try {
      const st = await Deno.stat(bin);
      return st.isFile;
    } catch {
      return false;
    }
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (!dir) continue;
    try {
      if ((await Deno.stat(`${dir}/${bin}`)).isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** Writes `bytes` random bytes to `path`, streaming 1 MiB at a time. */
export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || "/", { recursive: true });
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const block = new Uint8Array(1 << 20);
    let left = bytes;
    while (left > 0) {
      const n = Math.min(left, block.length);
      for (let off = 0; off < n; off += 65536) {
        crypto.getRandomValues(block.subarray(off, Math.min(off + 65536, n)));
      }
      let w = 0;
      while (w < n) w += await f.write(block.subarray(w, n));
      left -= n;
    }
  } finally {
    f.close();
  }
}

/** Hex SHA-256 of a file. */
export async function sha256File(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  const d = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Deterministic pseudo-random bytes (xorshift32), so trees are reproducible. */
export function pseudoRandom(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Relative paths of a test tree: nested dirs, an empty file, and names with
 * spaces, `+`, `=`, and non-ASCII characters that real clients encode in
 * different ways.
 */
export function treePaths(n: number): string[] {
  const special = [
    "empty.txt",
    "with space/file name.txt",
    "plus+sign.txt",
    "equals=and&amp.txt",
    "ünïcødé/日本語.txt",
    "deep/a/b/c/d/leaf.bin",
  ];
  const paths = [...special];
  for (let i = 0; paths.length < n; i++) paths.push(`dir${i % 5}/sub${i % 3}/file-${i}.dat`);
  return paths;
}

/**
 * Creates a tree of `n` files under `root` with sizes from 0 to ~300 KiB.
 *
 * @param root Directory to fill (created).
 * @param n Number of files.
 * @param seed Content seed.
 * @returns The relative paths written.
 */
export async function makeTree(root: string, n: number, seed = 1): Promise<string[]> {
  const paths = treePaths(n);
  for (const [i, rel] of paths.entries()) {
    const full = `${root}/${rel}`;
    await Deno.mkdir(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    const size = rel === "empty.txt" ? 0 : ((i * 7919) % 300) * 1024 + (i % 97);
    await Deno.writeFile(full, pseudoRandom(seed * 1000 + i, size));
  }
  return paths;
}

/** Lists the files under `root` as sorted relative paths. */
export async function listTree(root: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(rel ? `${root}/${rel}` : root)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await listTree(root, p));
    else out.push(p);
  }
  return out.sort();
}

/**
 * Compares two trees file by file.
 *
 * @param a Expected tree.
 * @param b Actual tree.
 * @throws {Error} Naming missing, extra and differing files.
 */
export async function assertSameTree(a: string, b: string): Promise<void> {
  const [la, lb] = [await listTree(a), await listTree(b)];
  const sb = new Set(lb);
  const sa = new Set(la);
  const missing = la.filter((p) => !sb.has(p));
  const extra = lb.filter((p) => !sa.has(p));
  const differ: string[] = [];
  for (const p of la) {
    if (!sb.has(p)) continue;
    const [x, y] = [await Deno.readFile(`${a}/${p}`), await Deno.readFile(`${b}/${p}`)];
    if (x.length !== y.length || !x.every((v, i) => v === y[i])) {
      differ.push(`${p} (${x.length} vs ${y.length} bytes)`);
    }
  }
  if (missing.length || extra.length || differ.length) {
    throw new Error(
      `Trees differ: ${a} vs ${b}\n` +
        (missing.length ? `missing: ${JSON.stringify(missing)}\n` : "") +
        (extra.length ? `extra: ${JSON.stringify(extra)}\n` : "") +
        (differ.length ? `differ: ${JSON.stringify(differ)}` : ""),
    );
  }
}

/** Appends bytes to a file so both its size and mtime change. */
export async function modifyFile(path: string, tag: string): Promise<void> {
  const f = await Deno.open(path, { append: true });
  try {
    await f.write(new TextEncoder().encode(`\nmodified ${tag} ${Date.now()}\n`));
  } finally {
    f.close();
  }
}
