#!/usr/bin/env python3
"""The requests LivePerson's documents show, as the crate's own test data.

tests/it/request_shapes.rs checks every request snapshot against the requests
that LivePerson's documents show. `cargo test` must pass on a fresh clone,
where the documents (../shared/seeds/) are absent, so what the test needs
from them lives in tests/fixtures/documented-requests.json. This script
derives that data from the documents and checks that the fixture still
equals it:

  documented_requests.py [--seeds DIR] [--fixture FILE]          check
  documented_requests.py [--seeds DIR] [--fixture FILE] --write  rewrite
  documented_requests.py --self-test                             test this script

What is taken, as written (mistakes included: the test names each document
error it knows of, and how it reads the example):
- 001 (CCS v1 methods) and 002 (CCS v2 methods): every curl example: the
  document and line, the section heading, method, URL (path and query), the
  headers (the values of credential headers as `[redacted]`), and the `-d`
  body as a shell passes it to curl, as JSON when it is JSON, and as written
  in the document. 001's examples inside HTML comments (unsupported features)
  are kept apart, marked `in_html_comment`.
- 004 (Messaging CONVERSATION): the request line, the request header names,
  the body's content type, and the JSON request-body examples, which lost
  their braces in extraction: each is kept as the `"key": "value"` pairs
  (value null for `"key": {}`) of each payload.

The check exits 1 with a unified diff (fixture -> documents) when they
differ, 2 when the documents cannot be read.
"""

import argparse
import difflib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SEEDS = ROOT.parent / "shared" / "seeds"
DEFAULT_FIXTURE = ROOT / "tests" / "fixtures" / "documented-requests.json"

CREDENTIAL_HEADERS = {"maven-api-key", "authorization", "x-lp-on-behalf"}
ABOUT = (
    "The requests LivePerson's documents show (../shared/seeds/: 001 CCS v1 "
    "methods, 002 CCS v2 methods, 004 Messaging CONVERSATION), as written. "
    "Written by `scripts/docs-check/documented-requests --write`; CI's "
    "`scripts/docs-check/documented-requests` fails when the documents say otherwise. "
    "tests/it/request_shapes.rs checks the request snapshots against it. "
    "Credential header values are shown as [redacted]. Do not edit by hand."
)


class DocumentError(Exception):
    """The documents are missing or not as this script reads them."""


def read_seed(seeds, prefix):
    found = sorted(seeds.glob(f"{prefix}_*.txt"))
    if len(found) != 1:
        raise DocumentError(f"expected one document {prefix}_*.txt in {seeds}, found {len(found)}")
    return found[0].read_text(encoding="utf-8")


def shell_scan(text):
    """The words of a shell command, each with its source text, and whether
    the command ends inside a quote or after a `\\` (so it goes on).

    Quotes, escapes and `\\`-newline continuations as a POSIX shell reads
    them; an unquoted newline is whitespace (001 breaks one command across
    lines without a `\\`).
    """
    words = []  # (word, source text)
    word = []
    start = None
    is_open = False
    i, n = 0, len(text)

    def begin(at):
        nonlocal start
        if start is None:
            start = at

    while i < n:
        c = text[i]
        if c == "'":
            begin(i)
            is_open = True
            i += 1
            while i < n:
                if text[i] == "'":
                    is_open = False
                    break
                word.append(text[i])
                i += 1
            i += 1
        elif c == '"':
            begin(i)
            is_open = True
            i += 1
            while i < n:
                c = text[i]
                if c == '"':
                    is_open = False
                    break
                if c == "\\" and i + 1 < n and text[i + 1] in '"\\$`':
                    word.append(text[i + 1])
                    i += 2
                    continue
                if c == "\\" and i + 1 < n and text[i + 1] == "\n":
                    i += 2
                    continue
                word.append(c)
                i += 1
            i += 1
        elif c == "\\":
            if i + 1 >= n:
                is_open = True
                i += 1
            elif text[i + 1] == "\n":
                i += 2
            else:
                begin(i)
                word.append(text[i + 1])
                i += 2
        elif c.isspace():
            if start is not None:
                words.append(("".join(word), text[start:i]))
                word, start = [], None
            i += 1
        else:
            begin(i)
            word.append(c)
            i += 1
    if start is not None:
        words.append(("".join(word), text[start:]))
    return words, is_open


