// The spec-change checks behind scripts/spec/spec-diff and scripts/spec/spec-version-gate.
//
//   node spec-change.mjs diff [--root DIR] [--base-ref REF] [--gate]
//   node spec-change.mjs gate [--root DIR]
//
// Every change between a spec's baseline and its current text is classified
// by api-smart-diff as breaking, non-breaking, annotation, deprecated or
// unclassified. The baseline of openapi/NAME.yaml is its last released copy,
// openapi/released/NAME.yaml (written by `scripts/spec/publish-spec --release`),
// or, with --base-ref REF, the file at that git ref.
//
// The gate (semantic versioning of each spec, against the released copy):
//   breaking                     -> the major version moves (the minor one while it is 0)
//   non-breaking, deprecated     -> at least the minor version moves
//   annotation, unclassified     -> at least the patch version moves
// and openapi/CHANGELOG.md has a section `## NAME VERSION` with at least one
// `- sentence` under it for the new version. A spec with no released copy
// (a new spec) needs such a section for its first version. The version never
// goes down, and each released copy's version has its CHANGELOG section too.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

// The pinned packages live in target/spec-change/node_modules (installed by
// scripts/spec/spec-change/install.sh), not beside this file.
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(
  process.env.SPEC_CHANGE_PACKAGE ?? path.join(here, "..", "..", "..", "target", "spec-change", "package.json"),
);
const { apiDiff } = require("api-smart-diff");
const YAML = require("yaml");

export const LEVELS = ["none", "patch", "minor", "major"];

/// The bump each api-smart-diff class asks for.
const LEVEL_OF = {
  breaking: "major",
  "non-breaking": "minor",
  deprecated: "minor",
  annotation: "patch",
  unclassified: "patch",
};

/// The order changes are listed in.
const CLASS_ORDER = ["breaking", "non-breaking", "deprecated", "annotation", "unclassified"];

export function parseVersion(text) {
  const m = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(String(text ?? ""));
  return m ? m.slice(1, 4).map(Number) : null;
}

/// The level of the move from `before` to `after` ("none" when equal, null when it goes down).
export function bumpLevel(before, after) {
  for (let i = 0; i < 3; i++) {
    if (after[i] > before[i]) {
      return LEVELS[3 - i];
    }
    if (after[i] < before[i]) {
      return null;
    }
  }
  return "none";
}

/// The smallest version after `v` that a change of `level` allows, semver style
/// (while the major version is 0, a breaking change moves the minor one).
export function nextVersion(v, level) {
  const [major, minor, patch] = v;
  if (level === "major") {
    return major === 0 ? [0, minor + 1, 0] : [major + 1, 0, 0];
  }
  if (level === "minor") {
    return major === 0 ? [0, minor, patch + 1] : [major, minor + 1, 0];
  }
  return [major, minor, patch + 1];
}

/// Whether moving from `before` to `after` satisfies a change of `level`.
export function satisfies(before, after, level) {
  const moved = bumpLevel(before, after);
  if (moved === null) {
    return false;
  }
  const need = bumpLevel(before, nextVersion(before, level));
  if (level === "none") {
    return true;
  }
  return LEVELS.indexOf(moved) >= LEVELS.indexOf(need);
}

/// The classified changes from one parsed spec to another, without the
/// version line itself.
export function classify(before, after) {
  const diffs = apiDiff(before, after).filter(
    (d) => !(d.path.length === 2 && d.path[0] === "info" && d.path[1] === "version"),
  );
  diffs.sort(
    (a, b) =>
      CLASS_ORDER.indexOf(a.type) - CLASS_ORDER.indexOf(b.type) ||
      a.path.join("/").localeCompare(b.path.join("/")),
  );
  return diffs;
}

export function levelOf(diffs) {
  let level = "none";
  for (const d of diffs) {
    const l = LEVEL_OF[d.type] ?? "patch";
    if (LEVELS.indexOf(l) > LEVELS.indexOf(level)) {
      level = l;
    }
  }
  return level;
}

