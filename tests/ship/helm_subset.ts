/**
 * Renders the Helm chart in deploy/helm/amber without Helm (neither the npm
 * nor the Debian registry carries it): a deliberately small subset of Helm's
 * template language, exactly what the chart uses, and an error for anything
 * else, so the chart cannot grow a construct this check would misread.
 *
 * Supported: `{{ .Values.a.b }}`, `{{ .Release.Name }}`, `{{ .Chart.AppVersion }}`,
 * `| quote`, and `{{- if .Values.a.b }}` / `{{- end }}` each alone on a line.
 *
 * @module
 */

/** Inputs of a render. */
export interface RenderContext {
  /** values.yaml, parsed. */
  values: Record<string, unknown>;
  /** The release name (`helm install <name>`). */
  releaseName: string;
  /** Chart.yaml's appVersion. */
  appVersion: string;
}

function lookup(ctx: RenderContext, path: string): unknown {
  if (path === ".Release.Name") return ctx.releaseName;
  if (path === ".Chart.AppVersion") return ctx.appVersion;
  if (!path.startsWith(".Values.")) throw new Error(`"${path}" is outside the template subset`);
  let v: unknown = ctx.values;
  for (const part of path.slice(".Values.".length).split(".")) {
    v = (v as Record<string, unknown> | undefined)?.[part];
  }
  if (v === undefined) throw new Error(`"${path}" is not set in values.yaml`);
  return v;
}

function action(ctx: RenderContext, body: string): string {
  const m = /^\s*(\.[A-Za-z0-9_.]+)\s*(\|\s*quote\s*)?$/.exec(body);
  if (!m) throw new Error(`"{{${body}}}" is outside the template subset; render with helm`);
  const v = lookup(ctx, m[1]);
  if (typeof v === "object" && v !== null) throw new Error(`"${m[1]}" is not a scalar`);
  return m[2] ? JSON.stringify(String(v)) : String(v);
}

/**
 * Renders one template.
 *
 * @param template The template text.
 * @param ctx Values, release name and app version.
 * @returns The rendered YAML.
 * @throws {Error} on any construct outside the subset, or an unset value.
 */
export function renderTemplate(template: string, ctx: RenderContext): string {
  const out: string[] = [];
  const shown: boolean[] = [];
  for (const line of template.split("\n")) {
    const cond = /^\s*\{\{-? if (\.Values\.[A-Za-z0-9_.]+) -?\}\}\s*$/.exec(line);
    if (cond) {
      shown.push(Boolean(lookup(ctx, cond[1])));
      continue;
    }
    if (/^\s*\{\{-? end -?\}\}\s*$/.test(line)) {
      if (shown.pop() === undefined) throw new Error("{{ end }} without {{ if }}");
      continue;
    }
    if (shown.includes(false)) continue;
    out.push(line.replace(/\{\{([^}]*)\}\}/g, (_, body: string) => action(ctx, body)));
  }
  if (shown.length > 0) throw new Error("{{ if }} without {{ end }}");
  return out.join("\n");
}