def parse_curl(seed, line, heading, text, in_comment):
    words = shell_scan(text)[0]
    where = f"{seed} line {line}"
    if not words or words[0][0] != "curl":
        raise DocumentError(f"{where}: not a curl command: {text!r}")
    method = url = data = data_as_written = None
    headers = []
    rest = iter(words[1:])
    for word, _ in rest:
        def value():
            try:
                return next(rest)
            except StopIteration:
                raise DocumentError(f"{where}: {word} without a value") from None

        if word in ("-X", "--request"):
            method = value()[0]
        elif word == "--url":
            url = value()[0]
        elif word in ("-H", "--header"):
            header = value()[0]
            if ":" not in header:
                raise DocumentError(f"{where}: header {header!r}")
            name, header_value = header.split(":", 1)
            name = name.strip().lower()
            header_value = header_value.strip()
            if name in CREDENTIAL_HEADERS:
                header_value = "[redacted]"
            headers.append([name, header_value])
        elif word in ("-d", "--data", "--data-raw"):
            data, data_as_written = value()
        elif word.startswith("-"):
            raise DocumentError(f"{where}: curl option {word} not understood")
        else:
            if url is not None:
                raise DocumentError(f"{where}: two URLs")
            url = word
    if url is None:
        raise DocumentError(f"{where}: no URL")
    if method is None:
        method = "POST" if data is not None else "GET"
    match = re.fullmatch(r"(?:https?://)?([^/?]*)([^?]*)(?:\?(.*))?", url, flags=re.S)
    body = None
    if data is not None:
        try:
            body = json.loads(data)
        except ValueError:
            body = None
    return {
        "document": seed,
        "line": line,
        "heading": heading,
        "in_html_comment": in_comment,
        "method": method,
        "url": url,
        "path": match.group(2),
        "query": match.group(3),
        "headers": headers,
        "data": data,
        "data_as_written": data_as_written,
        "body": body,
    }


def html_comment_lines(text):
    """The 1-based line numbers inside `<!-- ... -->` blocks."""
    lines = set()
    for m in re.finditer(r"<!--.*?(?:-->|\Z)", text, flags=re.S):
        first = text.count("\n", 0, m.start()) + 1
        last = text.count("\n", 0, m.end()) + 1
        lines.update(range(first, last + 1))
    return lines


def curl_examples(seed, text):
    """Every curl example of a document: a line starting with `curl`, and the
    lines after it while the command is unfinished (inside a quote, after a
    `\\`) or the next line goes on with a quoted argument or an option (001
    breaks `curl -X POST` / `"https://..."` across two lines)."""
    lines = text.split("\n")
    commented = html_comment_lines(text)
    # Headings: an example outside a comment takes none from inside one; an
    # example inside one reads its lines with the markers blanked.
    outside = ["" if n + 1 in commented else line for n, line in enumerate(lines)]
    inside = ["" if line.strip() in ("<!--", "-->") else line for line in lines]

    def heading_of(at):
        heading_lines = inside if at + 1 in commented else outside
        for i in range(at - 1, -1, -1):
            line = heading_lines[i].strip()
            if line.startswith("#"):
                return line.lstrip("#").strip()
            # 002 is plain text: a heading is the line before "This API ...".
            following = next((l.strip() for l in heading_lines[i + 1:at] if l.strip()), None)
            if (seed == "002" and line and following is not None
                    and following.startswith("This API")):
                return line
        return "(no heading)"

    examples = []
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("curl "):
            i += 1
            continue
        start = i
        command = []
        while i < len(lines):
            command.append(lines[i])
            i += 1
            unfinished = shell_scan("\n".join(command))[1]
            goes_on = i < len(lines) and lines[i].lstrip().startswith(('"', "'", "-"))
            if not (unfinished or goes_on):
                break
        examples.append(parse_curl(seed, start + 1, heading_of(start), "\n".join(command),
                                   start + 1 in commented))
    return examples


def pairs(line):
    """The `"key": "value"` (value a string) and `"key": {}` (value None)
    pairs of a line."""
    tokens = []
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if c == '"':
            s = []
            i += 1
            while i < n and line[i] != '"':
                if line[i] == "\\" and i + 1 < n:
                    i += 1
                s.append(line[i])
                i += 1
            tokens.append(("str", "".join(s)))
        elif c in ":{}":
            tokens.append((c, None))
        elif not c.isspace():
            tokens.append(("other", None))
        i += 1
    out = []
    for k, (kind, key) in enumerate(tokens):
        if kind != "str" or k + 1 >= len(tokens) or tokens[k + 1][0] != ":":
            continue
        after = tokens[k + 2:k + 4]
        if after and after[0][0] == "str":
            out.append([key, after[0][1]])
        elif len(after) == 2 and after[0][0] == "{" and after[1][0] == "}":
            out.append([key, None])
    return out


