"""compose_rules.py RENDERED.yaml PROMETHEUS.yml DOCKERFILE: issue 5's rules for deploy/compose.yaml.

RENDERED is the output of `docker-compose config` (variables substituted, short syntax made
long). Needs PyYAML (python3-yaml, which docker-compose itself depends on). Prints one line per
broken rule; exits 1 if any.
"""

import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dockerfile_parse as dp  # noqa: E402


def check(rendered, prom_path, dockerfile):
    errors = []
    with open(rendered, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    with open(prom_path, encoding="utf-8") as f:
        prom = yaml.safe_load(f)
    stages = dp.parse(dockerfile)
    image_user = (stages[-1].last("USER").args.strip() if stages[-1].last("USER") else "")

    services = doc.get("services", {})
    svc = services.get("leindexd")
    if svc is None:
        return ["no service named leindexd"]
    if svc.get("read_only") is not True:
        errors.append("leindexd: read_only is not true")
    tmpfs = svc.get("tmpfs") or []
    tmpfs = [tmpfs] if isinstance(tmpfs, str) else tmpfs
    if not any(t.split(":")[0] == "/tmp" for t in tmpfs):
        errors.append("leindexd: no tmpfs on /tmp (the root filesystem is read-only)")
    if not svc.get("stop_grace_period"):
        errors.append("leindexd: no stop_grace_period")
    if svc.get("stop_signal", "SIGTERM") != "SIGTERM":
        errors.append("leindexd: stop_signal is not SIGTERM")
    hc = svc.get("healthcheck") or {}
    test = hc.get("test") or []
    test = test.split() if isinstance(test, str) else test
    if hc.get("disable") or "health" not in test or not any(t.endswith("leindexd") for t in test):
        errors.append(f"leindexd: healthcheck test {test} does not run `leindexd health`")
    user = str(svc.get("user", ""))
    if user and not re.match(r"^[1-9]\d*(:\d+)?$", user):
        errors.append(f"leindexd: user {user!r} is not a numeric non-root uid")
    if user and image_user and user.split(":")[0] != image_user.split(":")[0]:
        errors.append(f"leindexd: user {user} differs from the Dockerfile's USER {image_user}")
    named = set((doc.get("volumes") or {}).keys())
    vols = svc.get("volumes") or []
    data = [v for v in vols if v.get("target") == "/data"]
    if not data or data[0].get("type") != "volume" or data[0].get("source") not in named:
        errors.append("leindexd: /data is not a named volume declared under top-level volumes")
    scan = [v for v in vols if v.get("target") == "/scan"]
    if not scan or scan[0].get("type") != "bind" or scan[0].get("read_only") is not True:
        errors.append("leindexd: no read-only bind mount at /scan")
    env = svc.get("environment") or {}
    listen = env.get("LEINDEX_LISTEN", "0.0.0.0:8080")
    port = listen.rsplit(":", 1)[-1]
    if not listen.startswith("0.0.0.0:"):
        errors.append(f"leindexd: LEINDEX_LISTEN {listen} is unreachable from other containers")
    if "/scan" not in env.get("LEINDEX_ALLOWED_ROOTS", "/scan").split(":"):
        errors.append("leindexd: LEINDEX_ALLOWED_ROOTS leaves out /scan")

    promsvc = services.get("prometheus")
    if promsvc is None:
        errors.append("no prometheus service")
    else:
        mounts = {v.get("target"): v for v in promsvc.get("volumes") or []}
        cfg = mounts.get("/etc/prometheus/prometheus.yml")
        if cfg is None or os.path.basename(cfg.get("source", "")) != "prometheus.yml":
            errors.append("prometheus: deploy/prometheus.yml is not mounted as its configuration")
    jobs = [j for j in prom.get("scrape_configs", [])
            if any(f"leindexd:{port}" in sc.get("targets", []) for sc in j.get("static_configs", []))]
    if not jobs:
        errors.append(f"prometheus.yml: no job scrapes leindexd:{port}")
    elif jobs[0].get("metrics_path", "/metrics") != "/metrics":
        errors.append("prometheus.yml: the leindexd job does not scrape /metrics")
    return errors


if __name__ == "__main__":
    errs = check(*sys.argv[1:4])
    for e in errs:
        print(e)
    sys.exit(1 if errs else 0)
