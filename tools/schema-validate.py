#!/usr/bin/env python3
"""Validate JSON documents against a JSON Schema, offline.

    schema-validate.py SCHEMA DOC [DOC ...]      (DOC "-" reads standard input)

Every *.json file in SCHEMA's folder that declares an id ($id, or id in
draft-04) is loaded first, so references between the schemas of one folder
(docs/schemas/audit.schema.json <-> preflight.schema.json) resolve without
any network access; a reference to anything else fails instead of being
fetched. The draft comes from each schema's "$schema" (draft-04 for SARIF
2.1.0, 2020-12 for eksegress's own).

Prints "ok DOC" per valid document, or one line per problem:
"DOC: /json/pointer: message". Exit 0 when all are valid, 1 when any is
not, 2 on a usage error, an unreadable file, or jsonschema missing (Debian:
apt-get install python3-jsonschema).
"""
import json
import os
import sys

try:
    import jsonschema
    from jsonschema.validators import validator_for
except ImportError:
    sys.stderr.write("schema-validate: python3-jsonschema is not installed (apt-get install python3-jsonschema)\n")
    sys.exit(2)


def load(path):
    if path == "-":
        return json.load(sys.stdin)
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def schema_id(schema):
    if not isinstance(schema, dict):
        return None
    return schema.get("$id") or schema.get("id")


def folder_schemas(schema_path):
    store = {}
    folder = os.path.dirname(os.path.abspath(schema_path))
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        try:
            s = load(os.path.join(folder, name))
        except (OSError, ValueError):
            continue
        sid = schema_id(s)
        if sid:
            store[sid.rstrip("#")] = s
    return store


def make_validator(schema, store):
    cls = validator_for(schema)
    cls.check_schema(schema)
    checker = getattr(cls, "FORMAT_CHECKER", None) or jsonschema.FormatChecker()
    try:
        # jsonschema >= 4.18: the referencing library; an empty retrieve
        # function means an unknown URI is an error, never a download.
        from referencing import Registry, Resource
        from referencing.exceptions import NoSuchResource

        def refuse(uri):
            raise NoSuchResource(ref=uri)

        registry = Registry(retrieve=refuse).with_resources(
            (sid, Resource.from_contents(s)) for sid, s in store.items())
        return cls(schema, registry=registry, format_checker=checker)
    except ImportError:
        def refuse_old(uri):
            raise jsonschema.RefResolutionError("not in the schema folder (no download): %s" % uri)
        resolver = jsonschema.RefResolver.from_schema(
            schema, store=store, handlers={"http": refuse_old, "https": refuse_old})
        return cls(schema, resolver=resolver, format_checker=checker)


def deepest(e):
    """For oneOf/anyOf failures, the sub-error that reaches deepest into the
    document: the branch that matched best ("not of type null" explains
    nothing when the value is an object)."""
    while e.context:
        e = max(e.context, key=lambda sub: len(sub.absolute_path))
    return e


def pointer(path):
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    try:
        schema = load(argv[1])
        validator = make_validator(schema, folder_schemas(argv[1]))
    except (OSError, ValueError, jsonschema.SchemaError) as e:
        sys.stderr.write("schema-validate: %s: %s\n" % (argv[1], e))
        return 2
    bad = False
    for path in argv[2:]:
        try:
            doc = load(path)
        except (OSError, ValueError) as e:
            sys.stderr.write("schema-validate: %s: %s\n" % (path, e))
            return 2
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            bad = True
            for e in errors:
                e = deepest(e)
                msg = e.message if len(e.message) <= 300 else e.message[:300] + "..."
                print("%s: %s: %s" % (path, pointer(e.absolute_path), msg))
        else:
            print("ok %s" % path)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
