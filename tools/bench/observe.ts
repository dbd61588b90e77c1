/**
 * Watching the vault process from outside: per-thread CPU time and RSS, read
 * from /proc.
 *
 * @module
 */

/** /proc clock ticks per second. */
const CLK_TCK = 100;
/** How often RSS is sampled. */
const RSS_SAMPLE_MS = 100;

/** Thread names of the vault's Workers, in the order main.ts starts them. */
export const WORKER_THREADS: Record<string, string> = {
  "worker-1": "store Worker",
  "worker-2": "meta Worker",
  "worker-3": "router Worker",
  deno: "main/other JS",
  "V8 DefaultWorke": "V8 GC/compile",
};

// ------------------------------------------------------ process observation

export interface ThreadTimes {
  byTid: Map<string, { name: string; ticks: number }>;
}

/**
 * Reads a /proc file through `sh`: Deno asks for --allow-all to read /proc
 * of a process, and `deno task bench` runs with --allow-run instead.
 */
export async function procText(glob: string): Promise<string> {
  const out = await new Deno.Command("sh", {
    args: ["-c", `cat ${glob} 2>/dev/null`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

export async function readThreadTimes(pid: number): Promise<ThreadTimes> {
  const byTid = new Map<string, { name: string; ticks: number }>();
  for (const stat of (await procText(`/proc/${pid}/task/*/stat`)).split("\n")) {
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    if (open < 0 || close < 0) continue;
    const tid = stat.slice(0, open).trim();
    const name = stat.slice(open + 1, close);
    const f = stat.slice(close + 2).split(" ");
    byTid.set(tid, { name, ticks: Number(f[11]) + Number(f[12]) });
  }
  return { byTid };
}

/** CPU use of one phase: per thread group of the vault, and this client. */
export interface CpuUse {
  /** Cores used by each vault thread group (1.0 = one core busy all phase). */
  vault: Record<string, number>;
  vaultTotal: number;
  /** Busiest single vault thread. */
  busiest: { thread: string; cores: number };
  client: number;
}

export class CpuMeter {
  #pid: number;
  #v0: ThreadTimes;
  #c0: ThreadTimes;
  #t0: number;
  private constructor(pid: number, v0: ThreadTimes, c0: ThreadTimes) {
    this.#pid = pid;
    this.#v0 = v0;
    this.#c0 = c0;
    this.#t0 = performance.now();
  }
  static async start(pid: number): Promise<CpuMeter> {
    const [v0, c0] = await Promise.all([readThreadTimes(pid), readThreadTimes(Deno.pid)]);
    return new CpuMeter(pid, v0, c0);
  }
  async stop(): Promise<CpuUse> {
    const secs = (performance.now() - this.#t0) / 1000;
    const [v1, c1] = await Promise.all([readThreadTimes(this.#pid), readThreadTimes(Deno.pid)]);
    const vault: Record<string, number> = {};
    let vaultTotal = 0;
    let busiest = { thread: "", cores: 0 };
    for (const [tid, t] of v1.byTid) {
      const d = (t.ticks - (this.#v0.byTid.get(tid)?.ticks ?? 0)) / CLK_TCK / secs;
      const group = WORKER_THREADS[t.name] ?? t.name;
      vault[group] = (vault[group] ?? 0) + d;
      vaultTotal += d;
      if (d > busiest.cores) busiest = { thread: `${group} (tid ${tid})`, cores: d };
    }
    let client = 0;
    for (const [tid, t] of c1.byTid) {
      client += (t.ticks - (this.#c0.byTid.get(tid)?.ticks ?? 0)) / CLK_TCK / secs;
    }
    return { vault, vaultTotal, busiest, client };
  }
}

export async function statusKiB(pid: number, field: string): Promise<number> {
  const s = await procText(`/proc/${pid}/status`);
  const m = s.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) : NaN;
}

/** Samples the vault's VmRSS every RSS_SAMPLE_MS through one `sh` loop. */
export class RssSampler {
  #child: Deno.ChildProcess;
  #done: Promise<void>;
  max = 0;
  phaseMax = 0;
  constructor(pid: number) {
    const secs = (RSS_SAMPLE_MS / 1000).toFixed(2);
    const child = new Deno.Command("sh", {
      args: [
        "-c",
        `while kill -0 ${pid} 2>/dev/null; do grep '^VmRSS' /proc/${pid}/status; sleep ${secs}; done`,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    this.#child = child;
    this.#done = (async () => {
      let buf = "";
      for await (const t of child.stdout.pipeThrough(new TextDecoderStream())) {
        buf += t;
        const lines = buf.split("\n");
        buf = lines.pop()!;
        for (const l of lines) {
          const m = l.match(/(\d+) kB/);
          if (!m) continue;
          const kib = Number(m[1]);
          if (kib > this.max) this.max = kib;
          if (kib > this.phaseMax) this.phaseMax = kib;
        }
      }
    })();
  }
  resetPhase(): void {
    this.phaseMax = 0;
  }
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await this.#child.status;
    await this.#done;
  }
}
