#!/bin/sh
# Install the course environment into a virtual environment (what `make install` runs):
#
#     tools/install.sh VENV
#
# Linux x86-64 (CI, Binder, most laptops): every package from requirements.lock, each pinned
# with its hashes (pip --require-hashes). torch is the CPU build (2.13.0+cpu): pip finds it on
# PyTorch's CPU index (TORCH_INDEX; PyPI's Linux torch is the CUDA build, gigabytes), or in a
# local wheel folder that pip is configured with (pip's find-links) where that index cannot be
# reached. Set TORCH_INDEX= (empty) to never ask that index.
# Elsewhere (macOS, ARM Linux) the lock's hashes do not apply: the top-level pins of
# requirements.txt are installed instead, and pip resolves the rest.
set -eu
venv=${1:?usage: tools/install.sh VENV}
python=${PYTHON:-python3.11}
lock=${LOCK:-requirements.lock}
torch_index=${TORCH_INDEX-https://download.pytorch.org/whl/cpu}

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip() { "$venv/bin/python" -m pip --disable-pip-version-check "$@"; }

platform=$(uname -sm)
if [ "$platform" = "Linux x86_64" ]; then
  extra=""
  if [ -n "$torch_index" ]; then
    host=$(printf '%s\n' "$torch_index" | sed -e 's|^[a-z]*://||' -e 's|[/:].*||')
    if "$venv/bin/python" -c 'import socket, sys; socket.getaddrinfo(sys.argv[1], 443)' "$host" 2>/dev/null; then
      extra="--extra-index-url $torch_index"
    else
      echo "install: $host cannot be reached; $(grep -o "^torch==[^ ]*" "$lock") must come from a local wheel folder (pip's find-links)"
    fi
  fi
  echo "install: $lock (every package pinned, hashes checked) into $venv"
  # shellcheck disable=SC2086  # $extra is empty or two words
  pip install -q --require-hashes -r "$lock" $extra
else
  echo "install: $lock is locked for Linux x86-64; on $platform installing the top-level pins of requirements.txt"
  pip install -q -r requirements.txt
fi
# flowlib itself, editable, built with the setuptools the lock installed (nothing unpinned fetched)
pip install -q --no-deps --no-build-isolation -e .
