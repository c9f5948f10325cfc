#!/usr/bin/env bash
# The action's install step: schemalint in its own virtual environment (Debian/Ubuntu's system Python
# refuses a bare `pip install`), put on PATH for the next steps.
set -euo pipefail
venv="${RUNNER_TEMP:-/tmp}/schemalint-venv"
python3 -m venv ${SCHEMALINT_VENV_ARGS:-} "$venv"
if [[ -n "${INPUT_VERSION:-}" ]]; then
    spec="schemalint @ git+https://github.com/schemalint/schemalint@${INPUT_VERSION}"
else
    spec="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set}"  # this action's own revision
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
echo "$venv/bin" >> "${GITHUB_PATH:?GITHUB_PATH is not set}"
"$venv/bin/schemalint" --version
