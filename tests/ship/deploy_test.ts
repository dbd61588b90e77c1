/**
 * deploy/: the plain manifests pass the Kubernetes API schemas
 * (kubernetes-models) and carry the required security and operations
 * settings; the Helm chart, rendered with its default values and release
 * name "amber" (tests/ship/helm_subset.ts, since Helm itself cannot be
 * installed here), is exactly the plain manifests.
 */
import assert from "node:assert/strict";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { Service } from "kubernetes-models/v1/Service";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { parse, parseAllDocuments } from "yaml";
import { VAULT_ENV } from "../../src/permissions.ts";
import { renderTemplate } from "./helm_subset.ts";

const DEPLOY = new URL("../../deploy/", import.meta.url).pathname;
const CHART = `${DEPLOY}helm/amber`;
const FILES = ["service.yaml", "statefulset.yaml", "pdb.yaml"];

/** A parsed manifest; its shape is what the assertions check. */
// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

function docs(text: string, from: string): Doc[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(`${from}: ${d.errors[0].message}`);
    return d.toJS() as Doc;
  }).filter((d) => d !== null);
}

function plain(): Doc[] {
  return FILES.flatMap((f) => docs(Deno.readTextFileSync(`${DEPLOY}k8s/${f}`), `k8s/${f}`));
}

function rendered(values: Record<string, unknown> = {}, releaseName = "amber"): Doc[] {
  const chart = parse(Deno.readTextFileSync(`${CHART}/Chart.yaml`));
  const defaults = parse(Deno.readTextFileSync(`${CHART}/values.yaml`));
  const ctx = { values: { ...defaults, ...values }, releaseName, appVersion: chart.appVersion };
  return FILES.flatMap((f) =>
    docs(renderTemplate(Deno.readTextFileSync(`${CHART}/templates/${f}`), ctx), `templates/${f}`)
  );
}

function byKind(all: Doc[], kind: string): Doc {
  const found = all.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0];
}

/** Validates each document against the Kubernetes API schema of its kind. */
function validate(all: Doc[]) {
  const models = { Service, StatefulSet, PodDisruptionBudget } as const;
  for (const d of all) {
    const Model = models[d.kind as keyof typeof models];
    assert.ok(Model, `no schema for kind ${d.kind}`);
    // deno-lint-ignore no-explicit-any
    new (Model as any)(d).validate();
  }
}

Deno.test("deploy manifests - pass the Kubernetes API schemas", () => {
  validate(plain());
  validate(rendered({ storage: { size: "50Gi", className: "expandable" } }, "vault"));
  // The schema check is real: a port given as text is rejected.
  const broken = plain();
  byKind(broken, "StatefulSet").spec.template.spec.containers[0].ports[0].containerPort = "s3";
  assert.throws(() => validate(broken), /containerPort must be integer/);
});

Deno.test("deploy manifests - one writer, locked down, probed, scraped, secrets from a Secret", () => {
  const all = plain();
  const sts = byKind(all, "StatefulSet");
  assert.equal(sts.spec.replicas, 1, "one writer by design");
  const pod = sts.spec.template.spec;
  assert.equal(pod.enableServiceLinks, false, "service links would override AMBER_PORT");
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
  assert.equal(pod.containers.length, 1);
  const c = pod.containers[0];
  assert.deepEqual(c.securityContext, {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  });
  assert.deepEqual(c.envFrom, [{ secretRef: { name: "amber-secrets" } }]);
  const env = Object.fromEntries(c.env.map((e: Doc) => [e.name, e.value]));
  assert.deepEqual(env, {
    AMBER_HOST: "0.0.0.0",
    AMBER_PORT: String(c.ports[0].containerPort),
    AMBER_DATA_DIR: "/var/lib/amber",
    ...VAULT_ENV,
  });
  for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
    assert.deepEqual(c[probe].httpGet, { path: "/healthz", port: c.ports[0].name }, probe);
  }
  assert.ok(
    c.startupProbe.failureThreshold * c.startupProbe.periodSeconds >= 30 * 60,
    "the startup probe must tolerate a 30 min index recovery",
  );
  const ann = sts.spec.template.metadata.annotations;
  assert.deepEqual(ann, {
    "prometheus.io/scrape": "true",
    "prometheus.io/port": String(c.ports[0].containerPort),
    "prometheus.io/path": "/metrics",
  });
  const [claim] = sts.spec.volumeClaimTemplates;
  assert.equal(
    c.volumeMounts.find((m: Doc) => m.name === claim.metadata.name)?.mountPath,
    "/var/lib/amber",
  );
  assert.deepEqual(claim.spec.accessModes, ["ReadWriteOnce"]);
  assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, {
    whenDeleted: "Retain",
    whenScaled: "Retain",
  });

  const labels = sts.spec.template.metadata.labels;
  assert.deepEqual(sts.spec.selector.matchLabels, labels);
  const pdb = byKind(all, "PodDisruptionBudget");
  assert.equal(pdb.spec.minAvailable, 1);
  assert.deepEqual(pdb.spec.selector.matchLabels, labels);
  const svc = byKind(all, "Service");
  assert.deepEqual(svc.spec.selector, labels);
  assert.equal(svc.spec.ports[0].targetPort, c.ports[0].name);
  assert.equal(sts.spec.serviceName, svc.metadata.name);
});

Deno.test("helm chart - renders with its defaults to exactly the plain manifests", () => {
  assert.deepEqual(rendered(), plain());
  const custom = rendered({ storage: { size: "50Gi", className: "expandable" }, port: 9000 }, "v");
  const sts = byKind(custom, "StatefulSet");
  assert.equal(sts.metadata.name, "v");
  assert.equal(sts.spec.volumeClaimTemplates[0].spec.storageClassName, "expandable");
  assert.equal(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, "50Gi");
  assert.equal(sts.spec.template.metadata.annotations["prometheus.io/port"], "9000");
  assert.equal(byKind(custom, "Service").spec.ports[0].port, 9000);
  assert.equal(
    byKind(rendered(), "StatefulSet").spec.volumeClaimTemplates[0].spec.storageClassName,
    undefined,
  );
});

Deno.test("helm chart - the subset renderer refuses what it does not understand", () => {
  const ctx = { values: { a: { b: "x" } }, releaseName: "r", appVersion: "1" };
  assert.equal(renderTemplate("k: {{ .Values.a.b | quote }}", ctx), 'k: "x"');
  assert.throws(
    () => renderTemplate("k: {{ toYaml .Values.a }}", ctx),
    /outside the template subset/,
  );
  assert.throws(() => renderTemplate("k: {{ .Values.missing }}", ctx), /not set in values.yaml/);
  assert.throws(() => renderTemplate("{{- if .Values.a.b }}\nk: v", ctx), /without \{\{ end \}\}/);
});
