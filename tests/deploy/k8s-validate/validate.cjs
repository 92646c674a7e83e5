// validate.cjs MODULES_DIR IMAGE_UID MANIFEST...: offline checks of Kubernetes manifests.
//
// kubeconform is not packaged here and `kubectl --dry-run=client` wants a server, so each YAML
// document is checked against the Kubernetes OpenAPI schemas compiled into the npm package
// kubernetes-models (types, required fields, enums). Those validators accept unknown fields, which
// a real API server drops silently (a misspelt `readOnlyRootFileSystem` would just vanish), so
// every object is also wrapped in a Proxy that records which properties the schema validator
// reads: a property it never reads is not in the schema, and is reported like kubeconform -strict.
// Then issue 5's deployment rules are checked across the documents (one replica with Recreate,
// probes, resources, non-root read-only securityContext, a ReadWriteOnce claim for /data, ...),
// and issue 9's: the token file comes from a Secret the manifests reference but do not ship.
//
// MODULES_DIR is the node_modules that `npm ci` filled from this directory's package-lock.json
// (outside the source tree). Prints one line per problem; exits 1 if any, 2 on usage errors.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const [modulesDir, imageUid, ...files] = process.argv.slice(2);
if (!modulesDir || !imageUid || files.length === 0) {
  console.error("usage: validate.cjs MODULES_DIR IMAGE_UID MANIFEST...");
  process.exit(2);
}
const YAML = require(path.join(modulesDir, "yaml"));
const schemaDir = path.join(modulesDir, "kubernetes-models", "_schemas");

// The schemas cover every API Kubernetes ever had (extensions/v1beta1 too), so the versions a
// current cluster (1.25 and later) still serves are listed here.
const SERVED = new Set(["v1", "apps/v1", "batch/v1", "autoscaling/v2", "policy/v1",
  "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1", "storage.k8s.io/v1",
  "scheduling.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1"]);

const problems = [];
const fail = (where, msg) => problems.push(`${where}: ${msg}`);

// "apps/v1" + "Deployment" -> IoK8sApiAppsV1Deployment; "v1" is the core group.
function schemaFile(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
  const g = group.split(".")[0];
  const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  return path.join(schemaDir, `IoK8sApi${cap(g)}${cap(version)}${kind}.js`);
}

// Wraps obj so that every property read by the validator is recorded; maps (labels, resources)
// are enumerated by the validator instead, which marks all their keys as known.
function tracker() {
  const recs = new Map();
  const proxies = new WeakMap();
  function wrap(obj, where) {
    if (obj === null || typeof obj !== "object") return obj;
    if (proxies.has(obj)) return proxies.get(obj);
    const rec = { read: new Set(), enumerated: false, where };
    recs.set(obj, rec);
    const p = new Proxy(obj, {
      get(t, k, r) {
        const v = Reflect.get(t, k, r);
        if (typeof k !== "string" || !Object.hasOwn(t, k)) return v;
        rec.read.add(k);
        return wrap(v, `${where}.${k}`);
      },
      ownKeys(t) {
        rec.enumerated = true;
        return Reflect.ownKeys(t);
      },
    });
    proxies.set(obj, p);
    return p;
  }
  function unknown() {
    const out = [];
    for (const [obj, rec] of recs) {
      if (rec.enumerated || Array.isArray(obj)) continue;
      for (const k of Object.keys(obj)) if (!rec.read.has(k)) out.push(`${rec.where}.${k}`);
    }
    return out;
  }
  return { wrap, unknown };
}

const docs = [];
for (const file of files) {
  let parsed;
  try {
    parsed = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
  } catch (e) {
    fail(file, `cannot read: ${e.message}`);
    continue;
  }
  parsed.forEach((d, i) => {
    const where = `${path.basename(file)}#${i}`;
    if (d.errors.length) {
      fail(where, `YAML: ${d.errors[0].message}`);
      return;
    }
    const obj = d.toJS({ maxAliasCount: 0 });
    if (obj === null) return;
    if (!obj.apiVersion || !obj.kind) {
      fail(where, "no apiVersion/kind");
      return;
    }
    const label = `${path.basename(file)} ${obj.kind}/${obj.metadata && obj.metadata.name}`;
    if (!SERVED.has(obj.apiVersion)) {
      fail(label, `apiVersion ${obj.apiVersion} is not served by Kubernetes 1.25 and later`);
      return;
    }
    const sf = schemaFile(obj.apiVersion, obj.kind);
    if (!fs.existsSync(sf)) {
      fail(label, `no schema for ${obj.apiVersion} ${obj.kind} (unknown or removed API)`);
      return;
    }
    const { validate } = require(sf);
    const t = tracker();
    if (!validate(t.wrap(obj, obj.kind))) {
      for (const e of validate.errors) {
        fail(label, `schema: ${e.instancePath || "/"} ${e.keyword} ${JSON.stringify(e.params)}`);
      }
    }
    for (const u of t.unknown()) fail(label, `unknown field ${u}`);
    docs.push({ label, obj });
  });
}

