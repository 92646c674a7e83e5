"""dashboard_rules.py DASHBOARD METRIC_NAMES [RULES_OUT]: the Grafana dashboard's contract.

Checks that the dashboard is valid JSON with what Grafana needs to import it (uid, title,
schemaVersion, unique panel ids, a datasource variable instead of a hard-coded datasource), and
that every PromQL query refers only to metrics listed in METRIC_NAMES (tests/deploy/
metric-names.txt) in the way their type allows: counters only inside rate/increase/irate,
histograms only through _bucket/_sum/_count (the bucket inside rate/increase), and grouping or
matching only on the labels listed (plus job, instance and, for buckets, le). With RULES_OUT,
writes every query as a Prometheus rule file so that `promtool check rules` parses the PromQL.
Prints one line per problem; exits 1 if any.
"""

import json
import re
import sys

FUNCS_RANGE = {"rate", "increase", "irate"}
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "inf", "nan"}
REQUIRED = ["leindexd_scans", "leindexd_scans_running", "leindexd_entries_scanned_total",
            "leindexd_scandir_seconds", "leindexd_slow_scandirs_total",
            "leindexd_store_map_fill_ratio", "leindexd_http_requests_total",
            "leindexd_http_request_duration_seconds"]


def load_names(path):
    names = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            labels = set() if w[2] == "-" else set(w[2].split(","))
            names[w[0]] = (w[1], labels)
    return names


def series_names(names):
    """Every series name a metric family exposes -> (family, type, labels)."""
    out = {}
    for fam, (typ, labels) in names.items():
        if typ == "histogram":
            out[fam + "_bucket"] = (fam, typ, labels | {"le"})
            out[fam + "_sum"] = (fam, typ, labels)
            out[fam + "_count"] = (fam, typ, labels)
        else:
            out[fam] = (fam, typ, labels)
    return out


def check_expr(where, expr, series, used, errors):
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)           # strings
    e = re.sub(r"\$__\w+|\$\{?\w+\}?", "5m", e)                # Grafana variables
    # label matchers: collect their names, then drop the braces
    matcher_labels = set()
    for body in re.findall(r"\{([^}]*)\}", e):
        matcher_labels |= set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", body))
    e = re.sub(r"\{[^}]*\}", "", e)
    e = re.sub(r"\[[^\]]*\]", "", e)                          # range selectors
    group_labels = set()
    for body in re.findall(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", e):
        group_labels |= {x.strip() for x in body.split(",") if x.strip()}
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r"\1", e)
    metrics = []
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        name = m.group(0)
        rest = e[m.end():].lstrip()
        if rest.startswith("(") or re.match(r"(by|without)\b", rest):
            continue  # a function or an aggregation (sum by (x) (...))
        if name in KEYWORDS or re.fullmatch(r"\d.*", name):
            continue
        before = e[:m.start()].rstrip()
        fn = re.search(r"([A-Za-z_]+)\s*\($", before)
        metrics.append((name, fn.group(1) if fn else None))
    allowed = {"job", "instance"}
    if not metrics:
        errors.append(f"{where}: query names no metric: {expr}")
    for name, fn in metrics:
        if name not in series:
            errors.append(f"{where}: {name} is not an exported metric (tests/deploy/metric-names.txt)")
            continue
        fam, typ, labels = series[name]
        used.add(fam)
        allowed |= labels
        if typ == "counter" and fn not in FUNCS_RANGE:
            errors.append(f"{where}: counter {name} used outside rate/increase/irate")
        if name.endswith("_bucket") and typ == "histogram" and fn not in FUNCS_RANGE:
            errors.append(f"{where}: histogram buckets {name} used outside rate/increase")
    for lab in sorted((matcher_labels | group_labels) - allowed):
        errors.append(f"{where}: label {lab} is not a label of {', '.join(n for n, _ in metrics)}")


def main():
    dash_path, names_path = sys.argv[1], sys.argv[2]
    rules_out = sys.argv[3] if len(sys.argv) > 3 else None
    errors = []
    try:
        with open(dash_path, encoding="utf-8") as f:
            dash = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"{dash_path}: not valid JSON: {e}")
        return 1
    names = load_names(names_path)
    series = series_names(names)
    for key in ("uid", "title", "schemaVersion", "panels", "templating"):
        if key not in dash:
            errors.append(f"dashboard has no {key}")
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds_vars = [n for n, v in variables.items() if v.get("type") == "datasource"
               and v.get("query") == "prometheus"]
    if not ds_vars:
        errors.append("no Prometheus datasource variable: the dashboard would pin one datasource")
    ids, used, exprs = set(), set(), []
    panels = list(dash.get("panels", []))
    for p in list(panels):
        panels += p.get("panels", [])  # panels inside collapsed rows
    for p in panels:
        where = f"panel {p.get('id')} {p.get('title')!r}"
        if p.get("id") in ids:
            errors.append(f"{where}: duplicate panel id")
        ids.add(p.get("id"))
        if "gridPos" not in p:
            errors.append(f"{where}: no gridPos")
        if p.get("type") == "row":
            continue
        ds = p.get("datasource") or {}
        if not isinstance(ds, dict) or ds.get("uid") not in {f"${{{n}}}" for n in ds_vars} | {f"${n}" for n in ds_vars}:
            errors.append(f"{where}: datasource is not the datasource variable")
        targets = p.get("targets") or []
        if not targets:
            errors.append(f"{where}: no queries")
        for t in targets:
            expr = t.get("expr", "")
            check_expr(f"{where} {t.get('refId')}", expr, series, used, errors)
            exprs.append(expr)
    for v in variables.values():
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        m = re.match(r"label_values\((.*),\s*(\w+)\)$", q or "") if v.get("type") == "query" else None
        if v.get("type") == "query":
            if not m:
                errors.append(f"variable {v.get('name')}: query {q!r} is not label_values(...)")
            else:
                check_expr(f"variable {v.get('name')}", m.group(1), series, used, errors)
    for fam in REQUIRED:
        if fam not in used:
            errors.append(f"no panel shows {fam}")
    if rules_out:
        with open(rules_out, "w", encoding="utf-8") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, expr in enumerate(exprs):
                e = re.sub(r"\$__rate_interval|\$__interval|\$__range", "5m", expr)
                e = re.sub(r"\$\{?(\w+)\}?", ".*", e)
                f.write(f"      - record: dashboard:q{i}\n        expr: {json.dumps(e)}\n")
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
