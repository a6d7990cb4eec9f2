"""The precompute stage (needs torch): config -> plan -> execute -> runs/<model>/<experiment>/<key>/.

    config.py    the TOML config, validated against the experiment registry
    plan.py      units, their hashes and the run key, before anything is written
    execute.py   compute missing units, reuse finished ones, write the manifest and run.json
    context.py   what a unit's compute gets: the batched denoiser, read_frame, note_seconds
    writer.py    PNG encoding and atomic writes on a thread pool, with back-pressure
    claims.py    per-unit claims: many processes (torchrun, accelerate, machines) share one runs folder
    world.py     the processes of this precompute, as torchrun or accelerate launched them
    launch.py    `--processes N|auto`: the command started again as N processes under torchrun
    run.py       `precompute()`: every experiment of every model, units claimed costliest first, one progress bar

Importing this package needs no torch (config.py is read by the site stage's tests and tools too);
`precompute` itself is imported on first use.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name == "precompute":
        from .run import precompute

        return precompute
    raise AttributeError(name)
