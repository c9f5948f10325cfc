#!/usr/bin/env bash
# The action's check step: the PR gate. On a pull request it judges only what changed since the base branch
# (fetching it when the checkout is shallow); the exit code is schemalint's (1 = findings, 2 = error).
set -uo pipefail
read -r -a paths <<< "${INPUT_PATHS:-migrations}"
read -r -a extra <<< "${INPUT_ARGS:-}"
since="${INPUT_SINCE:-}"
if [[ -z "$since" && -n "${GITHUB_BASE_REF:-}" ]]; then
    since="origin/${GITHUB_BASE_REF}"
fi
since_args=()
if [[ -n "$since" && "$since" != "none" ]]; then
    if ! git rev-parse --verify --quiet "${since}^{commit}" >/dev/null; then
        # actions/checkout fetches one commit by default: get the base branch (and enough history to diff)
        git fetch --no-tags --quiet origin "${since#origin/}:refs/remotes/${since}" || true
    fi
    since_args=(--since "$since")
fi
status=0
schemalint check --format "${INPUT_FORMAT:-github}" "${since_args[@]}" "${extra[@]}" "${paths[@]}" || status=$?
if [[ "${INPUT_SARIF:-false}" == "true" ]]; then
    sarif="${GITHUB_WORKSPACE:-$PWD}/schemalint.sarif"
    schemalint check --format sarif --output-file "$sarif" --exit-zero "${since_args[@]}" "${extra[@]}" \
        "${paths[@]}" || true
    echo "sarif-file=$sarif" >> "${GITHUB_OUTPUT:-/dev/null}"
fi
exit "$status"
