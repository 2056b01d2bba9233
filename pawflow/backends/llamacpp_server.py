"""``python -m pawflow.backends.llamacpp_server ARGS``: llama-cpp-python's OpenAI server, loaded safely.

The same arguments as ``python -m llama_cpp.server``; the difference is that every model it loads gets
pawflow's llama.cpp model parameters (:mod:`pawflow.backends.llamacpp_build`: no extra buffer types on
a build with AMX kernels, which fault with LoRA adapters and long prompts) and that a build compiled
for another CPU is refused with the fix instead of dying with SIGILL. The raw-model TOOLCALL-15
baseline and the multi-LoRA test server are started through it.
"""

from __future__ import annotations

import sys


def main() -> None:
    from pawflow.backends import llamacpp_build
    from pawflow.errors import PawflowError

    try:
        llamacpp_build.ensure_build_fits()
    except PawflowError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise SystemExit(2) from None
    llamacpp_build.apply_model_params_for_process(**llamacpp_build.load_options())
    from llama_cpp.server.__main__ import main as server_main

    server_main()


if __name__ == "__main__":
    main()