const of = (kind) => docs.filter((d) => d.obj.kind === kind);

// --- access control (issue 9): tokens from a Secret the operator makes -----------------------
// LEINDEX_TOKEN_FILE lies in a read-only Secret volume mounted without subPath (a subPath mount
// never sees the Secret's updates, so SIGHUP could not rotate tokens); the Secret is required
// (the pod waits for it rather than starting without); no manifest ships it; nothing passes
// --insecure-no-auth.
function checkTokens(label, main, env, mounts, volumes) {
  const words = [...(main.command || []), ...(main.args || [])];
  if (words.some((w) => w === "--insecure-no-auth" || String(w).startsWith("--insecure-no-auth="))) {
    fail(label, "the container passes --insecure-no-auth");
  }
  const file = env.LEINDEX_TOKEN_FILE || "";
  if (!file.startsWith("/")) {
    fail(label, `LEINDEX_TOKEN_FILE is not set to an absolute path (${JSON.stringify(file)}): ` +
      "the pod listens on 0.0.0.0 and needs tokens");
    return;
  }
  const dirOf = (m) => m.mountPath.replace(/\/+$/, "");
  // The innermost mount holding the file (a subPath mount may be the file itself).
  const m = Object.values(mounts)
    .filter((mm) => file.startsWith(dirOf(mm) + "/") || (mm.subPath !== undefined && file === dirOf(mm)))
    .sort((a, b) => dirOf(b).length - dirOf(a).length)[0];
  const vol = m && volumes[m.name];
  if (!vol || !vol.secret) {
    fail(label, `LEINDEX_TOKEN_FILE ${file} is not in a Secret volume`);
    return;
  }
  if (m.subPath !== undefined || m.subPathExpr !== undefined) {
    fail(label, `token Secret mounted with subPath at ${m.mountPath}: it would never see the ` +
      "Secret's updates, so SIGHUP could not rotate tokens");
  }
  if (m.readOnly !== true) fail(label, `token Secret at ${m.mountPath} is not mounted readOnly`);
  if (vol.secret.optional === true) {
    fail(label, `Secret ${vol.secret.secretName} is optional: the pod must wait for the tokens`);
  }
  const rel = file.slice(dirOf(m).length + 1);
  const items = vol.secret.items;
  if (items && !items.some((it) => it.path === rel)) {
    fail(label, `no item of Secret ${vol.secret.secretName} lands at ${rel} (LEINDEX_TOKEN_FILE)`);
  }
  for (const sec of of("Secret").filter((d) => d.obj.metadata.name === vol.secret.secretName)) {
    fail(sec.label, "ships the token Secret: the operator makes it (kubectl create secret generic " +
      `${vol.secret.secretName} --from-file=tokens=./tokens)`);
  }
}

