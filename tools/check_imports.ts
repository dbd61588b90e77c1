/**
 * Rejects imports across area boundaries: an area may import another area
 * only through its `mod.ts`, and only in the allowed directions (see
 * ARCHITECTURE.md). Run by `deno task check`.
 *
 * @module
 */

/** Which areas each area may import (through their mod.ts). */
export const ALLOWED: Record<string, readonly string[]> = {
  s3: ["channel", "auth", "ops"],
  meta: ["retention", "channel", "ops"],
  store: ["channel", "ops"],
  scrub: ["channel", "ops", "store"],
  retention: [],
  channel: [],
  auth: [],
  ops: [],
};

/** Top-level modules under src/ that any area may import (leaf modules with no area of their own). */
const SHARED = new Set([
  "index_schema.ts",
  "config.ts",
  "permissions.ts",
  "index_journal.ts",
  "inline_body.ts",
  "checksum.ts",
  "hmac.ts",
]);

/**
 * Finds boundary violations in one file's import specifiers.
 *
 * @param file Path relative to src/, e.g. `s3/app.ts`.
 * @param specifiers Its relative import specifiers.
 * @returns One message per violation.
 *
 * @example
 * ```ts
 * import { violations } from "./check_imports.ts";
 * if (violations("s3/app.ts", ["../store/mod.ts"]).length !== 1) throw new Error("missed");
 * ```
 */
export function violations(file: string, specifiers: string[]): string[] {
  const area = file.split("/")[0];
  const out: string[] = [];
  for (const spec of specifiers) {
    if (!spec.startsWith(".")) continue;
    const target = new URL(spec, `file:///src/${file}`).pathname.replace(/^\/src\//, "");
    const targetArea = target.split("/")[0];
    if (target.includes("/") === false) {
      if (!SHARED.has(target) && area !== target) {
        out.push(`${file}: imports "${spec}", which is not a shared module`);
      }
      continue;
    }
    if (targetArea === area) continue;
    if (!(ALLOWED[area] ?? []).includes(targetArea)) {
      out.push(`${file}: the ${area} area may not import the ${targetArea} area ("${spec}")`);
    } else if (target !== `${targetArea}/mod.ts` && target !== `${targetArea}/boot.ts`) {
      out.push(
        `${file}: imports "${spec}"; other areas are reached only through ${targetArea}/mod.ts (or its start-up subset, boot.ts)`,
      );
    }
  }
  return out;
}

/**
 * Finds imports of `main.ts` that load more than an area's start-up surface:
 * its static imports may reach only an area's `boot.ts` (light, so the main
 * isolate stays small), a `mod.ts` that is itself light (s3), or a shared
 * module; subcommands load whole areas with `import()`.
 *
 * @param statics Static import specifiers of main.ts.
 * @returns One message per violation.
 *
 * @example
 * ```ts
 * import { mainViolations } from "./check_imports.ts";
 * if (mainViolations(["./src/store/mod.ts"]).length !== 1) throw new Error("missed");
 * ```
 */
export function mainViolations(statics: string[]): string[] {
  const allowed = /^\.\/src\/(?:[a-z]+\/boot\.ts|s3\/mod\.ts|[a-z_]+\.ts)$/;
  return statics.filter((spec) => spec.startsWith(".") && !allowed.test(spec)).map((spec) =>
    `main.ts: imports "${spec}" at start; load a whole area with import() or through its boot.ts`
  );
}

function staticImportsOf(text: string): string[] {
  const named = [...text.matchAll(/(?:import|export)\s[^;]*?from\s*["']([^"']+)["']/g)];
  // A bare side-effect import (`import "./x.ts";`) loads a module just the same.
  const bare = [...text.matchAll(/^\s*import\s*["']([^"']+)["']/gm)];
  return [...named, ...bare].map((m) => m[1]);
}

function importsOf(text: string): string[] {
  const dynamic = [...text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
  return [...staticImportsOf(text), ...dynamic];
}

function* walk(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else if (e.name.endsWith(".ts") && !e.name.endsWith("_test.ts")) yield p;
  }
}

if (import.meta.main) {
  const root = new URL("../src", import.meta.url).pathname;
  const problems: string[] = [];
  for (const path of walk(root)) {
    const rel = path.slice(root.length + 1);
    problems.push(...violations(rel, importsOf(Deno.readTextFileSync(path))));
  }
  const main = new URL("../main.ts", import.meta.url).pathname;
  problems.push(...mainViolations(staticImportsOf(Deno.readTextFileSync(main))));
  for (const p of problems) console.error(p);
  if (problems.length > 0) Deno.exit(1);
  console.log("Area boundaries hold");
}
