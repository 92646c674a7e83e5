"""compose_rules.py RENDERED.yaml PROMETHEUS.yml DOCKERFILE: issue 5's rules for deploy/compose.yaml.

RENDERED is the output of `docker-compose config` (variables substituted, short syntax made
long). Access control: LEINDEX_TOKEN_FILE is where a file-based secret of the service lands,
nothing passes --insecure-no-auth, and Prometheus sends a token if /metrics asks for one. Needs
PyYAML (python3-yaml, which docker-compose itself depends on). Prints one line per broken rule;
exits 1 if any.
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

    errors += check_tokens(doc, svc, env)

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
    elif metrics_auth(svc, env) and not (jobs[0].get("authorization") or {}).get(
            "credentials_file") and not (jobs[0].get("authorization") or {}).get("credentials"):
        errors.append("prometheus.yml: leindexd's /metrics needs a token (metrics auth is on) "
                      "but the leindexd job sends none (authorization.credentials_file)")
    return errors


SECRETS_DIR = "/run/secrets/"
INSECURE_FLAG = "--insecure-no-auth"


def command_words(svc):
    """The leindexd service's entrypoint and command words (either may be a string)."""
    words = []
    for key in ("entrypoint", "command"):
        v = svc.get(key) or []
        words += v.split() if isinstance(v, str) else [str(w) for w in v]
    return words


def metrics_auth(svc, env):
    """True when leindexd would ask a token for /metrics (--metrics-auth or the variable set to
    anything but 0, as service/config.c reads it)."""
    v = str(env.get("LEINDEX_METRICS_AUTH") or "")
    return "--metrics-auth" in command_words(svc) or (v != "" and v != "0")


def check_tokens(doc, svc, env):
    """leindexd reads its tokens from a file-based secret the operator makes: the service mounts
    a top-level secret with `file:` and LEINDEX_TOKEN_FILE names where it lands; nothing turns
    tokens off."""
    errors = []
    if any(w == INSECURE_FLAG or w.startswith(INSECURE_FLAG + "=") for w in command_words(svc)):
        errors.append(f"leindexd: the command passes {INSECURE_FLAG}")
    token_file = str(env.get("LEINDEX_TOKEN_FILE") or "")
    if not token_file:
        errors.append("leindexd: LEINDEX_TOKEN_FILE is not set (it listens on 0.0.0.0 and needs "
                      "tokens from a secret)")
        return errors
    top = doc.get("secrets") or {}
    mounted = {}
    for ref in svc.get("secrets") or []:
        ref = {"source": ref} if isinstance(ref, str) else ref
        target = ref.get("target") or ref.get("source")
        if not target.startswith("/"):
            target = SECRETS_DIR + target
        mounted[target] = ref.get("source")
    source = mounted.get(token_file)
    if source is None:
        errors.append(f"leindexd: LEINDEX_TOKEN_FILE {token_file} is not where a secret of the "
                      f"service is mounted ({', '.join(sorted(mounted)) or 'no secrets'})")
    elif source not in top:
        errors.append(f"leindexd: secret {source} is not declared under top-level secrets")
    elif not (top[source] or {}).get("file"):
        errors.append(f"secret {source} is not file-based (file: a path the operator makes)")
    return errors


if __name__ == "__main__":
    errs = check(*sys.argv[1:4])
    for e in errs:
        print(e)
    sys.exit(1 if errs else 0)