def json_bodies_004(text):
    """004's request bodies: runs of lines starting with `"`, `{`, `}`, `[`
    or `]` that hold a `"kind"`, split into payloads at each `"kind"`."""
    runs, run = [], []
    for line in text.split("\n"):
        t = line.strip()
        if t.startswith(('"', "{", "}", "[", "]")):
            run.append(t)
        elif run:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    bodies = []
    for run in runs:
        if not any(l.startswith('"kind"') for l in run):
            continue
        payloads = []
        for line in run:
            if line.startswith('"kind"'):
                payloads.append([])
            if not payloads:
                raise DocumentError(f"004: a body example does not start with \"kind\": {line!r}")
            payloads[-1].extend(pairs(line))
        bodies.append(payloads)
    return bodies


def section(text, title, header_line):
    """The non-empty lines after `title` and its table header, up to a blank line."""
    lines = [line.strip() for line in text.split("\n")]
    for i, line in enumerate(lines):
        if line != title:
            continue
        rest = iter(lines[i + 1:])
        if next((l for l in rest if l), None) != header_line:
            continue
        out = []
        for row in rest:
            if not row:
                break
            out.append(row)
        return out
    raise DocumentError(f"004: no section {title!r} with the table header {header_line!r}")


def messaging(text):
    request_lines = re.findall(r"^(?:GET|POST|PUT|PATCH|DELETE) https://\S+$", text, flags=re.M)
    headers = [row.split()[0].lower() for row in section(text, "Request Headers", "Header Description")]
    content_types = [row.split()[-1] for row in section(text, "Request Body", "Description Content-Type")]
    return {
        "document": "004",
        "request_lines": request_lines,
        "request_headers": headers,
        "content_types": content_types,
        "bodies": json_bodies_004(text),
    }


def derive(seeds):
    if not seeds.is_dir():
        raise DocumentError(f"the LivePerson documents are not in {seeds}")
    examples = curl_examples("001", read_seed(seeds, "001"))
    examples += curl_examples("002", read_seed(seeds, "002"))
    return {
        "about": ABOUT,
        "curl_examples": examples,
        "messaging": messaging(read_seed(seeds, "004")),
    }


def render(data):
    """Pretty JSON, two-space indent, with a list of plain values (a header
    pair, a 004 key-value pair) on one line."""

    def dump(value, indent):
        pad = "  " * (indent + 1)
        if isinstance(value, dict) and value:
            items = [f"{pad}{json.dumps(k, ensure_ascii=False)}: {dump(v, indent + 1)}"
                     for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
        if isinstance(value, list) and value:
            if all(not isinstance(v, (dict, list)) for v in value):
                return json.dumps(value, ensure_ascii=False)
            items = [pad + dump(v, indent + 1) for v in value]
            return "[\n" + ",\n".join(items) + "\n" + "  " * indent + "]"
        return json.dumps(value, ensure_ascii=False)

    return dump(data, 0) + "\n"


def check(seeds, fixture, write=False, out=sys.stdout):
    """0: the fixture equals the documents (or was written); 1: it has
    drifted (a diff is printed); 2: the documents cannot be read."""
    try:
        derived = render(derive(seeds))
    except DocumentError as error:
        print(f"documented requests: {error}", file=out)
        return 2
    if write:
        fixture.parent.mkdir(parents=True, exist_ok=True)
        fixture.write_text(derived, encoding="utf-8")
        print(f"documented requests: wrote {fixture}", file=out)
        return 0
    current = fixture.read_text(encoding="utf-8") if fixture.is_file() else ""
    if current == derived:
        count = len(json.loads(derived)["curl_examples"])
        print(f"documented requests: {fixture.name} equals the documents in {seeds} "
              f"({count} curl examples, 004's request)", file=out)
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True), derived.splitlines(keepends=True),
        fromfile=f"{fixture} (the fixture)", tofile=f"derived from {seeds}")
    out.write("".join(diff))
    print(f"documented requests: {fixture} has drifted from the documents in {seeds}.\n"
          "Read the diff; if the documents changed, run `scripts/docs-check/documented-requests --write`, "
          "then `cargo test --test it request_shapes::` and follow what it says.", file=out)
    return 1


