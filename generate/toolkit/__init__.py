"""The torch-free toolkit every stage shares, below the experiments: the experiment contract, a run
and its frames, shared measures of frames, plan units, PNG encoding. It imports nothing of the
experiments, the precompute or the site (import-linter's contracts in pyproject.toml hold it there)."""
