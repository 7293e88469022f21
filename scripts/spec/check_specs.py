#!/usr/bin/env python3
"""Project checks of the OpenAPI specs that third-party validators miss.

    scripts/spec/check_specs.py [--validator PATH] [SPEC ...]
    scripts/spec/check_specs.py --self-test [--validator PATH]

Without SPEC arguments it checks the project's specs, those listed in
openapi/specs.txt. Run it through scripts/spec/spec-gate, which installs the pinned tools of scripts/spec/requirements-spec.txt into
target/spec-venv and passes `--validator` (the openapi-spec-validator CLI, run
on each spec first).

What it checks, each failure printed as `problem: FILE#POINTER (line N): message`:

* The YAML parses, with no duplicate mapping key (PyYAML would keep the last
  one silently). Scalars are read as serde_yaml (build.rs) reads them: an
  unquoted date stays a string, only true/false are booleans.
* Every `$ref` anywhere in the document resolves (local `#/...` references
  only); a `$ref` in a schema, parameter, response, request body, header or
  example position points into the matching `#/components/...` section;
  `discriminator.mapping` targets resolve.
* Every example validates against its own schema: `example` and
  `examples.*.value` of every media type (request bodies, responses), of every
  parameter and header (against its `schema`), and `example` of every schema
  (component, inline, and nested property/items/composition schemas); `default`
  values too. OpenAPI 3.0 schemas are converted to JSON Schema draft 4 (the
  dialect OpenAPI 3.0 is based on): `nullable: true` allows null;
  `example`, `xml`, `externalDocs`, `deprecated`, `readOnly`, `writeOnly` and
  `x-*` are dropped, `discriminator` is ignored (kept only to name the meant
  `oneOf` branch in an error message); `$ref` siblings are ignored, as OpenAPI
  3.0 says. Formats checked: `date-time` (RFC 3339), `date`, `uuid`, `int32`,
  `int64`; other formats are ignored.
* Every operation has a unique snake_case `operationId` (unique across all the
  specs checked), a `summary`, a `description`, at least one tag (declared in
  the top-level `tags`), and at least one 2xx response; every 2xx response
  with content has an `example` or `examples` on each media type; the path
  parameters named in the path template and those declared (path item plus
  operation) are the same, and each is `required: true`; security requirements
  name declared schemes; a media type or parameter does not carry both
  `example` and `examples`.
* When the project specs are checked: their operations are exactly
  EXPECTED_OPERATIONS (59), so a removed or renamed operation fails.
* Always: openapi/specs.txt is well formed (`FILE MODULE [types]`), lists every openapi/*.yaml, and
  names the same specs as EXPECTED_OPERATIONS (a listed spec without its
  entry, or an entry for a spec not listed, fails before anything else).

`--self-test` copies the real specs into a temporary directory, breaks each
copy in one known way (a broken `$ref` in a request body schema, examples that
violate their schemas, a duplicate operationId, ...), runs this script on it
and asserts that the break is reported and the exit code is 1.

Exit code: 0 when no problem, 1 when any problem (or a self-test failure),
2 on a usage error.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, unquote

try:
    import yaml
    from jsonschema import Draft4Validator, FormatChecker
    from referencing import Registry
    from referencing.jsonschema import DRAFT4
except ImportError as exc:  # pragma: no cover - environment problem
    sys.exit(
        f"check_specs.py: {exc}; run it through scripts/spec/spec-gate, which installs "
        "scripts/spec/requirements-spec.txt into target/spec-venv"
    )

REPO = Path(__file__).resolve().parents[2]
# The one list of the project's specs (`FILE MODULE` a line; see its header).
SPECS_LIST = "openapi/specs.txt"
# `FILE MODULE [types]`: `types` (Rust types only, no client) needs a module.
SPECS_LIST_LINE_RE = re.compile(
    r"^(?P<file>[^/\s]+\.yaml)\s+(?:[A-Za-z_][A-Za-z0-9_]*|-)$"
    r"|^(?P<typesfile>[^/\s]+\.yaml)\s+[A-Za-z_][A-Za-z0-9_]*\s+types$"
)

# The operations of each spec of openapi/specs.txt, by file name. Keep in
# step with the specs and the crate: a removed or renamed operation must fail
# the gate. A listed spec with no entry here fails the gate too.
EXPECTED_OPERATIONS: dict[str, tuple[str, ...]] = {
    "ccs-v1.yaml": (
        "create_namespace",
        "list_namespaces",
        "delete_namespace",
        "set_namespace_properties",
        "get_namespace_properties",
        "set_namespace_property",
        "get_namespace_property",
        "delete_namespace_property",
        "set_session_properties",
        "get_session_properties",
        "delete_session_properties",
        "set_session_property",
        "get_session_property",
        "delete_session_property",
        "list_session_ids",
        "list_session_properties",
        "set_session_ttl",
        "list_session_ttls",
    ),
    "ccs-v2.yaml": (
        "upsert_document",
        "get_namespace_document",
        "get_session_document",
        "get_document_properties",
        "delete_document_properties",
    ),
    "messaging.yaml": (
        "create_conversation",
        "send_to_conversation",
        "upload_file",
        "download_file",
    ),
    "domain.yaml": ("get_service_domain", "list_service_domains", "list_service_domains_plain"),
    "connector-auth.yaml": ("get_app_jwt", "get_app_jwt_v2", "get_consumer_jws"),
    # The emulator's own routes (`ccs serve`), not generated into the crate.
    "emulator-admin.yaml": (
        "reset_emulator",
        "list_requests",
        "clear_requests",
        "inject_fault",
        "list_faults",
        "clear_faults",
        "delete_fault",
        "get_clock",
        "advance_clock",
        "get_spec",
        "get_docs",
        "get_webhooks",
        "put_webhooks",
        "get_conversation",
        "agent_accept",
        "agent_text",
        "agent_file",
        "agent_rich_content",
        "agent_chat_state",
        "agent_read",
        "agent_transfer",
        "agent_close",
    ),
    # The connector's own endpoint, as LivePerson's webhooks call it (Rust
    # types only).
    "connector-webhooks.yaml": (
        "receive_content_event",
        "receive_rich_content_event",
        "receive_accept_status_event",
        "receive_chat_state_event",
        "receive_conversation_change",
    ),
}
EXPECTED_TOTAL = 60
assert sum(len(v) for v in EXPECTED_OPERATIONS.values()) == EXPECTED_TOTAL

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
OPERATION_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
SUCCESS_RE = re.compile(r"^2(?:[0-9][0-9]|XX)$")
PATH_TEMPLATE_RE = re.compile(r"\{([^{}/]+)\}")
COMPOSITION = ("allOf", "anyOf", "oneOf", "not")
# OpenAPI 3.0 schema keywords that JSON Schema does not have, or that do not
# constrain an instance. `nullable` is handled, then dropped. `discriminator`
# is kept: JSON Schema ignores it, and an error message uses it to name the
# `oneOf` branch the example meant.
DROPPED_KEYWORDS = {
    "example",
    "xml",
    "externalDocs",
    "deprecated",
    "readOnly",
    "writeOnly",
    "nullable",
}
BASE_URI = "urn:liveperson-ccs:openapi"
ALL_SPECS = "(all specs)"  # the file name of problems about the set of specs
MAX_ERRORS_PER_VALUE = 5
MAX_MESSAGE = 400


# --------------------------------------------------------------------------
# YAML loading


class SpecLoader(yaml.SafeLoader):
    """YAML 1.2-like scalars, as serde_yaml (build.rs, progenitor) reads them."""


SpecLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def esc(token: Any) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def jp(base: str, *tokens: Any) -> str:
    """Append tokens to a JSON pointer."""
    return base + "".join("/" + esc(t) for t in tokens)


def unesc(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def ptr_tokens(pointer: str) -> list[str]:
    return [unesc(t) for t in pointer.split("/")[1:]] if pointer else []


def step(node: Any, token: str) -> Any:
    if isinstance(node, dict):
        if token in node:
            return node[token]
        for key in node:  # an unquoted `200:` is an int key
            if not isinstance(key, str) and str(key) == token:
                return node[key]
        raise KeyError(token)
    if isinstance(node, list):
        if token.isdigit() and int(token) < len(node):
            return node[int(token)]
        raise KeyError(token)
    raise KeyError(token)


def ptr_get(doc: Any, pointer: str) -> Any:
    node = doc
    for token in ptr_tokens(pointer):
        node = step(node, token)
    return node


def ptr_set(doc: Any, pointer: str, value: Any) -> None:
    tokens = ptr_tokens(pointer)
    parent = ptr_get(doc, "".join("/" + esc(t) for t in tokens[:-1]))
    last = tokens[-1]
    if isinstance(parent, list):
        parent[int(last)] = value
        return
    for key in parent:
        if not isinstance(key, str) and str(key) == last:
            parent[key] = value
            return
    parent[last] = value


def str_keys(node: Any) -> Any:
    """A deep copy with every mapping key a string (an unquoted `200:` is an int)."""
    if isinstance(node, dict):
        return {str(k): str_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [str_keys(v) for v in node]
    return copy.deepcopy(node)


def short(text: str, limit: int = MAX_MESSAGE) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------
# Formats


def make_format_checker() -> FormatChecker:
    wanted = ("date-time", "date", "uuid")
    missing = [f for f in wanted if f not in FormatChecker.checkers]
    if missing:
        sys.exit(f"check_specs.py: jsonschema cannot check the formats {missing}")
    checker = FormatChecker(formats=wanted)

    def int_range(bits: int) -> Callable[[Any], bool]:
        def check(value: Any) -> bool:
            if isinstance(value, int) and not isinstance(value, bool):
                return -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)
            return True

        return check

    checker.checks("int32")(int_range(32))
    checker.checks("int64")(int_range(64))
    # jsonschema skips `date-time` silently when rfc3339-validator is missing:
    # make sure it really checks.
    if checker.conforms("2021-02-30T25:61:00Z", "date-time") or not checker.conforms(
        "2021-05-11T22:37:39.176Z", "date-time"
    ):
        sys.exit(
            "check_specs.py: date-time checking is not active; install "
            "rfc3339-validator (scripts/spec/requirements-spec.txt)"
        )
    return checker


FORMAT_CHECKER: FormatChecker | None = None


# --------------------------------------------------------------------------
# Error messages


def branch_errors(err: Any) -> list:
    """The errors of the oneOf/anyOf branch the instance most likely meant."""
    groups: dict[Any, list] = {}
    for e in err.context:
        key = e.relative_schema_path[0] if e.relative_schema_path else None
        groups.setdefault(key, []).append(e)
    branches = err.validator_value if isinstance(err.validator_value, list) else []
    schema = err.schema if isinstance(err.schema, dict) else {}
    disc = schema.get("discriminator")
    if isinstance(disc, dict) and isinstance(err.instance, dict):
        value = err.instance.get(disc.get("propertyName"))
        target = (disc.get("mapping") or {}).get(value) if isinstance(value, str) else None
        names = {target, f"#/components/schemas/{value}", value} - {None}
        for i, sub in enumerate(branches):
            if isinstance(sub, dict) and sub.get("$ref") in names:
                return groups.get(i, [])

    def score(item: tuple) -> tuple:
        _, errs = item
        wrong_kind = sum(
            1 for e in errs if e.validator in ("type", "enum") and len(e.relative_path) <= 1
        )
        return (wrong_kind, len(errs), -max(len(e.path) for e in errs))

    candidates = [
        (i, errs) for i, errs in groups.items()
        # a `nullable` wrapper's {"type": "null"} branch says nothing
        if not (isinstance(i, int) and i < len(branches)
                and branches[i] == {"type": "null"})
    ]
    return min(candidates, key=score)[1] if candidates else list(err.context)


def closest_error(err: Any) -> Any:
    """Descend through oneOf/anyOf errors to the most telling leaf error."""
    for _ in range(64):
        if not err.context:
            return err
        errs = branch_errors(err)
        if not errs:
            return err
        err = max(errs, key=lambda e: (len(e.path), not e.context))
    return err


# --------------------------------------------------------------------------
# One spec


@dataclass
class Problem:
    file: str
    pointer: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"problem: {self.file}#{self.pointer}{where}: {self.message}"


@dataclass
class Job:
    """A value (example or default) to validate against a schema."""

    kind: str  # "example" or "default"
    value_ptr: str  # where the value is (or, for a $ref'd example, its use)
    value: Any
    schema_ptr: str  # where the schema is, in the original document
    note: str = ""


@dataclass
class Operation:
    operation_id: Any
    pointer: str


@dataclass
class Spec:
    path: Path
    display: str
    doc: Any = None
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)
    schema_roots: list[str] = field(default_factory=list)
    literal_ptrs: set[str] = field(default_factory=set)
    typed_refs: list[tuple[str, str, str]] = field(default_factory=list)
    pmap: dict[str, str] = field(default_factory=dict)
    examples_checked: int = 0
    defaults_checked: int = 0
    validator_status: str = "not run"

    # ---- reporting

    def line_of(self, pointer: str) -> int | None:
        p = pointer
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return None
            p = p.rsplit("/", 1)[0]

    def problem(self, pointer: str, message: str, line: int | None = None) -> None:
        prob = Problem(self.display, pointer, line or self.line_of(pointer), message)
        if not any(str(prob) == str(p) for p in self.problems):
            self.problems.append(prob)

    # ---- loading

    def load(self) -> bool:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            self.problem("", f"cannot read: {exc}")
            return False
        try:
            node = yaml.compose(text, Loader=SpecLoader)
            self.doc = yaml.load(text, Loader=SpecLoader)
        except yaml.YAMLError as exc:
            self.problem("", f"YAML does not parse: {short(exc)}")
            return False
        if node is not None:
            self.index_nodes(node, "")
        if not isinstance(self.doc, dict):
            self.problem("", "the document is not a mapping")
            return False
        return True

    def index_nodes(self, node: yaml.Node, pointer: str) -> None:
        """Line numbers by JSON pointer, and duplicate keys."""
        self.lines.setdefault(pointer, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                child = jp(pointer, key)
                line = key_node.start_mark.line + 1
                if key in seen:
                    self.problem(
                        child,
                        f"duplicate key '{key}' (first on line {seen[key]}); "
                        "YAML readers keep only one of them",
                        line,
                    )
                    continue
                seen[key] = line
                self.lines[child] = line
                self.index_nodes(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.index_nodes(item, jp(pointer, i))

    # ---- references

    def resolve(self, ref: Any) -> tuple[bool, Any]:
        """(True, target) or (False, reason)."""
        if not isinstance(ref, str):
            return False, f"$ref is not a string: {ref!r}"
        if not ref.startswith("#"):
            return False, "not a local reference (only '#/...' references are supported)"
        pointer = unquote(ref[1:])
        if pointer and not pointer.startswith("/"):
            return False, "the fragment is not a JSON pointer"
        node = self.doc
        walked = ""
        for token in ptr_tokens(pointer):
            try:
                node = step(node, token)
            except KeyError:
                where = "#" + walked if walked else "the document root"
                return False, f"there is no '{token}' in {where}"
            walked = jp(walked, token)
        return True, node

    def deref(self, obj: Any) -> tuple[Any, str | None]:
        """Follow $ref chains. Returns (object, pointer of the final target)."""
        target_ptr = None
        for _ in range(32):
            if not (isinstance(obj, dict) and "$ref" in obj):
                return obj, target_ptr
            ok, target = self.resolve(obj["$ref"])
            if not ok:
                return None, None
            target_ptr = unquote(obj["$ref"][1:])
            obj = target
        return None, None

    def check_all_refs(self, node: Any, pointer: str) -> None:
        if pointer in self.literal_ptrs:
            return
        if isinstance(node, dict):
            if "$ref" in node and isinstance(node["$ref"], str):
                ok, reason = self.resolve(node["$ref"])
                if not ok:
                    self.problem(
                        jp(pointer, "$ref"),
                        f"$ref '{node['$ref']}' does not resolve: {reason}",
                    )
            for key, value in node.items():
                if key == "$ref":
                    continue
                self.check_all_refs(value, jp(pointer, key))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                self.check_all_refs(item, jp(pointer, i))

    def typed_ref(self, obj: dict, pointer: str, section: str) -> None:
        self.typed_refs.append((jp(pointer, "$ref"), obj["$ref"], section))

    def check_typed_refs(self) -> None:
        for pointer, ref, section in self.typed_refs:
            if not isinstance(ref, str):
                self.problem(pointer, f"$ref is not a string: {ref!r}")
                continue
            ok, _ = self.resolve(ref)
            prefix = f"#/components/{section}/"
            if ok and not ref.startswith(prefix):
                self.problem(
                    pointer,
                    f"$ref '{ref}' is in a {section} position but does not point into "
                    f"'{prefix}'",
                )

    # ---- structural walk

    def walk(self) -> None:
        doc = self.doc
        self.check_security(doc.get("security"), "/security")
        tag_names = {
            t.get("name") for t in (doc.get("tags") or []) if isinstance(t, dict)
        }
        paths = doc.get("paths")
        if not isinstance(paths, dict):
            self.problem("/paths", "no paths")
            paths = {}
        for path, item in paths.items():
            if str(path).startswith("x-"):
                continue
            self.walk_path_item(str(path), item, jp("/paths", path), tag_names)

        comps = doc.get("components") or {}
        if not isinstance(comps, dict):
            return
        for name, schema in (comps.get("schemas") or {}).items():
            self.walk_schema(schema, jp("/components/schemas", name), root=True)
        for name, param in (comps.get("parameters") or {}).items():
            self.walk_parameter(param, jp("/components/parameters", name))
        for name, header in (comps.get("headers") or {}).items():
            self.walk_parameter(header, jp("/components/headers", name), header=True)
        for name, body in (comps.get("requestBodies") or {}).items():
            self.walk_request_body(body, jp("/components/requestBodies", name))
        for name, resp in (comps.get("responses") or {}).items():
            self.walk_response(resp, jp("/components/responses", name))
        for name, ex in (comps.get("examples") or {}).items():
            p = jp("/components/examples", name)
            if isinstance(ex, dict) and "$ref" in ex:
                self.typed_ref(ex, p, "examples")
            elif isinstance(ex, dict) and "value" in ex:
                self.literal_ptrs.add(jp(p, "value"))

    def check_security(self, reqs: Any, pointer: str) -> None:
        if reqs is None:
            return
        schemes = ((self.doc.get("components") or {}).get("securitySchemes")) or {}
        for i, req in enumerate(reqs if isinstance(reqs, list) else []):
            for name in req if isinstance(req, dict) else []:
                if name not in schemes:
                    self.problem(
                        jp(pointer, i, name),
                        f"security requirement names '{name}', which is not in "
                        "#/components/securitySchemes",
                    )

    def walk_path_item(self, path: str, item: Any, pointer: str, tag_names: set) -> None:
        if not isinstance(item, dict):
            self.problem(pointer, "the path item is not a mapping")
            return
        if "$ref" in item:
            self.typed_refs.append((jp(pointer, "$ref"), item["$ref"], "pathItems"))
            resolved, _ = self.deref(item)
            if not isinstance(resolved, dict):
                return
            item = resolved
        item_params = item.get("parameters") or []
        self.walk_parameter_list(item_params, jp(pointer, "parameters"))
        for method in HTTP_METHODS:
            if method in item:
                self.walk_operation(
                    path, item[method], jp(pointer, method), item_params,
                    jp(pointer, "parameters"), tag_names,
                )

    def walk_parameter_list(self, params: Any, pointer: str) -> list[tuple[dict, str]]:
        """Walk a parameters list; return the resolved (parameter, pointer) pairs."""
        out = []
        if not isinstance(params, list):
            self.problem(pointer, "parameters is not a list")
            return out
        seen: dict[tuple, str] = {}
        for i, param in enumerate(params):
            p = jp(pointer, i)
            if isinstance(param, dict) and "$ref" in param:
                self.typed_ref(param, p, "parameters")
            else:
                self.walk_parameter(param, p)
            resolved, _ = self.deref(param)
            if not isinstance(resolved, dict):
                continue
            key = (resolved.get("name"), resolved.get("in"))
            if key in seen:
                self.problem(
                    p,
                    f"parameter '{key[0]}' in {key[1]} is declared twice in this list "
                    f"(also at {seen[key]})",
                )
            seen[key] = p
            out.append((resolved, p))
        return out

    def walk_operation(
        self, path: str, op: Any, pointer: str, item_params: Any, item_params_ptr: str,
        tag_names: set,
    ) -> None:
        if not isinstance(op, dict):
            self.problem(pointer, "the operation is not a mapping")
            return
        op_id = op.get("operationId")
        self.operations.append(Operation(op_id, pointer))
        if op_id is None:
            self.problem(pointer, "the operation has no operationId")
        elif not isinstance(op_id, str) or not OPERATION_ID_RE.match(op_id):
            self.problem(
                jp(pointer, "operationId"),
                f"operationId {op_id!r} is not snake_case (^[a-z][a-z0-9_]*$)",
            )
        for key in ("summary", "description"):
            value = op.get(key)
            if not isinstance(value, str) or not value.strip():
                self.problem(
                    jp(pointer, key) if key in op else pointer,
                    f"operation {op_id!r} has no {key}",
                )
        tags = op.get("tags")
        if not isinstance(tags, list) or not tags:
            self.problem(
                jp(pointer, "tags") if "tags" in op else pointer,
                f"operation {op_id!r} has no tag",
            )
        else:
            for i, tag in enumerate(tags):
                if tag not in tag_names:
                    self.problem(
                        jp(pointer, "tags", i),
                        f"operation {op_id!r} has tag {tag!r}, which the top-level "
                        "`tags` list does not declare",
                    )
        self.check_security(op.get("security"), jp(pointer, "security"))

        # Parameters: the operation's override the path item's by (name, in).
        item_list = self.path_params_quiet(item_params, item_params_ptr)
        op_list = self.walk_parameter_list(op.get("parameters") or [], jp(pointer, "parameters"))
        effective: dict[tuple, tuple[dict, str]] = {}
        for param, p in item_list + op_list:
            effective[(param.get("name"), param.get("in"))] = (param, p)
        declared = {
            name: (param, p) for (name, where), (param, p) in effective.items()
            if where == "path"
        }
        in_template = PATH_TEMPLATE_RE.findall(path)
        for name in in_template:
            if name not in declared:
                self.problem(
                    pointer,
                    f"operation {op_id!r}: path parameter '{{{name}}}' of '{path}' is "
                    "not declared (no `in: path` parameter of that name)",
                )
        for name, (param, p) in declared.items():
            if name not in in_template:
                self.problem(
                    p,
                    f"operation {op_id!r}: path parameter '{name}' is declared but "
                    f"'{path}' has no '{{{name}}}'",
                )
            elif param.get("required") is not True:
                self.problem(p, f"path parameter '{name}' must be `required: true`")

        body = op.get("requestBody")
        if body is not None:
            bp = jp(pointer, "requestBody")
            if isinstance(body, dict) and "$ref" in body:
                self.typed_ref(body, bp, "requestBodies")
            else:
                self.walk_request_body(body, bp)

        responses = op.get("responses")
        rp = jp(pointer, "responses")
        if not isinstance(responses, dict) or not responses:
            self.problem(pointer, f"operation {op_id!r} has no responses")
            return
        success = 0
        for code, resp in responses.items():
            p = jp(rp, code)
            if isinstance(resp, dict) and "$ref" in resp:
                self.typed_ref(resp, p, "responses")
                resolved, target = self.deref(resp)
            else:
                self.walk_response(resp, p)
                resolved, target = resp, None
            if not SUCCESS_RE.match(str(code)):
                continue
            success += 1
            if not isinstance(resolved, dict):
                continue
            content = resolved.get("content") or {}
            for media_type, media in content.items() if isinstance(content, dict) else []:
                has = isinstance(media, dict) and (
                    "example" in media or bool(media.get("examples"))
                )
                if not has:
                    via = f" (defined at #{target})" if target else ""
                    self.problem(
                        jp(p, "content", media_type) if target is None else p,
                        f"operation {op_id!r}: {code} response content '{media_type}'"
                        f"{via} has no example",
                    )
        if success == 0:
            self.problem(rp, f"operation {op_id!r} has no 2xx response")

    def path_params_quiet(self, params: Any, pointer: str) -> list[tuple[dict, str]]:
        """Resolve a path item's parameters (already walked and reported)."""
        out = []
        for i, param in enumerate(params if isinstance(params, list) else []):
            resolved, _ = self.deref(param)
            if isinstance(resolved, dict):
                out.append((resolved, jp(pointer, i)))
        return out

    def walk_parameter(self, param: Any, pointer: str, header: bool = False) -> None:
        """A Parameter or Header object (not a $ref)."""
        if not isinstance(param, dict):
            self.problem(pointer, "not a mapping")
            return
        if "$ref" in param:
            self.typed_ref(param, pointer, "headers" if header else "parameters")
            return
        if "schema" in param:
            sp = jp(pointer, "schema")
            self.walk_schema(param["schema"], sp, root=True)
            self.collect_examples(param, pointer, sp)
        elif "content" in param:
            for media_type, media in (param.get("content") or {}).items():
                self.walk_media(media, jp(pointer, "content", media_type))
            self.collect_examples(param, pointer, None)
        else:
            self.collect_examples(param, pointer, None)

    def walk_request_body(self, body: Any, pointer: str) -> None:
        if not isinstance(body, dict):
            self.problem(pointer, "the request body is not a mapping")
            return
        content = body.get("content")
        if not isinstance(content, dict) or not content:
            self.problem(pointer, "the request body has no content")
            return
        for media_type, media in content.items():
            self.walk_media(media, jp(pointer, "content", media_type))

    def walk_response(self, resp: Any, pointer: str) -> None:
        if not isinstance(resp, dict):
            self.problem(pointer, "the response is not a mapping")
            return
        for name, header in (resp.get("headers") or {}).items():
            hp = jp(pointer, "headers", name)
            if isinstance(header, dict) and "$ref" in header:
                self.typed_ref(header, hp, "headers")
            else:
                self.walk_parameter(header, hp, header=True)
        for media_type, media in (resp.get("content") or {}).items():
            self.walk_media(media, jp(pointer, "content", media_type))

    def walk_media(self, media: Any, pointer: str) -> None:
        if not isinstance(media, dict):
            self.problem(pointer, "the media type object is not a mapping")
            return
        schema_ptr = None
        if "schema" in media:
            schema_ptr = jp(pointer, "schema")
            self.walk_schema(media["schema"], schema_ptr, root=True)
        self.collect_examples(media, pointer, schema_ptr)
        for name, enc in (media.get("encoding") or {}).items():
            for hname, header in ((enc or {}).get("headers") or {}).items():
                hp = jp(pointer, "encoding", name, "headers", hname)
                if isinstance(header, dict) and "$ref" in header:
                    self.typed_ref(header, hp, "headers")
                else:
                    self.walk_parameter(header, hp, header=True)

    def collect_examples(self, obj: dict, pointer: str, schema_ptr: str | None) -> None:
        """`example` and `examples` of a media type, parameter or header."""
        if "example" in obj and "examples" in obj:
            self.problem(pointer, "`example` and `examples` are mutually exclusive")
        if "example" in obj:
            p = jp(pointer, "example")
            self.literal_ptrs.add(p)
            if schema_ptr:
                self.jobs.append(Job("example", p, obj["example"], schema_ptr))
        examples = obj.get("examples")
        if examples is None:
            return
        if not isinstance(examples, dict):
            self.problem(jp(pointer, "examples"), "`examples` is not a mapping")
            return
        for name, ex in examples.items():
            p = jp(pointer, "examples", name)
            note = ""
            if isinstance(ex, dict) and "$ref" in ex:
                self.typed_ref(ex, p, "examples")
                resolved, target = self.deref(ex)
                if resolved is None:
                    continue  # reported by the $ref check
                ex, note = resolved, f" (#{target})"
                value_ptr = p
            else:
                value_ptr = jp(p, "value")
            if not isinstance(ex, dict):
                self.problem(p, "the example object is not a mapping")
                continue
            if "value" in ex:
                self.literal_ptrs.add(value_ptr)
                if schema_ptr:
                    self.jobs.append(Job("example", value_ptr, ex["value"], schema_ptr, note))
            elif "externalValue" not in ex:
                self.problem(p, "the example has neither `value` nor `externalValue`")

    def walk_schema(self, schema: Any, pointer: str, root: bool = False) -> None:
        if root:
            self.schema_roots.append(pointer)
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            self.typed_ref(schema, pointer, "schemas")
            return  # siblings of $ref are ignored in OpenAPI 3.0
        for key in ("example", "default"):
            if key in schema:
                p = jp(pointer, key)
                self.literal_ptrs.add(p)
                self.jobs.append(Job(key, p, schema[key], pointer))
        if "enum" in schema:
            self.literal_ptrs.add(jp(pointer, "enum"))
        disc = schema.get("discriminator")
        if isinstance(disc, dict):
            for value, target in (disc.get("mapping") or {}).items():
                p = jp(pointer, "discriminator", "mapping", value)
                self.literal_ptrs.add(p)
                if isinstance(target, str) and target.startswith("#"):
                    ok, reason = self.resolve(target)
                    if not ok:
                        self.problem(
                            p, f"discriminator mapping '{target}' does not resolve: {reason}"
                        )
                elif isinstance(target, str) and "/" not in target:
                    names = (self.doc.get("components") or {}).get("schemas") or {}
                    if target not in names:
                        self.problem(
                            p, f"discriminator mapping '{target}' names no component schema"
                        )
                else:
                    self.problem(p, f"discriminator mapping {target!r} is not local")
        for name, sub in (schema.get("properties") or {}).items():
            self.walk_schema(sub, jp(pointer, "properties", name))
        for key in ("additionalProperties", "items", "not"):
            if isinstance(schema.get(key), dict):
                self.walk_schema(schema[key], jp(pointer, key))
        for key in ("allOf", "anyOf", "oneOf"):
            for i, sub in enumerate(schema.get(key) or []):
                self.walk_schema(sub, jp(pointer, key, i))

    # ---- OpenAPI 3.0 schema -> JSON Schema draft 4

    def convert(self, schema: Any, optr: str, cptr: str) -> Any:
        if not isinstance(schema, dict):
            return copy.deepcopy(schema)
        self.pmap[optr] = cptr
        if "$ref" in schema:
            return {"$ref": schema["$ref"]}
        nullable = schema.get("nullable") is True
        wrap = nullable and any(k in schema for k in COMPOSITION)
        base = cptr + "/anyOf/1" if wrap else cptr
        out: dict[str, Any] = {}
        for key, value in schema.items():
            if key in DROPPED_KEYWORDS or str(key).startswith("x-"):
                continue
            if key == "properties" and isinstance(value, dict):
                out[key] = {
                    name: self.convert(sub, jp(optr, key, name), jp(base, key, name))
                    for name, sub in value.items()
                }
            elif key in ("additionalProperties", "items", "not") and isinstance(value, dict):
                out[key] = self.convert(value, jp(optr, key), jp(base, key))
            elif key in ("allOf", "anyOf", "oneOf", "items") and isinstance(value, list):
                out[key] = [
                    self.convert(sub, jp(optr, key, i), jp(base, key, i))
                    for i, sub in enumerate(value)
                ]
            else:
                out[key] = copy.deepcopy(value)
        if nullable:
            if wrap:
                return {"anyOf": [{"type": "null"}, out]}
            if isinstance(out.get("type"), str):
                out["type"] = [out["type"], "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        return out

    def validate_jobs(self) -> None:
        conv = str_keys(self.doc)  # JSON pointers address string keys only
        for root in self.schema_roots:
            try:
                ptr_set(conv, root, self.convert(ptr_get(self.doc, root), root, root))
            except (KeyError, IndexError, TypeError):
                continue
        uri = f"{BASE_URI}:{esc(self.path.name)}"
        registry = Registry().with_resource(uri, DRAFT4.create_resource(conv))
        for job in self.jobs:
            cptr = self.pmap.get(job.schema_ptr)
            if cptr is None:
                continue
            schema_obj = ptr_get(self.doc, job.schema_ptr)
            schema_desc = "#" + job.schema_ptr
            if isinstance(schema_obj, dict) and isinstance(schema_obj.get("$ref"), str):
                schema_desc += f" -> {schema_obj['$ref']}"
            validator = Draft4Validator(
                {"$ref": uri + "#" + quote(cptr, safe="/~")},
                registry=registry,
                format_checker=FORMAT_CHECKER,
            )
            if job.kind == "example":
                self.examples_checked += 1
            else:
                self.defaults_checked += 1
            try:
                errors = sorted(
                    validator.iter_errors(job.value),
                    key=lambda e: [str(x) for x in e.absolute_path],
                )
            except Exception as exc:  # unresolvable $ref, bad pattern, ...
                inner = getattr(exc, "_wrapped", exc)
                if isinstance(getattr(inner, "ref", None), str):
                    ref = inner.ref if not inner.ref.startswith("/") else "#" + inner.ref
                    why = f"its schema has an unresolvable $ref '{ref}'"
                else:
                    why = f"{type(inner).__name__}: {short(inner, 200)}"
                self.problem(
                    job.value_ptr,
                    f"{job.kind}{job.note} cannot be validated against schema "
                    f"{schema_desc}: {why}",
                )
                continue
            for err in errors[:MAX_ERRORS_PER_VALUE]:
                msg = f"at {err.json_path}: {short(err.message, 200)}"
                if err.context:
                    bm = closest_error(err)
                    if bm is not err:
                        msg += f" (closest: at {bm.json_path}: {short(bm.message, 200)})"
                self.problem(
                    job.value_ptr,
                    f"{job.kind}{job.note} does not match its schema {schema_desc}: {msg}",
                )
            if len(errors) > MAX_ERRORS_PER_VALUE:
                self.problem(
                    job.value_ptr,
                    f"{job.kind}{job.note}: {len(errors) - MAX_ERRORS_PER_VALUE} more "
                    "schema errors",
                )

    # ---- all

    def run_validator(self, validator: str) -> None:
        try:
            proc = subprocess.run(
                [validator, str(self.path)], capture_output=True, text=True, timeout=300
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.validator_status = "could not run"
            self.problem("", f"openapi-spec-validator could not run: {exc}")
            return
        if proc.returncode == 0:
            self.validator_status = "OK"
            return
        self.validator_status = "FAILED"
        output = (proc.stdout + proc.stderr).strip()
        self.problem(
            "",
            f"openapi-spec-validator failed (exit {proc.returncode}):\n    "
            + "\n    ".join(output.splitlines()[:40]),
        )

    def check(self, validator: str | None) -> None:
        if validator:
            self.run_validator(validator)
        if not self.load():
            return
        self.walk()
        self.check_all_refs(self.doc, "")
        self.check_typed_refs()
        self.validate_jobs()


# --------------------------------------------------------------------------
# All specs


def display_name(path: Path) -> str:
    """The path relative to the current directory when inside it, else absolute."""
    resolved = path.resolve()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(resolved)


def check_specs(paths: list[Path], validator: str | None) -> int:
    global FORMAT_CHECKER
    FORMAT_CHECKER = make_format_checker()
    specs = [Spec(path, display_name(path)) for path in paths]

    all_ids: dict[str, tuple[Spec, str]] = {}
    for spec in specs:
        spec.check(validator)
        for op in spec.operations:
            if not isinstance(op.operation_id, str):
                continue
            if op.operation_id in all_ids:
                other, where = all_ids[op.operation_id]
                place = "" if other is spec else f"{other.display}"
                spec.problem(
                    jp(op.pointer, "operationId"),
                    f"duplicate operationId '{op.operation_id}' (also at "
                    f"{place}#{where})",
                )
            else:
                all_ids[op.operation_id] = (spec, op.pointer)

    total_ops = sum(len(s.operations) for s in specs)
    global_problems: list[Problem] = []
    set_checked = sorted(p.name for p in paths) == sorted(EXPECTED_OPERATIONS)
    if set_checked:
        for spec in specs:
            found = {op.operation_id for op in spec.operations}
            expected = set(EXPECTED_OPERATIONS[spec.path.name])
            for missing in sorted(expected - found):
                spec.problem(
                    "/paths",
                    f"expected operation '{missing}' is missing (removed or renamed?)",
                )
            for extra in sorted(str(x) for x in found - expected):
                spec.problem(
                    "/paths",
                    f"operation '{extra}' is not in the expected list "
                    "(scripts/spec/check_specs.py EXPECTED_OPERATIONS)",
                )
        if total_ops != EXPECTED_TOTAL:
            global_problems.append(
                Problem(
                    ALL_SPECS,
                    "/paths",
                    None,
                    f"the specs hold {total_ops} operations in all; expected exactly "
                    f"{EXPECTED_TOTAL}",
                )
            )

    for spec in specs:
        for prob in spec.problems:
            print(prob)
        parts = []
        if validator:
            parts.append(f"openapi-spec-validator {spec.validator_status}")
        parts += [
            f"{len(spec.operations)} operations",
            f"{spec.examples_checked} examples checked",
            f"{spec.defaults_checked} defaults checked",
            f"{len(spec.problems)} problems",
        ]
        print(f"{spec.display}: " + ", ".join(parts))

    for prob in global_problems:
        print(prob)
    n_problems = sum(len(s.problems) for s in specs) + len(global_problems)
    n_examples = sum(s.examples_checked for s in specs)
    if not set_checked:
        print(
            "note: the files are not the project specs; the expected operation "
            "set and count were not checked"
        )
    print(
        f"spec gate: {len(specs)} specs, {total_ops} operations, {n_examples} examples "
        f"checked, {n_problems} problems"
    )
    return 1 if n_problems else 0


# --------------------------------------------------------------------------
# Self-test


class NoTarget(Exception):
    pass


def operations_of(doc: dict):
    for path, item in (doc.get("paths") or {}).items():
        if not isinstance(item, dict):
            continue
        for method in HTTP_METHODS:
            if isinstance(item.get(method), dict):
                yield str(path), method, item[method], jp("/paths", path, method)


def deref_doc(doc: dict, obj: Any) -> Any:
    for _ in range(32):
        if not (isinstance(obj, dict) and isinstance(obj.get("$ref"), str)):
            return obj
        obj = ptr_get(doc, unquote(obj["$ref"][1:]))
    return obj


def wrong_value_for(doc: dict, schema: Any) -> Any:
    """A value of the wrong JSON type for a schema with a `type`."""
    schema = deref_doc(doc, schema)
    kind = schema.get("type") if isinstance(schema, dict) else None
    return {
        "object": ["not", "an", "object"],
        "array": {"not": "an array"},
        "string": 12345,
        "integer": "not an integer",
        "number": "not a number",
        "boolean": "not a boolean",
    }.get(kind, NoTarget)


# Each variant: (title, file, mutate). `mutate(doc)` breaks the doc in place and
# returns what must be reported: [(pointer, message fragment), ...], or
# (file, pointer, message fragment) for a problem reported on another file.


def v_ref_request_body_nested(doc: dict) -> list[tuple]:
    for _, _, op, p in operations_of(doc):
        content = (op.get("requestBody") or {}).get("content") or {}
        for mt, media in content.items():
            if isinstance(media, dict) and "schema" in media:
                sp = jp(p, "requestBody", "content", mt, "schema")
                media["schema"] = {
                    "allOf": [
                        media["schema"],
                        {
                            "type": "object",
                            "properties": {
                                "extra": {"$ref": "#/components/schemas/NoSuchSchema"}
                            },
                        },
                    ]
                }
                ptr = jp(sp, "allOf", 1, "properties", "extra", "$ref")
                return [(ptr, "does not resolve")]
    raise NoTarget


def v_ref_request_body_direct(doc: dict) -> list[tuple]:
    for _, _, op, p in operations_of(doc):
        content = (op.get("requestBody") or {}).get("content") or {}
        for mt, media in content.items():
            if isinstance(media, dict) and isinstance(media.get("schema"), dict):
                media["schema"] = {"$ref": "#/components/schemas/NoSuchRequest"}
                ptr = jp(p, "requestBody", "content", mt, "schema", "$ref")
                return [(ptr, "does not resolve")]
    raise NoTarget


def v_media_example_missing_required(doc: dict) -> list[tuple]:
    """Drop a required property from a request body example."""
    for _, _, op, p in operations_of(doc):
        content = (op.get("requestBody") or {}).get("content") or {}
        for mt, media in content.items():
            if not isinstance(media, dict) or not isinstance(media.get("example"), dict):
                continue
            schema = deref_doc(doc, media.get("schema"))
            required = [r for r in (schema or {}).get("required") or [] if r in media["example"]]
            if required:
                del media["example"][required[-1]]
                ptr = jp(p, "requestBody", "content", mt, "example")
                return [(ptr, f"'{required[-1]}' is a required property")]
    raise NoTarget


def v_named_example_wrong_type(doc: dict) -> list[tuple]:
    """Give an `examples.*.value` of a response the wrong JSON type."""
    for _, _, op, p in operations_of(doc):
        for code, resp in (op.get("responses") or {}).items():
            for mt, media in ((resp or {}).get("content") or {}).items():
                examples = (media or {}).get("examples") or {}
                for name, ex in examples.items():
                    if isinstance(ex, dict) and "value" in ex:
                        wrong = wrong_value_for(doc, media.get("schema"))
                        if wrong is NoTarget:
                            continue
                        ex["value"] = wrong
                        ptr = jp(p, "responses", code, "content", mt, "examples", name, "value")
                        return [(ptr, "does not match its schema")]
    raise NoTarget


def v_parameter_example_wrong_type(doc: dict) -> list[tuple]:
    for name, param in ((doc.get("components") or {}).get("parameters") or {}).items():
        if isinstance(param, dict) and "example" in param:
            wrong = wrong_value_for(doc, param.get("schema"))
            if wrong is NoTarget:
                continue
            param["example"] = wrong
            ptr = jp("/components/parameters", name, "example")
            return [(ptr, "does not match its schema")]
    raise NoTarget


def v_property_example_bad_date_time(doc: dict) -> list[tuple]:
    """A nested property's date-time example that is not a date-time."""
    for name, schema in ((doc.get("components") or {}).get("schemas") or {}).items():
        for prop, sub in ((schema or {}).get("properties") or {}).items():
            if isinstance(sub, dict) and sub.get("format") == "date-time":
                sub["example"] = "yesterday at noon"
                ptr = jp("/components/schemas", name, "properties", prop, "example")
                return [(ptr, "is not a 'date-time'")]
    raise NoTarget


def v_component_example_wrong_type(doc: dict) -> list[tuple]:
    for name, schema in ((doc.get("components") or {}).get("schemas") or {}).items():
        if isinstance(schema, dict) and "example" in schema:
            wrong = wrong_value_for(doc, schema)
            if wrong is NoTarget:
                continue
            schema["example"] = wrong
            return [(jp("/components/schemas", name, "example"), "does not match its schema")]
    raise NoTarget


def v_duplicate_operation_id(doc: dict) -> list[tuple]:
    ops = list(operations_of(doc))
    if len(ops) < 2:
        raise NoTarget
    first, second = ops[0][2], ops[1][2]
    second["operationId"] = first["operationId"]
    return [(jp(ops[1][3], "operationId"), f"duplicate operationId '{first['operationId']}'")]


def v_operation_id_camel_case(doc: dict) -> list[tuple]:
    _, _, op, p = next(operations_of(doc))
    old = op["operationId"]
    op["operationId"] = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), old) + "X"
    return [
        (jp(p, "operationId"), "is not snake_case"),
        ("/paths", f"expected operation '{old}' is missing"),
    ]


