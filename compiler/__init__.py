"""pawflow's compiler: turns a program source into a .paw (pseudo-program, and maybe a LoRA adapter).

This package is imported by the CLI on every start, so it stays light: torch, transformers and peft
are imported only inside the functions that train or compare models (``compiler.fit``,
``compiler.parity``, ``compiler.torch_base``).
"""
