#!/usr/bin/env python3
"""Derives a JSON schema (draft 2020-12) of one OCSF event class from an ocsf-schema checkout.

OCSF publishes its schema as a dictionary of attributes, object definitions and class
definitions (github.com/ocsf/ocsf-schema, Apache-2.0), not as a JSON schema; the OCSF server
renders those into JSON schemas, but it is a service, and tests here must not need the network.
This script does the same rendering for the parts a producer is held to:

- a class's attributes: its own, those of the classes it extends, and of its `$include`d
  profiles (all allowed; `requirement: required` ones required, except a profile's: it applies
  only where a producer says it uses the profile);
- each attribute's type from the dictionary: scalar types to JSON types (with the dictionary's
  `regex` for datetime_t and friends), object types to `$ref`s into `$defs`, `is_array` to arrays;
- `*_id` enums (the dictionary's, extended by the class's own), `class_uid`, `category_uid` and
  `type_uid` fixed to the class's numbers;
- objects' `constraints` (`at_least_one`, `just_one`) as `anyOf` / `oneOf` of `required`;
- observable `type_id`s from the dictionary's `observable` numbers, as the server fills them;
- `additionalProperties: false` everywhere (but `object`, the type of `unmapped`), so a misspelt attribute fails validation.

Usage: derive.py <ocsf-schema checkout> <class name> > out.json
"""

import json
import os
import sys

SCALARS = {
    "boolean_t": {"type": "boolean"},
    "integer_t": {"type": "integer"},
    "long_t": {"type": "integer"},
    "float_t": {"type": "number"},
    "string_t": {"type": "string"},
    "json_t": {},
}


def load(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return json.load(f)


def index(root, folder):
    """Definitions under `folder` by their `name`."""
    out = {}
    for dirpath, _, names in os.walk(os.path.join(root, folder)):
        for n in sorted(names):
            if n.endswith(".json"):
                rel = os.path.relpath(os.path.join(dirpath, n), root)
                d = load(root, rel)
                if "name" in d:
                    out[d["name"]] = d
    return out


def attributes(root, defs, d):
    """A definition's attributes, merged over what it extends and includes."""
    merged = {}
    parent = d.get("extends")
    if parent and parent in defs and defs[parent] is not d:
        merged.update(attributes(root, defs, defs[parent]))
    own = dict(d.get("attributes", {}))
    for inc in own.pop("$include", []):
        # A profile's attributes are allowed, and required only where the profile is applied.
        for k, v in load(root, inc).get("attributes", {}).items():
            merged[k] = {**merged.get(k, {}), **v, "requirement": "optional"}
    for k, v in own.items():
        base = merged.get(k, {})
        merged[k] = {**base, **v}
        if "enum" in base and "enum" in v:
            # A class's enum adds to (and recaptions) the enum it inherits, as OCSF's server does.
            merged[k]["enum"] = {**base["enum"], **v["enum"]}
    return merged


def constraints(defs, d):
    c = dict(d.get("constraints", {}))
    parent = d.get("extends")
    while not c and parent in defs:
        c = dict(defs[parent].get("constraints", {}))
        parent = defs[parent].get("extends")
    return c


class Deriver:
    def __init__(self, root):
        self.root = root
        dictionary = load(root, "dictionary.json")
        self.dict_attrs = dictionary["attributes"]
        self.types = dictionary["types"]["attributes"]
        self.objects = index(root, "objects")
        self.defs = {}

    def scalar(self, t):
        seen = t
        while seen not in SCALARS and seen in self.types:
            seen = self.types[seen].get("type", "string_t")
        s = dict(SCALARS.get(seen, {}))
        info = self.types.get(t, {})
        if "regex" in info and s.get("type") == "string" and t != "uuid_t":
            s["pattern"] = info["regex"]
        if "range" in info:
            s["minimum"], s["maximum"] = info["range"]
        return s

    def attr(self, name, spec):
        d = {**self.dict_attrs.get(name, {}), **spec}
        t = d.get("type")
        if t is None:
            s = {}
        elif t in self.types or t in SCALARS:
            s = self.scalar(t)
        elif t in self.objects:
            self.object(t)
            s = {"$ref": f"#/$defs/{t}"}
        else:
            s = {}
        enum = {**self.dict_attrs.get(name, {}).get("enum", {}), **spec.get("enum", {})}
        if enum and s.get("type") == "integer":
            s["enum"] = sorted(int(k) for k in enum)
        if d.get("is_array"):
            s = {"type": "array", "items": s}
        return s

    def properties(self, attrs):
        props, required = {}, []
        for name in sorted(attrs):
            spec = attrs[name]
            props[name] = self.attr(name, spec)
            if spec.get("requirement") == "required":
                required.append(name)
        return props, required

    def object(self, name):
        if name in self.defs:
            return
        self.defs[name] = {}  # placeholder: objects refer to themselves
        if name == "object":
            # The base of all objects, and the type of `unmapped`: any JSON object.
            self.defs[name] = {"type": "object"}
            return
        d = self.objects[name]
        props, required = self.properties(attributes(self.root, self.objects, d))
        s = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            s["required"] = required
        c = constraints(self.objects, d)
        if "at_least_one" in c:
            s["anyOf"] = [{"required": [k]} for k in c["at_least_one"]]
        if "just_one" in c:
            s["oneOf"] = [{"required": [k]} for k in c["just_one"]]
        if name == "observable":
            # The server fills observable types in from the dictionary's `observable` numbers.
            ids = {int(t["observable"]) for t in self.types.values() if "observable" in t}
            ids |= {int(a["observable"]) for a in self.dict_attrs.values() if "observable" in a}
            ids |= {int(o["observable"]) for o in self.objects.values() if "observable" in o}
            tid = s["properties"]["type_id"]
            tid["enum"] = sorted(set(tid["enum"]) | ids)
        self.defs[name] = s

    def event(self, class_name):
        classes = index(self.root, "events")
        d = classes[class_name]
        categories = load(self.root, "categories.json")["attributes"]
        category = classes[d["extends"]].get("category") or d.get("category")
        while category is None:
            parent = classes[d["extends"]]
            category = parent.get("category")
        cat_uid = categories[category]["uid"]
        class_uid = cat_uid * 1000 + d["uid"]
        attrs = attributes(self.root, classes, d)
        props, required = self.properties(attrs)
        props["category_uid"] = {"const": cat_uid}
        props["class_uid"] = {"const": class_uid}
        activities = props.get("activity_id", {}).get("enum", [])
        props["type_uid"] = {"enum": [class_uid * 100 + a for a in activities]}
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"OCSF {d['caption']} (class_uid {class_uid}), derived by derive.py",
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
            "$defs": dict(sorted(self.defs.items())),
        }


def main():
    root, class_name = sys.argv[1], sys.argv[2]
    version = load(root, "version.json")["version"]
    schema = Deriver(root).event(class_name)
    schema["description"] = f"OCSF schema version {version}"
    json.dump(schema, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