def v_operation_removed(doc: dict) -> list[tuple]:
    ops = list(operations_of(doc))
    path, method, op, _ = ops[-1]
    del doc["paths"][path][method]
    return [
        ("/paths", f"expected operation '{op['operationId']}' is missing"),
        (ALL_SPECS, "/paths", f"operations in all; expected exactly {EXPECTED_TOTAL}"),
    ]


def v_path_param_undeclared(doc: dict) -> list[tuple]:
    for path, item in (doc.get("paths") or {}).items():
        params = (item or {}).get("parameters") or []
        if len(params) >= 2 and PATH_TEMPLATE_RE.findall(str(path)):
            removed = deref_doc(doc, params.pop())
            for method in HTTP_METHODS:
                if method in item:
                    return [
                        (jp("/paths", path, method),
                         f"path parameter '{{{removed['name']}}}' of '{path}' is not declared")
                    ]
    raise NoTarget


def v_success_without_example(doc: dict) -> list[tuple]:
    for _, _, op, p in operations_of(doc):
        for code, resp in (op.get("responses") or {}).items():
            if not SUCCESS_RE.match(str(code)) or not isinstance(resp, dict) or "$ref" in resp:
                continue
            for mt, media in (resp.get("content") or {}).items():
                if isinstance(media, dict):
                    media.pop("example", None)
                    media.pop("examples", None)
                    return [(jp(p, "responses", code, "content", mt), "has no example")]
    raise NoTarget


