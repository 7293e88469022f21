# shellcheck shell=bash
# Sourced (not run), from the repository root, by the scripts that act on
# each spec. `specs_read` reads openapi/specs.txt, the one list of specs
# (its header gives the format: `FILE MODULE [types]` a line), into four
# arrays in the list's order:
#
#   SPEC_NAMES    ccs-v1 ccs-v2 ...               (FILE without .yaml)
#   SPEC_FILES    openapi/ccs-v1.yaml ...
#   SPEC_MODULES  v1 v2 ... (- for a spec with no Rust code)
#   SPEC_KINDS    client, types (a spec of calls the crate receives, e.g.
#                 the connector's webhook endpoint: Rust types only, not an
#                 API of the emulator) or - (no Rust code)
#
# It fails (status 1), each problem on stderr, when a line is not
# `FILE.yaml MODULE [types]`, when a file is listed twice or does not exist, and
# when an openapi/*.yaml is not listed: the scripts that take every
# openapi/*.yaml (spec-diff, spec-version-gate, publish-spec) then act on
# the same set as those that read the list.
#
# `specs_has NAME` is true when NAME is in SPEC_NAMES (after specs_read).

SPECS_LIST=openapi/specs.txt

specs_read() {
    SPEC_NAMES=()
    SPEC_FILES=()
    SPEC_MODULES=()
    SPEC_KINDS=()
    if [[ ! -f $SPECS_LIST ]]; then
        echo "$SPECS_LIST: not found (the list of specs; run from the repository root)" >&2
        return 1
    fi
    local line file module kind rest number=0 status=0
    while IFS= read -r line || [[ -n $line ]]; do
        number=$((number + 1))
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        file="" module="" kind="" rest=""
        read -r file module kind rest <<<"$line"
        if [[ -z $module || -n $rest || ! $file =~ ^[^/]+\.yaml$ || ! $module =~ ^([A-Za-z_][A-Za-z0-9_]*|-)$ ||
            ! ($kind == "" || ($kind == types && $module != -)) ]]; then
            echo "$SPECS_LIST:$number: not 'FILE.yaml MODULE [types]' (MODULE: a Rust module name, or -; types needs a module): $line" >&2
            status=1
            continue
        fi
        if specs_has "${file%.yaml}"; then
            echo "$SPECS_LIST:$number: $file is listed twice" >&2
            status=1
            continue
        fi
        if [[ ! -f openapi/$file ]]; then
            echo "$SPECS_LIST:$number: openapi/$file does not exist" >&2
            status=1
        fi
        SPEC_NAMES+=("${file%.yaml}")
        SPEC_FILES+=("openapi/$file")
        SPEC_MODULES+=("$module")
        if [[ $kind == types ]]; then
            SPEC_KINDS+=(types)
        elif [[ $module == - ]]; then
            SPEC_KINDS+=(-)
        else
            SPEC_KINDS+=(client)
        fi
    done <"$SPECS_LIST"
    local spec
    for spec in openapi/*.yaml; do
        [[ -f $spec ]] || continue
        if ! specs_has "$(basename "$spec" .yaml)"; then
            echo "$spec is not in $SPECS_LIST: add a line for it (FILE MODULE), or move it out of openapi/" >&2
            status=1
        fi
    done
    if [[ ${#SPEC_NAMES[@]} -eq 0 ]]; then
        echo "$SPECS_LIST lists no spec" >&2
        status=1
    fi
    return "$status"
}

specs_has() {
    local name
    for name in "${SPEC_NAMES[@]}"; do
        [[ $name == "$1" ]] && return 0
    done
    return 1
}