function show(value) {
  if (value === undefined) {
    return "(none)";
  }
  const text = (typeof value === "string" ? value : JSON.stringify(value)).replace(/\s+/g, " ");
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/// One line per change: `breaking: <what> at <where>: <before> -> <after>`.
export function describe(d) {
  const what = (d.description ?? `[${d.action}]`).replace(/\s+/g, " ").trim();
  const where = d.path.map(String).join(".");
  const values =
    d.action === "replace"
      ? `: ${show(d.before)} -> ${show(d.after)}`
      : d.action === "add"
        ? `: ${show(d.after)}`
        : "";
  return `${d.type}: ${what} at ${where}${values}`;
}

/// The CHANGELOG's sections: `## NAME VERSION` (anything after the version,
/// e.g. ` - 2025-06-01`, is allowed) -> the `- ` entries under it.
export function parseChangelog(text) {
  const sections = new Map();
  let current = null;
  for (const line of text.split(/\r?\n/)) {
    const heading = /^## +([A-Za-z0-9._-]+) +v?(\d+\.\d+\.\d+)\b/.exec(line);
    if (heading) {
      current = `${heading[1]} ${heading[2]}`;
      if (!sections.has(current)) {
        sections.set(current, []);
      }
      continue;
    }
    if (/^## /.test(line)) {
      current = null;
      continue;
    }
    const entry = /^\s*[-*] +(\S.*)$/.exec(line);
    if (current && entry) {
      sections.get(current).push(entry[1]);
    }
  }
  return sections;
}

function readYaml(file) {
  return YAML.parse(fs.readFileSync(file, "utf8"));
}

function specNames(root) {
  const dir = path.join(root, "openapi");
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".yaml") && fs.statSync(path.join(dir, f)).isFile())
    .map((f) => f.slice(0, -".yaml".length))
    .sort();
}

function releasedNames(root) {
  const dir = path.join(root, "openapi", "released");
  if (!fs.existsSync(dir)) {
    return [];
  }
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.slice(0, -".yaml".length))
    .sort();
}

/// The baseline text of openapi/NAME.yaml: its released copy, or the file at
/// a git ref. null when there is none (a new spec).
function baselineText(root, name, baseRef) {
  if (baseRef) {
    try {
      return execFileSync("git", ["-C", root, "show", `${baseRef}:openapi/${name}.yaml`], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      });
    } catch {
      return null;
    }
  }
  const file = path.join(root, "openapi", "released", `${name}.yaml`);
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null;
}

/// Compares every spec of `root` with its baseline. Returns, per spec:
/// { name, before, after, beforeVersion, afterVersion, diffs, level }.
export function compareAll(root, baseRef) {
  const out = [];
  for (const name of specNames(root)) {
    const after = readYaml(path.join(root, "openapi", `${name}.yaml`));
    const text = baselineText(root, name, baseRef);
    const before = text === null ? null : YAML.parse(text);
    const diffs = before === null ? [] : classify(before, after);
    out.push({
      name,
      before,
      after,
      beforeVersion: before?.info?.version,
      afterVersion: after?.info?.version,
      diffs,
      level: levelOf(diffs),
    });
  }
  return out;
}

const CHANGELOG = "openapi/CHANGELOG.md";

function entryHint(name, version, level, diffs) {
  const heading = { major: "Changed", minor: "Added", patch: "Changed", none: "Added" }[level];
  const first = diffs.find((d) => d.type === "breaking") ?? diffs[0];
  const what = first && ((first.description ?? "").replace(/^\[[\w ]+\]\s*/, "").trim() || first.path.join("."));
  const example = first
    ? `- <one sentence: what changed and what a client must do> (the first change: ${what}).`
    : "- <one sentence: what this version is>.";
  return [`    ## ${name} ${version}`, "", `    ### ${heading}`, "", `    ${example}`];
}

