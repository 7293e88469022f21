# shellcheck shell=bash
# Sourced (not run) by scripts/spec/spec-lint, scripts/spec/publish-spec and
# scripts/spec/spec-smoke, from the repository root. Installs the pinned
# third-party OpenAPI tools under target/, never globally:
#
#   spec_tools_node   npm ci of scripts/spec/spec-tools/package{,-lock}.json into
#                     target/spec-tools/node_modules (@redocly/cli,
#                     @hey-api/openapi-ts, typescript); puts its .bin on PATH.
#   spec_tools_python the venv target/tools-venv with
#                     scripts/spec/spec-tools/requirements-tools.txt (openapi-generator-cli,
#                     openapi-python-client and what the generated Python
#                     clients import); puts its bin on PATH.
#
# Each installs again only when its pinned files change (a sha256 stamp), or
# when the install is missing or broken. Needs the npm registry and PyPI on
# the first run only.

SPEC_TOOLS_NODE_DIR=target/spec-tools
SPEC_TOOLS_VENV=target/tools-venv

# Redocly CLI: no telemetry call, no update check.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
export NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
export PIP_DISABLE_PIP_VERSION_CHECK=1

spec_tools_node() {
    local dir=$SPEC_TOOLS_NODE_DIR stamp want
    stamp="$dir/.pinned.sha256"
    want="$(cat scripts/spec/spec-tools/package.json scripts/spec/spec-tools/package-lock.json | sha256sum | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" || ! -x "$dir/node_modules/.bin/redocly" ]]; then
        echo "spec tools: npm ci into $dir/node_modules"
        mkdir -p "$dir"
        cp scripts/spec/spec-tools/package.json scripts/spec/spec-tools/package-lock.json "$dir/"
        # --ignore-scripts: none of the pinned packages has an install script.
        npm ci --prefix "$dir" --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
        echo "$want" >"$stamp"
    fi
    PATH="$PWD/$dir/node_modules/.bin:$PATH"
}

spec_tools_python() {
    local venv=$SPEC_TOOLS_VENV req=scripts/spec/spec-tools/requirements-tools.txt stamp want
    if ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
        echo "spec tools: creating $venv"
        mkdir -p "$(dirname "$venv")"
        "${PYTHON:-python3}" -m venv --clear "$venv"
    fi
    stamp="$venv/.requirements.sha256"
    want="$(sha256sum "$req" | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        echo "spec tools: installing $req into $venv"
        "$venv/bin/python" -m pip install --quiet --no-input --requirement "$req"
        "$venv/bin/python" -m pip check >/dev/null
        echo "$want" >"$stamp"
    fi
    # openapi-python-client runs ruff from PATH on what it generates.
    PATH="$PWD/$venv/bin:$PATH"
}

# Milliseconds since the epoch; spec_tools_elapsed START prints seconds since.
spec_tools_now() { date +%s%3N; }
spec_tools_elapsed() {
    local ms=$(($(spec_tools_now) - $1))
    printf '%d.%03ds' $((ms / 1000)) $((ms % 1000))
}