def v_missing_summary(doc: dict) -> list[tuple]:
    _, _, op, p = next(operations_of(doc))
    del op["summary"]
    return [(p, "has no summary")]


VARIANTS: list[tuple[str, str, Callable[[dict], list[tuple]]]] = [
    ("broken $ref nested in a request body schema", "ccs-v2.yaml", v_ref_request_body_nested),
    ("broken $ref as a request body schema", "ccs-v1.yaml", v_ref_request_body_direct),
    ("request body example lacks a required property", "ccs-v2.yaml",
     v_media_example_missing_required),
    ("response examples.*.value of the wrong type", "ccs-v1.yaml", v_named_example_wrong_type),
    ("parameter example of the wrong type", "ccs-v1.yaml", v_parameter_example_wrong_type),
    ("nested property example is not a date-time", "ccs-v2.yaml",
     v_property_example_bad_date_time),
    ("component schema example of the wrong type", "messaging.yaml",
     v_component_example_wrong_type),
    ("duplicate operationId", "ccs-v1.yaml", v_duplicate_operation_id),
    ("operationId not snake_case", "ccs-v2.yaml", v_operation_id_camel_case),
    ("operation removed", "ccs-v2.yaml", v_operation_removed),
    ("path parameter not declared", "ccs-v1.yaml", v_path_param_undeclared),
    ("2xx response without example", "messaging.yaml", v_success_without_example),
    ("operation without summary", "ccs-v1.yaml", v_missing_summary),
]