/// The gate. Returns { ok, lines } with every line to print.
export function gate(root) {
  const lines = [];
  let ok = true;
  const changelogFile = path.join(root, CHANGELOG);
  const changelog = fs.existsSync(changelogFile)
    ? parseChangelog(fs.readFileSync(changelogFile, "utf8"))
    : new Map();
  const fail = (name, problem, help) => {
    ok = false;
    lines.push(`FAIL ${name}: ${problem}`);
    for (const h of help) {
      lines.push(`    ${h}`);
    }
  };
  const entries = (name, version) => changelog.get(`${name} ${version}`) ?? [];

  const current = new Set(specNames(root));
  for (const name of releasedNames(root)) {
    if (!current.has(name)) {
      fail(name, `openapi/released/${name}.yaml has no openapi/${name}.yaml`, [
        "A spec was removed (or renamed): that breaks every client generated from it.",
        `If that is meant, delete openapi/released/${name}.yaml in the same change and say so in ${CHANGELOG}.`,
      ]);
    }
  }

  for (const spec of compareAll(root)) {
    const { name, diffs, level } = spec;
    const file = `openapi/${name}.yaml`;
    const after = parseVersion(spec.afterVersion);
    if (!after) {
      fail(name, `info.version ${JSON.stringify(spec.afterVersion)} in ${file} is not MAJOR.MINOR.PATCH`, [
        "Give the spec a plain semantic version, e.g. 1.0.0.",
      ]);
      continue;
    }
    if (spec.before === null) {
      if (entries(name, spec.afterVersion).length === 0) {
        fail(name, `new spec (no openapi/released/${name}.yaml) without an entry in ${CHANGELOG} for ${spec.afterVersion}`, [
          `Add to ${CHANGELOG}, above the older sections:`,
          ...entryHint(name, spec.afterVersion, "none", []),
        ]);
      } else {
        lines.push(`ok   ${name} ${spec.afterVersion}: new spec, first version in ${CHANGELOG}`);
      }
      continue;
    }
    const before = parseVersion(spec.beforeVersion);
    if (!before) {
      fail(name, `the released copy's info.version ${JSON.stringify(spec.beforeVersion)} is not MAJOR.MINOR.PATCH`, [
        `openapi/released/${name}.yaml is written by scripts/spec/publish-spec --release only.`,
      ]);
      continue;
    }
    if (entries(name, spec.beforeVersion).length === 0) {
      fail(name, `released version ${spec.beforeVersion} has no entry in ${CHANGELOG}`, [
        `Keep the section \`## ${name} ${spec.beforeVersion}\` of ${CHANGELOG}: teams read it.`,
      ]);
    }
    const counts = CLASS_ORDER.map((c) => [c, diffs.filter((d) => d.type === c).length])
      .filter(([, n]) => n > 0)
      .map(([c, n]) => `${n} ${c}`)
      .join(", ");
    const summary = `${spec.beforeVersion} -> ${spec.afterVersion}, ${diffs.length === 0 ? "no change" : counts}`;
    const moved = bumpLevel(before, after);
    if (moved === null) {
      fail(name, `info.version went down (${summary})`, [
        `The released version is ${spec.beforeVersion}: a new version must be above it.`,
      ]);
      continue;
    }
    if (!satisfies(before, after, level)) {
      const need = nextVersion(before, level).join(".");
      fail(name, `${level} change(s) need info.version >= ${need} (${summary})`, [
        ...diffs.map(describe),
        "",
        `To accept: set info.version in ${file} to ${need} (semantic versioning: breaking -> major,`,
        "non-breaking -> minor, annotation -> patch), and add to " + CHANGELOG + ":",
        ...entryHint(name, need, level, diffs),
        "To undo instead: `scripts/spec/spec-diff` shows each change against the released copy.",
      ]);
      continue;
    }
    if (moved !== "none" && entries(name, spec.afterVersion).length === 0) {
      fail(name, `version ${spec.afterVersion} has no entry in ${CHANGELOG} (${summary})`, [
        ...diffs.map(describe),
        "",
        `Add to ${CHANGELOG}, naming each change in a sentence:`,
        ...entryHint(name, spec.afterVersion, level, diffs),
      ]);
      continue;
    }
    lines.push(`ok   ${name}: ${summary}`);
  }
  lines.push(ok ? "spec version gate: ok" : "spec version gate: FAILED (see the FAIL lines above)");
  return { ok, lines };
}

function args(argv) {
  const out = { root: process.cwd(), baseRef: null, gate: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--root") {
      out.root = argv[++i];
    } else if (argv[i] === "--base-ref") {
      out.baseRef = argv[++i];
    } else if (argv[i] === "--gate") {
      out.gate = true;
    } else {
      throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  return out;
}

function main() {
  const [command, ...rest] = process.argv.slice(2);
  const opts = args(rest);
  if (command === "gate") {
    const { ok, lines } = gate(opts.root);
    console.log(lines.join("\n"));
    process.exit(ok ? 0 : 1);
  }
  if (command === "diff") {
    const base = opts.baseRef ? `git ref ${opts.baseRef}` : "the released copies (openapi/released/)";
    console.log(`spec-diff: each spec against ${base}, classified by api-smart-diff`);
    for (const spec of compareAll(opts.root, opts.baseRef)) {
      console.log();
      if (spec.before === null) {
        console.log(`== ${spec.name} ${spec.afterVersion}: new spec (no baseline)`);
        continue;
      }
      console.log(
        `== ${spec.name} ${spec.beforeVersion} -> ${spec.afterVersion}: ` +
          (spec.diffs.length === 0 ? "no change" : `${spec.diffs.length} change(s), needs a ${spec.level} version`),
      );
      for (const d of spec.diffs) {
        console.log(`  ${describe(d)}`);
      }
    }
    if (opts.gate) {
      console.log();
      const { ok, lines } = gate(opts.root);
      console.log(lines.join("\n"));
      process.exit(ok ? 0 : 1);
    }
    return;
  }
  console.error("usage: spec-change.mjs diff [--root DIR] [--base-ref REF] [--gate] | gate [--root DIR]");
  process.exit(2);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main();
}
