// Tests of the spec version gate (node --test; run by
// `scripts/spec/spec-version-gate --self-test`, which .ci/run calls). Each test
// edits a copy of the real openapi/ folder (specs, released copies,
// CHANGELOG) in a temporary directory and runs the gate on it.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

import { bumpLevel, gate, nextVersion, parseChangelog, satisfies } from "./spec-change.mjs";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

const copies = [];
after(() => copies.forEach((root) => fs.rmSync(root, { recursive: true, force: true })));

/// A copy of the repository's openapi/ folder as just released: every spec's
/// released copy is the spec as it is now, so each test starts from a clean
/// state whatever changes the repository has not released yet. Returns its root.
function copy() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "spec-gate-"));
  copies.push(root);
  const openapi = path.join(root, "openapi");
  fs.cpSync(path.join(repo, "openapi"), openapi, { recursive: true });
  for (const file of fs.readdirSync(openapi)) {
    if (file.endsWith(".yaml")) {
      fs.copyFileSync(path.join(openapi, file), path.join(openapi, "released", file));
    }
  }
  return root;
}

/// `version` moved by one `level` (major, minor or patch).
function bump(version, level) {
  const [major, minor, patch] = version.split(".").map(Number);
  return { major: `${major + 1}.0.0`, minor: `${major}.${minor + 1}.0`, patch: `${major}.${minor}.${patch + 1}` }[level];
}

/// A regular expression that matches `text` literally.
function literally(text) {
  return new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
}

function edit(root, file, from, to) {
  const p = path.join(root, file);
  const text = fs.readFileSync(p, "utf8");
  assert.ok(text.includes(from), `${file} has no ${JSON.stringify(from)} to edit`);
  fs.writeFileSync(p, text.replace(from, to));
}

function version(root, name) {
  const text = fs.readFileSync(path.join(root, "openapi", `${name}.yaml`), "utf8");
  return /^  version: (\S+)$/m.exec(text)[1];
}

function setVersion(root, name, to) {
  edit(root, `openapi/${name}.yaml`, `  version: ${version(root, name)}\n`, `  version: ${to}\n`);
}

function addEntry(root, heading, sentence) {
  const p = path.join(root, "openapi", "CHANGELOG.md");
  const text = fs.readFileSync(p, "utf8");
  const at = text.indexOf("\n## ");
  fs.writeFileSync(p, `${text.slice(0, at)}\n## ${heading}\n\n### Changed\n\n- ${sentence}\n${text.slice(at)}`);
}

const PER_PAGE_FROM = "        minimum: 1\n        maximum: 1000\n";
const PER_PAGE_TO = "        minimum: 1\n        maximum: 500\n";

function run(root) {
  const { ok, lines } = gate(root);
  return { ok, text: lines.join("\n") };
}

test("the repository's specs pass as they are", () => {
  const { ok, text } = run(repo);
  assert.ok(ok, text);
});

test("a perPage maximum lowered without a version bump fails as breaking, naming perPage", () => {
  const root = copy();
  const major = bump(version(root, "ccs-v1"), "major");
  edit(root, "openapi/ccs-v1.yaml", PER_PAGE_FROM, PER_PAGE_TO);
  const { ok, text } = run(root);
  assert.equal(ok, false, text);
  assert.match(text, literally(`FAIL ccs-v1: major change(s) need info.version >= ${major}`));
  assert.match(text, /^    breaking: .*`perPage`.*: 1000 -> 500$/m);
  assert.match(text, literally(`## ccs-v1 ${major}`), "says which CHANGELOG section to write");
  assert.match(text, /^ok   ccs-v2/m, "the other specs still pass");
});

test("the same edit with a major bump and a CHANGELOG entry passes", () => {
  const root = copy();
  const released = version(root, "ccs-v1");
  const major = bump(released, "major");
  edit(root, "openapi/ccs-v1.yaml", PER_PAGE_FROM, PER_PAGE_TO);
  setVersion(root, "ccs-v1", major);
  addEntry(root, `ccs-v1 ${major}`, "`perPage` takes at most 500 entries per page (was 1000).");
  const { ok, text } = run(root);
  assert.ok(ok, text);
  assert.match(text, new RegExp(`${literally(`ok   ccs-v1: ${released} -> ${major}, `).source}\\d+ breaking`));
});

test("a major bump without a CHANGELOG entry fails", () => {
  const root = copy();
  const major = bump(version(root, "ccs-v1"), "major");
  edit(root, "openapi/ccs-v1.yaml", PER_PAGE_FROM, PER_PAGE_TO);
  setVersion(root, "ccs-v1", major);
  const { ok, text } = run(root);
  assert.equal(ok, false, text);
  assert.match(text, literally(`FAIL ccs-v1: version ${major} has no entry in openapi/CHANGELOG.md`));
});

test("a CHANGELOG heading with no sentence under it does not count", () => {
  const root = copy();
  const patch = bump(version(root, "ccs-v2"), "patch");
  setVersion(root, "ccs-v2", patch);
  const p = path.join(root, "openapi", "CHANGELOG.md");
  fs.appendFileSync(p, `\n## ccs-v2 ${patch}\n\n### Changed\n`);
  const { ok, text } = run(root);
  assert.equal(ok, false, text);
  assert.match(text, literally(`FAIL ccs-v2: version ${patch} has no entry`));
});

