# shellcheck shell=bash
# Sourced (not run) by scripts/spec/spec-diff and scripts/spec/spec-version-gate, from
# the repository root. spec_change_node installs the pinned packages of
# scripts/spec/spec-change/package{,-lock}.json (api-smart-diff, yaml: pure
# JavaScript, no install scripts) into target/spec-change/node_modules with
# npm ci, again only when those files change (a sha256 stamp) or the install
# is missing. Needs the npm registry on the first run only, and Node 20.

spec_change_node() {
    local dir=target/spec-change stamp want
    stamp="$dir/.pinned.sha256"
    want="$(cat scripts/spec/spec-change/package.json scripts/spec/spec-change/package-lock.json | sha256sum | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" || ! -f "$dir/node_modules/api-smart-diff/package.json" ]]; then
        echo "spec change: npm ci into $dir/node_modules"
        mkdir -p "$dir"
        cp scripts/spec/spec-change/package.json scripts/spec/spec-change/package-lock.json "$dir/"
        NPM_CONFIG_UPDATE_NOTIFIER=false npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
        echo "$want" >"$stamp"
    fi
}