def problem_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("problem: ")]


PROBLEM_RE = re.compile(r"^problem: (?P<file>[^#]*)#(?P<ptr>.*?)(?: \(line \d+\))?: (?P<msg>.*)$")


def matches(line: str, file_name: str, pointer: str, fragment: str) -> bool:
    m = PROBLEM_RE.match(line)
    return bool(
        m
        and (m["file"] if m["file"] == ALL_SPECS else Path(m["file"]).name) == file_name
        and m["ptr"] == pointer
        and fragment in m["msg"]
    )


def run_checker(files: list[Path], extra: list[str] = ()) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *extra, *map(str, files)],
        capture_output=True, text=True, timeout=300,
    )


def self_test(validator: str | None, spec_files: list[str]) -> int:
    real = [REPO / f for f in spec_files]
    failures = 0
    with tempfile.TemporaryDirectory(prefix="spec-self-test-") as tmp:
        base_dir = Path(tmp, "baseline")
        base_dir.mkdir()
        base_files = []
        for src in real:
            shutil.copyfile(src, base_dir / src.name)
            base_files.append(base_dir / src.name)
        baseline = run_checker(base_files)
        if baseline.returncode not in (0, 1) or "spec gate:" not in baseline.stdout:
            print("self-test: FAILED: the checker did not run on unmodified copies:")
            print(baseline.stdout + baseline.stderr)
            return 1
        base_problems = problem_lines(baseline.stdout)
        print(
            f"self-test: unmodified copies: exit {baseline.returncode}, "
            f"{len(base_problems)} problems (the real specs' own)"
        )

        for i, (title, file_name, mutate) in enumerate(VARIANTS, 1):
            vdir = Path(tmp, f"variant{i:02}")
            vdir.mkdir()
            files = []
            expected: list[tuple[str, str]] = []
            try:
                for src in real:
                    dst = vdir / src.name
                    files.append(dst)
                    if src.name != file_name:
                        shutil.copyfile(src, dst)
                        continue
                    doc = yaml.load(src.read_text(encoding="utf-8"), Loader=SpecLoader)
                    expected = mutate(doc)
                    dst.write_text(
                        yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100),
                        encoding="utf-8",
                    )
            except (NoTarget, StopIteration, KeyError, TypeError, AttributeError) as exc:
                failures += 1
                print(
                    f"self-test: FAILED: {title}: the real {file_name} has nothing to break "
                    f"this way any more ({type(exc).__name__}); update the self-test"
                )
                continue
            result = run_checker(files)
            lines = problem_lines(result.stdout)
            expected = [e if len(e) == 3 else (file_name, *e) for e in expected]
            missing = []
            for where, pointer, fragment in expected:
                hit = [ln for ln in lines if matches(ln, where, pointer, fragment)]
                old = [ln for ln in base_problems if matches(ln, where, pointer, fragment)]
                if not hit or old:
                    missing.append((where, pointer, fragment, bool(old)))
            if result.returncode != 1 or missing:
                failures += 1
                print(f"self-test: FAILED: {title} ({file_name}): exit {result.returncode}")
                for where, pointer, fragment, old in missing:
                    why = "already reported for the real specs" if old else "not reported"
                    print(f"    expected {where}#{pointer}: ...{fragment}... ({why})")
                print("    checker output:")
                print("\n".join("      " + ln for ln in (result.stdout + result.stderr).splitlines()))
                continue
            caught = [ln for ln in lines if any(matches(ln, *e) for e in expected)]
            note = ""
            if validator and "$ref" in title:
                v = subprocess.run(
                    [validator, str(vdir / file_name)], capture_output=True, text=True
                )
                note = (
                    " [openapi-spec-validator alone: "
                    + ("passed it, missed the break]" if v.returncode == 0 else "caught it too]")
                )
            print(f"self-test: caught: {title}{note}")
            for line in caught:
                # the file name and pointer only: line numbers are the copy's
                line = re.sub(r" \(line \d+\)", "", line.replace(str(vdir) + os.sep, ""))
                print(f"    {line}")

    total = len(VARIANTS)
    if failures:
        print(f"self-test: FAILED: {total - failures}/{total} broken variants caught")
        return 1
    print(f"self-test: {total}/{total} broken variants caught")
    return 0