test("a breaking change with only a minor bump fails", () => {
  const root = copy();
  const released = version(root, "ccs-v1");
  const minor = bump(released, "minor");
  edit(root, "openapi/ccs-v1.yaml", PER_PAGE_FROM, PER_PAGE_TO);
  setVersion(root, "ccs-v1", minor);
  addEntry(root, `ccs-v1 ${minor}`, "`perPage` takes at most 500.");
  const { ok, text } = run(root);
  assert.equal(ok, false, text);
  assert.match(text, literally(`need info.version >= ${bump(released, "major")} (${released} -> ${minor}`));
});

test("a reworded description needs a patch bump and an entry", () => {
  const root = copy();
  edit(root, "openapi/ccs-v2.yaml", "description: The outcome of a write or delete.", "description: What a write or delete answers.");
  const patch = bump(version(root, "ccs-v2"), "patch");
  let result = run(root);
  assert.equal(result.ok, false, result.text);
  assert.match(result.text, literally(`FAIL ccs-v2: patch change(s) need info.version >= ${patch}`));
  assert.match(result.text, /^    annotation: /m);
  setVersion(root, "ccs-v2", patch);
  addEntry(root, `ccs-v2 ${patch} - 2026-12-01`, "The DocumentResult description is reworded.");
  result = run(root);
  assert.ok(result.ok, result.text);
});

test("an added optional property is non-breaking: a patch bump is not enough, a minor one is", () => {
  const root = copy();
  edit(
    root,
    "openapi/messaging.yaml",
    "        ctype:\n",
    "        companyBranch:\n          type: string\n          description: The branch.\n        ctype:\n",
  );
  const released = version(root, "messaging");
  const [patch, minor] = [bump(released, "patch"), bump(released, "minor")];
  setVersion(root, "messaging", patch);
  addEntry(root, `messaging ${patch}`, "Customer Info takes `companyBranch`.");
  let result = run(root);
  assert.equal(result.ok, false, result.text);
  assert.match(result.text, literally(`FAIL messaging: minor change(s) need info.version >= ${minor}`));
  setVersion(root, "messaging", minor);
  addEntry(root, `messaging ${minor}`, "Customer Info takes `companyBranch`.");
  result = run(root);
  assert.ok(result.ok, result.text);
});

test("a new spec needs a CHANGELOG entry for its first version", () => {
  const root = copy();
  const first = version(root, "ccs-v2");
  fs.copyFileSync(path.join(root, "openapi", "ccs-v2.yaml"), path.join(root, "openapi", "extra.yaml"));
  let result = run(root);
  assert.equal(result.ok, false, result.text);
  assert.match(result.text, /FAIL extra: new spec \(no openapi\/released\/extra\.yaml\) without an entry/);
  assert.match(result.text, literally(`## extra ${first}`));
  addEntry(root, `extra ${first}`, "First release.");
  result = run(root);
  assert.ok(result.ok, result.text);
  assert.match(result.text, literally(`ok   extra ${first}: new spec`));
});

test("a version that goes down fails", () => {
  const root = copy();
  const [major] = version(root, "messaging").split(".").map(Number);
  setVersion(root, "messaging", `${major - 1}.9.9`);
  addEntry(root, `messaging ${major - 1}.9.9`, "Down.");
  const { ok, text } = run(root);
  assert.equal(ok, false, text);
  assert.match(text, /FAIL messaging: info\.version went down/);
});

test("a removed spec fails while its released copy remains", () => {
  const root = copy();
  fs.rmSync(path.join(root, "openapi", "messaging.yaml"));
  const { ok, text } = run(root);
  assert.equal(ok, false, text);
  assert.match(text, /FAIL messaging: openapi\/released\/messaging\.yaml has no openapi\/messaging\.yaml/);
});

test("semantic versioning arithmetic", () => {
  assert.equal(bumpLevel([1, 2, 3], [2, 0, 0]), "major");
  assert.equal(bumpLevel([1, 2, 3], [1, 3, 0]), "minor");
  assert.equal(bumpLevel([1, 2, 3], [1, 2, 4]), "patch");
  assert.equal(bumpLevel([1, 2, 3], [1, 2, 3]), "none");
  assert.equal(bumpLevel([1, 2, 3], [1, 1, 9]), null);
  assert.deepEqual(nextVersion([1, 2, 3], "major"), [2, 0, 0]);
  assert.deepEqual(nextVersion([0, 2, 3], "major"), [0, 3, 0]);
  assert.ok(satisfies([1, 0, 0], [3, 0, 0], "major"));
  assert.ok(!satisfies([1, 0, 0], [1, 9, 0], "major"));
  assert.ok(satisfies([0, 2, 0], [0, 3, 0], "major"));
  assert.ok(satisfies([1, 0, 0], [1, 0, 0], "none"));
  const sections = parseChangelog("## a 1.0.0 - 2026-01-01\n\n### Added\n\n- One.\n## b v2.0.0\n- Two.\n- Three.\n");
  assert.deepEqual(sections.get("a 1.0.0"), ["One."]);
  assert.deepEqual(sections.get("b 2.0.0"), ["Two.", "Three."]);
});
