#!/usr/bin/env bash
# The wheel is a real package: build it from this checkout, install it alone into a fresh
# venv (no extras, no network needed for the install), and run it from outside the
# repository: py.typed and the bundled recording are in it, the main job runs on that
# recording, and the CLI's parse and replay work.
#
#     bash scripts/check_wheel.sh            # PYTHON=python3.10 bash scripts/check_wheel.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$root"
wheel="$(ls "$work"/dist/fieldstream-*.whl)"
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --no-deps --no-index "$wheel"

# Every file of the package in the checkout (data included: recordings, the JS client) must be in the wheel.
git -C "$root" ls-files src/fieldstream | sed 's#^src/##' > "$work/expected.txt"

cd "$work"  # nothing of the checkout is importable from here
"$work/venv/bin/python" - "$wheel" "$work/expected.txt" <<'PY'
import sys
import zipfile
from importlib import resources

import fieldstream

names = zipfile.ZipFile(sys.argv[1]).namelist()
assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "examples/"))], names
missing = [n for n in open(sys.argv[2]).read().splitlines() if n and n not in names]
assert not missing, f"files of the package missing from the wheel: {missing}"
package = resources.files("fieldstream")
assert package.joinpath("py.typed").is_file(), "py.typed is missing"
data = package.joinpath("_data")
for name in ("openai_chat_json_object.sse", "openai_chat_json_object.sse.timing.jsonl", "example.json", "README.md"):
    assert data.joinpath(name).is_file(), f"_data/{name} is missing"
assert "site-packages" in fieldstream.__file__, fieldstream.__file__

# The main job on the bundled recording, with nothing but the wheel installed (no pydantic).
answer = fieldstream.stream(fieldstream.Recording.bundled(speed=None), None)
assert answer.final["location"] == "San Francisco, CA", answer.final
assert answer.finish_reason == "stop" and answer.usage["total_tokens"] == 196
print(f"fieldstream {fieldstream.__version__} from {fieldstream.__file__}: import, data and the main job OK")
PY
"$work/venv/bin/fieldstream" parse --jsonl | tail -n 1 | grep -q '"event": *"done"'
"$work/venv/bin/fieldstream" replay --no-delay | grep -q 'San Francisco'
echo "check_wheel: OK ($(basename "$wheel"))"
