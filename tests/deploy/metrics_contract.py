"""metrics_contract.py METRIC_NAMES METRICS_TEXT: the families of METRIC_NAMES are in the
/metrics output with their type and exactly their labels, and every series has samples (the
output is read after a scan has completed, so each family has something to show; a family
without samples would pass its label check vacuously). Exits 1 if not."""
import re, sys
want = {}
for line in open(sys.argv[1]):
    w = line.split()
    if w and not w[0].startswith("#"):
        want[w[0]] = (w[1], set() if w[2] == "-" else set(w[2].split(",")))
types, samples = {}, {}
for line in open(sys.argv[2]):
    m = re.match(r"# TYPE (\S+) (\S+)", line)
    if m:
        types[m.group(1)] = m.group(2)
        continue
    if line.startswith("#") or not line.strip():
        continue
    m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{([^}]*)\})?\s", line)
    if m:
        labels = set(re.findall(r'(\w+)="', m.group(3) or ""))
        samples.setdefault(m.group(1), []).append(labels)
bad = []
for fam, (typ, labels) in want.items():
    if types.get(fam) != typ:
        bad.append(f"{fam}: want # TYPE {typ}, found {types.get(fam)}")
        continue
    series = {fam + s: labels | ({"le"} if s == "_bucket" else set())
              for s in (("_bucket", "_sum", "_count") if typ == "histogram" else ("",))}
    for name, want_labels in series.items():
        for got in samples.get(name, []):
            if got != want_labels:
                bad.append(f"{name}: labels {sorted(got)}, want {sorted(want_labels)}")
                break
        if name not in samples:
            bad.append(f"{name}: no sample")
for b in bad:
    print(b)
print(f"{len(want) - len(bad)} of {len(want)} metric families as the dashboard expects")
sys.exit(1 if bad else 0)