# --------------------------------------------------------------------------


def read_spec_list() -> tuple[list[str], list[str]]:
    """The specs of openapi/specs.txt as `openapi/FILE` paths, in its order,
    and the problems found: a malformed or repeated line, a listed file that
    is missing, an openapi/*.yaml not listed, a listed spec without an
    EXPECTED_OPERATIONS entry, or an entry for a spec not listed."""
    problems: list[str] = []
    try:
        text = (REPO / SPECS_LIST).read_text(encoding="utf-8")
    except OSError as exc:
        return [], [f"{SPECS_LIST}: cannot be read: {exc}"]
    names: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = SPECS_LIST_LINE_RE.match(line)
        if not m:
            problems.append(
                f"{SPECS_LIST}:{number}: not 'FILE.yaml MODULE [types]' "
                f"(MODULE: a Rust module name, or -; types needs a module): {line}"
            )
            continue
        name = m["file"] or m["typesfile"]
        if name in names:
            problems.append(f"{SPECS_LIST}:{number}: {name} is listed twice")
            continue
        if not (REPO / "openapi" / name).is_file():
            problems.append(f"{SPECS_LIST}:{number}: openapi/{name} does not exist")
        names.append(name)
    if not names:
        problems.append(f"{SPECS_LIST} lists no spec")
    for path in sorted((REPO / "openapi").glob("*.yaml")):
        if path.name not in names:
            problems.append(
                f"openapi/{path.name} is not in {SPECS_LIST}: add a line for it "
                "(FILE MODULE), or move it out of openapi/"
            )
    for name in names:
        if name not in EXPECTED_OPERATIONS:
            problems.append(
                f"{SPECS_LIST} lists {name}, which has no EXPECTED_OPERATIONS entry in "
                "scripts/spec/check_specs.py: add its operationIds there (and to EXPECTED_TOTAL)"
            )
    for name in EXPECTED_OPERATIONS:
        if name not in names:
            problems.append(
                f"scripts/spec/check_specs.py EXPECTED_OPERATIONS has an entry for {name}, "
                f"which {SPECS_LIST} does not list"
            )
    return [f"openapi/{name}" for name in names], problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="Project checks of the OpenAPI specs (see the module docstring)."
    )
    parser.add_argument("specs", nargs="*", type=Path, help="spec files (default: the project specs)")
    parser.add_argument(
        "--validator", metavar="PATH",
        help="the openapi-spec-validator CLI, run on each spec first",
    )
    parser.add_argument(
        "--self-test", action="store_true",
        help="break copies of the real specs and assert that each break is caught",
    )
    args = parser.parse_args(argv)
    spec_files, problems = read_spec_list()
    if problems:
        for problem in problems:
            print(f"problem: {problem}")
        print(f"spec gate: FAILED: {SPECS_LIST} and EXPECTED_OPERATIONS must agree")
        return 1
    if args.self_test:
        if args.specs:
            parser.error("--self-test takes no spec arguments")
        global FORMAT_CHECKER
        FORMAT_CHECKER = make_format_checker()
        return self_test(args.validator, spec_files)
    paths = args.specs or [REPO / f for f in spec_files]
    return check_specs(paths, args.validator)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