def self_test(seeds, fixture):
    """The failure paths, on modified copies of the documents and the fixture."""
    import io

    failures = []

    def expect(label, want_rc, want_texts, seeds_dir, fixture_file):
        out = io.StringIO()
        rc = check(seeds_dir, fixture_file, out=out)
        text = out.getvalue()
        missing = [t for t in want_texts if t not in text]
        ok = rc == want_rc and not missing
        print(f"{'ok  ' if ok else 'FAIL'} self-test: {label} -> exit {rc}")
        if not ok:
            failures.append(label)
            print(f"     wanted exit {want_rc} and {missing} in:\n{text}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        copy = tmp / "seeds"
        shutil.copytree(seeds, copy)
        fixture_copy = tmp / "documented-requests.json"
        shutil.copy(fixture, fixture_copy)
        expect("unchanged copies", 0, ["equals the documents"], copy, fixture_copy)

        # A document changes one example's path: a diff naming the old and new.
        doc = next(copy.glob("002_*.txt"))
        text = doc.read_text(encoding="utf-8")
        old = "/v2/context/document/properties?"
        if text.count(old) != 1:
            raise SystemExit(f"self-test: 002 no longer has one {old!r}")
        doc.write_text(text.replace(old, "/v2/context/document/props?"), encoding="utf-8")
        expect("002 path changed", 1,
               ['-      "path": "/v2/context/document/properties"',
                '+      "path": "/v2/context/document/props"', "has drifted"], copy, fixture_copy)
        doc.write_text(text, encoding="utf-8")

        # A 004 body value changes.
        doc = next(copy.glob("004_*.txt"))
        text = doc.read_text(encoding="utf-8")
        doc.write_text(text.replace('"ctype": "vip"', '"ctype": "gold"'), encoding="utf-8")
        expect("004 body value changed", 1, ['+          ["ctype", "gold"]', "has drifted"], copy, fixture_copy)
        doc.write_text(text, encoding="utf-8")

        # The fixture is edited by hand: a header removed.
        data = json.loads(fixture_copy.read_text(encoding="utf-8"))
        data["curl_examples"][0]["headers"].pop()
        fixture_copy.write_text(render(data), encoding="utf-8")
        expect("fixture edited by hand", 1, ['+        ["content-type", "application/json"]', "has drifted"], copy,
               fixture_copy)

        # The fixture is missing: everything shows as added.
        fixture_copy.unlink()
        expect("fixture missing", 1, ['+  "curl_examples": [', "has drifted"], copy, fixture_copy)

        # The documents are missing.
        shutil.rmtree(copy)
        expect("documents missing", 2, ["the LivePerson documents are not in"], copy, fixture)

        # And through the command line, as CI runs it: the exit codes.
        shutil.copytree(seeds, copy)
        doc = next(copy.glob("001_*.txt"))
        doc.write_text(doc.read_text(encoding="utf-8").replace("myProperty4", "myProperty5"),
                       encoding="utf-8")
        for label, seeds_dir, want_rc in (("unchanged", seeds, 0), ("001 changed", copy, 1),
                                          ("documents missing", tmp / "nowhere", 2)):
            done = subprocess.run(
                [sys.executable, __file__, "--seeds", str(seeds_dir), "--fixture", str(fixture)],
                capture_output=True, text=True, check=False)
            ok = done.returncode == want_rc
            print(f"{'ok  ' if ok else 'FAIL'} self-test: command line, {label} -> exit "
                  f"{done.returncode}")
            if not ok:
                failures.append(f"command line, {label}")
    if failures:
        print(f"documented requests self-test: {len(failures)} failed: {failures}")
        return 1
    print("documented requests self-test: all failure paths seen")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=Path, default=DEFAULT_SEEDS,
                        help="the LivePerson documents (default: ../shared/seeds)")
    parser.add_argument("--fixture", type=Path, default=DEFAULT_FIXTURE,
                        help="default: tests/fixtures/documented-requests.json")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the fixture from the documents")
    mode.add_argument("--self-test", action="store_true",
                      help="check the failure paths on modified copies")
    args = parser.parse_args()
    if args.self_test:
        return self_test(args.seeds, args.fixture)
    return check(args.seeds, args.fixture, write=args.write)


if __name__ == "__main__":
    sys.exit(main())
