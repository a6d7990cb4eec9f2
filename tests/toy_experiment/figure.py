"""one_guess, the site side: per seed, one frame per timestep, in slider order."""

from __future__ import annotations

from generate.toolkit.frames import Frames, axis

from . import GUESS


def build(run, sheets) -> dict:
    frames, timesteps = Frames(run), [int(t) for t in axis(run, "timesteps")]
    seeds = [
        {
            "seed": seed,
            "guesses": sheets.add(
                [frames.file(GUESS, seed=seed, t=t) for t in timesteps], track=f"seed {seed}", group=i
            ),
        }
        for i, seed in enumerate(axis(run, "seeds"))
    ]
    return {"timesteps": timesteps, "seeds": seeds}