// --- issue 5's rules across the documents --------------------------------------------------
const workloads = [...of("Deployment"), ...of("DaemonSet")];
if (workloads.length !== 1) {
  fail("manifests", `expected one Deployment or DaemonSet, found ${workloads.length}`);
}
for (const { label, obj } of workloads) {
  const spec = obj.spec || {};
  if (obj.kind === "Deployment") {
    if (spec.replicas !== 1) fail(label, "replicas must be 1 (LMDB has one writer)");
    if (!spec.strategy || spec.strategy.type !== "Recreate") {
      fail(label, "strategy must be Recreate (a rolling update would run two pods on one LMDB)");
    }
  }
  const tpl = spec.template || {};
  const pod = tpl.spec || {};
  const labels = (tpl.metadata && tpl.metadata.labels) || {};
  const sel = (spec.selector && spec.selector.matchLabels) || {};
  for (const [k, v] of Object.entries(sel)) {
    if (labels[k] !== v) fail(label, `selector ${k}=${v} does not match the pod labels`);
  }
  const psc = pod.securityContext || {};
  if (psc.runAsNonRoot !== true) fail(label, "pod securityContext.runAsNonRoot must be true");
  if (String(psc.runAsUser) !== imageUid) {
    fail(label, `pod runAsUser ${psc.runAsUser} differs from the image's USER ${imageUid}`);
  }
  const containers = pod.containers || [];
  const main = containers.find((c) => c.name === "leindexd");
  if (!main) {
    fail(label, "no container named leindexd");
    continue;
  }
  const csc = main.securityContext || {};
  if (csc.allowPrivilegeEscalation !== false) fail(label, "allowPrivilegeEscalation must be false");
  if (csc.readOnlyRootFilesystem !== true) fail(label, "readOnlyRootFilesystem must be true");
  if (csc.privileged === true) fail(label, "privileged container");
  const drop = (csc.capabilities && csc.capabilities.drop) || [];
  if (!drop.includes("ALL")) fail(label, "capabilities must drop ALL");
  const res = main.resources || {};
  for (const kind of ["requests", "limits"]) {
    for (const r of ["cpu", "memory"]) {
      if (!res[kind] || res[kind][r] === undefined) fail(label, `resources.${kind}.${r} missing`);
    }
  }
  const ports = main.ports || [];
  const portOk = (p) => ports.some((cp) => cp.name === p || cp.containerPort === p);
  const probe = (name, wantPath) => {
    const pr = main[name];
    if (!pr || !pr.httpGet) return fail(label, `${name} must be an httpGet probe`);
    if (pr.httpGet.path !== wantPath) fail(label, `${name} probes ${pr.httpGet.path}, want ${wantPath}`);
    if (!portOk(pr.httpGet.port)) fail(label, `${name} port ${pr.httpGet.port} is no container port`);
  };
  probe("livenessProbe", "/healthz");
  probe("readinessProbe", "/readyz");
  const env = Object.fromEntries((main.env || []).map((e) => [e.name, e.value]));
  const listen = env.LEINDEX_LISTEN || "";
  const lport = Number(listen.split(":").pop());
  if (!listen.startsWith("0.0.0.0:") || !ports.some((cp) => cp.containerPort === lport)) {
    fail(label, `LEINDEX_LISTEN ${listen} must be 0.0.0.0 on a declared containerPort`);
  }
  const volumes = Object.fromEntries((pod.volumes || []).map((v) => [v.name, v]));
  const mounts = Object.fromEntries((main.volumeMounts || []).map((m) => [m.mountPath, m]));
  const dataDir = env.LEINDEX_DATA_DIR || "/data";
  const data = mounts[dataDir] && volumes[mounts[dataDir].name];
  if (obj.kind === "Deployment") {
    const claim = data && data.persistentVolumeClaim && data.persistentVolumeClaim.claimName;
    const pvc = of("PersistentVolumeClaim").find((d) => d.obj.metadata.name === claim);
    if (!pvc) {
      fail(label, `${dataDir} is not a PersistentVolumeClaim defined in these manifests`);
    } else if (JSON.stringify(pvc.obj.spec.accessModes) !== JSON.stringify(["ReadWriteOnce"])) {
      fail(pvc.label, "accessModes must be [ReadWriteOnce]");
    }
  } else if (!data || !(data.hostPath || data.persistentVolumeClaim)) {
    fail(label, `${dataDir} must be a node-local volume`);
  }
  if (mounts[dataDir] && mounts[dataDir].readOnly) fail(label, `${dataDir} is mounted read-only`);
  const roots = (env.LEINDEX_ALLOWED_ROOTS || "").split(":").filter(Boolean);
  if (roots.length === 0) fail(label, "LEINDEX_ALLOWED_ROOTS is empty (any path could be scanned)");
  for (const r of roots) {
    if (!mounts[r] || mounts[r].readOnly !== true) fail(label, `allowed root ${r} is not mounted readOnly`);
  }
  if (!mounts["/tmp"]) fail(label, "no writable /tmp (the root filesystem is read-only)");
  checkTokens(label, main, env, mounts, volumes);
  for (const m of Object.values(mounts)) {
    if (!volumes[m.name]) fail(label, `volumeMount ${m.mountPath} names no volume ${m.name}`);
  }
  for (const svc of of("Service")) {
    const ssel = svc.obj.spec.selector || {};
    if (!Object.entries(ssel).every(([k, v]) => labels[k] === v)) {
      fail(svc.label, "selector matches no pod of the workload");
    }
    for (const p of svc.obj.spec.ports || []) {
      if (!portOk(p.targetPort === undefined ? p.port : p.targetPort)) {
        fail(svc.label, `targetPort ${p.targetPort} is no container port`);
      }
    }
  }
  for (const np of of("NetworkPolicy")) {
    const nsel = (np.obj.spec.podSelector && np.obj.spec.podSelector.matchLabels) || {};
    if (!Object.entries(nsel).every(([k, v]) => labels[k] === v)) {
      fail(np.label, "podSelector matches no pod of the workload");
    }
    const allowed = (np.obj.spec.ingress || []).flatMap((i) => (i.ports || []).map((p) => p.port));
    if (!allowed.some((p) => portOk(p))) fail(np.label, "ingress does not allow the http port");
  }
}

for (const p of problems) console.log(p);
if (problems.length) process.exit(1);
console.log(`ok: ${docs.length} objects valid (${docs.map((d) => d.label).join(", ")})`);
