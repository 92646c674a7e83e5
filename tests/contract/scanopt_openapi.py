#!/usr/bin/env python3
"""scanopt_openapi.py TABLE.json OPENAPI.yaml

Compares the table of scan options (scanopt_dump's JSON, from service/job/scanopt.c) with
openapi.yaml: ScanRequest must list exactly the table's fields, each with the JSON Schema the
row implies (type, minimum/maximum, default, enum, maxItems, items, maxLength, pattern), and
require exactly its required rows; ScanOptions (the echo in a scan's record) must list and
require exactly the echoed rows, with their types. Prints each mismatch; exit 1 if any.
"""
import json
import sys

import yaml

# Keywords of a property that constrain or describe values: all are compared.
CHECKED = ('type', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'default',
           'enum', 'const', 'minItems', 'maxItems', 'items', 'minLength', 'maxLength',
           'pattern', 'anyOf', 'oneOf')


def same(a, b):
    """Equal, and of the same JSON types throughout (True is not 1; type lists in any order)."""
    if isinstance(a, list) and isinstance(b, list):
        if all(isinstance(x, str) for x in a + b):
            return sorted(a) == sorted(b)
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def nullable(t, row):
    return [t, 'null'] if row['nullable'] else t


def request_schema(row):
    """The JSON Schema of a row as a request field."""
    t, s = row['type'], {}
    if t == 'boolean':
        s['type'] = nullable('boolean', row)
    elif t == 'integer' and row.get('keywords'):
        s['anyOf'] = [{'type': 'integer', 'minimum': row['minimum'], 'maximum': row['maximum']},
                      {'type': 'string', 'enum': row['keywords']}]
        if row['nullable']:
            s['anyOf'].append({'type': 'null'})
    elif t == 'integer':
        s.update(type=nullable('integer', row), minimum=row['minimum'], maximum=row['maximum'])
    elif t == 'enum':
        s.update(type=nullable('string', row), enum=row['keywords'] + ([None] if row['nullable'] else []))
    elif t == 'strings':
        s.update(type=nullable('array', row), maxItems=row['max_items'],
                 items={'type': 'string', 'maxLength': row['max_length']})
    elif t == 'path':
        s.update(type='string', pattern='^/', maxLength=row['max_length'])
    else:
        raise SystemExit(f"scanopt_openapi.py: row {row['name']}: unknown type {t}")
    if 'default' in row:
        s['default'] = row['default']
    return s


def echo_schema(row):
    """The JSON Schema of a row's value in the echoed options: types only."""
    full = request_schema(row)
    if 'anyOf' in full:
        return {'anyOf': [{'type': a['type']} for a in full['anyOf']]}
    s = {'type': full['type']}
    if 'enum' in full:
        s['enum'] = full['enum']
    if 'items' in full:
        s['items'] = {'type': 'string'}
    return s


def compare(where, want, prop, problems):
    got = {k: prop[k] for k in CHECKED if k in prop}
    for k in sorted(set(want) | set(got)):
        if k not in got:
            problems.append(f"{where}: openapi.yaml lacks {k}: {json.dumps(want[k])} (the table says so)")
        elif k not in want:
            problems.append(f"{where}: openapi.yaml has {k}: {json.dumps(got[k])}, the table has none")
        elif not same(want[k], got[k]):
            problems.append(f"{where}: {k} is {json.dumps(got[k])} in openapi.yaml, "
                            f"{json.dumps(want[k])} in the table")


def check_object(name, schema, rows, schema_of, problems):
    props = schema.get('properties', {})
    names = [r['name'] for r in rows]
    for n in sorted(set(names) - set(props)):
        problems.append(f"{name}: the table has the field '{n}', openapi.yaml does not")
    for n in sorted(set(props) - set(names)):
        problems.append(f"{name}: openapi.yaml has the field '{n}', the table does not")
    for r in rows:
        if r['name'] in props:
            compare(f"{name}.{r['name']}", schema_of(r), props[r['name']], problems)


def main():
    table = json.load(open(sys.argv[1]))
    spec = yaml.load(open(sys.argv[2]), Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))
    schemas = spec['components']['schemas']
    rows = table['options']
    problems = []

    req = schemas.get('ScanRequest')
    if not req:
        raise SystemExit('openapi.yaml has no components.schemas.ScanRequest')
    if req.get('type') != 'object' or req.get('additionalProperties') is not False:
        problems.append('ScanRequest: must be an object with additionalProperties: false '
                        '(unknown fields are refused)')
    check_object('ScanRequest', req, rows, request_schema, problems)
    want_req = sorted(r['name'] for r in rows if r['required'])
    if sorted(req.get('required', [])) != want_req:
        problems.append(f"ScanRequest: required is {req.get('required', [])}, the table requires {want_req}")

    echoed = [r for r in rows if r['echoed']]
    opts = schemas.get('ScanOptions')
    if not opts:
        raise SystemExit('openapi.yaml has no components.schemas.ScanOptions')
    check_object('ScanOptions', opts, echoed, echo_schema, problems)
    want_echo = sorted(r['name'] for r in echoed)
    if sorted(opts.get('required', [])) != want_echo:
        problems.append(f"ScanOptions: required is {opts.get('required', [])}, every echoed option "
                        f"is always present: {want_echo}")

    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"scanopt_openapi: {len(rows)} fields of ScanRequest and {len(echoed)} of ScanOptions "
          "match the table")
    return 0


if __name__ == '__main__':
    sys.exit(main())
