"""Command line: `python -m generate COMMAND --help` explains every option."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path

from .errors import UsageError
from .shipped import DEFAULT_CONFIG

PACKAGE = Path(__file__).resolve().parent
PRECOMPUTE_MODULES = ("torch", "diffusers", "safetensors")  # the precompute extra; the site stage needs none


def _cmd_prepare_data(args: argparse.Namespace) -> int:
    from .training import data

    if args.name == "fashion":
        prepared = data.prepare_fashion(Path(args.source) if args.source else data.FASHION_DIR)
    else:
        tarball = Path(args.source) if args.source else data._fetch_emoji_tarball(Path(args.cache))
        prepared = data.prepare_emoji(tarball, category=args.category)
    record = data.save_prepared(prepared, Path(args.out or f"data/{args.name}"))
    print(json.dumps(record["shapes"]))
    return 0


def _cmd_config(args: argparse.Namespace) -> int:
    from .precompute.config import load_config, to_toml

    sys.stdout.write(to_toml(load_config(args.config)))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from .training.train import config_from_json, train

    config = config_from_json(Path(args.settings).read_text() if args.settings else "{}")
    if args.steps:
        config.steps = args.steps
    if args.threads:
        config.threads = args.threads
    if args.device:
        config.device = args.device
    train(
        Path(args.data),
        Path(args.out),
        Path(args.checkpoints),
        config,
        resume=args.resume,
        log=lambda line: print(line, flush=True),
    )
    return 0


def _cmd_precompute(args: argparse.Namespace) -> int:
    from .precompute.config import load_config
    from .precompute.launch import auto_processes, launch, launched

    config = load_config(args.config)  # a bad config stops here, once, before any process starts
    processes = args.processes
    if processes == "auto":
        processes = auto_processes(args.device or config.run.device)
    if processes > 1 and not launched() and not args.dry_run:
        return launch(processes, args.argv)  # the launcher itself needs no diffusers (1.5 CPU-s to import)
    from .precompute.run import precompute

    results = precompute(
        config,
        Path(args.runs),
        models=[args.model] if args.model else None,
        only=args.only,
        device=args.device,
        dtype=args.dtype,
        allow_pickle=args.allow_pickle,
        progress=not args.quiet,
        dry_run=args.dry_run,
    )
    if os.environ.get("RANK", "0") != "0":
        return 0  # one of several processes (torchrun, accelerate launch): the main one reports
    if args.dry_run:
        print(f"dry run: nothing computed or written under {args.runs}")
        return 0
    calls = sum(r["model_calls"] for r in results)
    seconds = sum(r["seconds"] for r in results)
    print(f"done: {len(results)} frame sets, {calls} model calls, {seconds:.1f} s under {args.runs}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from .manifest import find_manifests, read_manifest, verify_frames

    problems, manifests = [], find_manifests(Path(args.runs))
    for path in manifests:
        try:
            problems += verify_frames(path, read_manifest(path, check_files=False))
        except UsageError as error:
            problems.append(str(error))
    for line in problems:
        print(line)
    print(f"{len(manifests)} manifests checked, {len(problems)} problem(s)")
    return 1 if problems else 0


def _cmd_site(args: argparse.Namespace) -> int:
    from .site.build import build_site

    result = build_site(
        Path(args.runs),
        Path(args.out),
        site_url=args.site_url,
        cache=Path(args.cache) if args.cache else None,
        log=lambda line: print(line, flush=True),
    )
    print(f"site: {result['runs']} runs, {len(result['pages'])} pages -> {result['out']}")
    return 0


def _cmd_card(args: argparse.Namespace) -> int:
    from .training.card import make_card

    make_card(args.name, Path(args.data), args.classifier_steps, args.count, log=lambda line: print(line, flush=True))
    return 0


def _experiments_help() -> str:
    """One line per registered experiment, for `precompute --help`."""
    from . import experiments
    from .precompute.config import describe_section

    lines = [
        "experiments: each is a config section [NAME] and an --only choice; its keys, defaults and ranges",
        "(every section also takes `models = [...]`: the models it runs on, instead of the top-level list):",
    ]
    for e in experiments.all_experiments():
        lines.append(f"  {e.name}: {e.summary}")
        lines += [f"      {line}" for line in describe_section(e.config)]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    from . import experiments
    from .precompute.launch import parse_processes

    parser = argparse.ArgumentParser(prog="python -m generate", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)

    prep = commands.add_parser("prepare-data", help="build a training data set from a package")
    prep.add_argument("name", choices=["fashion", "emoji"])
    prep.add_argument("--source", help="fashion: folder of the idx files; emoji: the npm .tgz")
    prep.add_argument("--category", default="Smileys & Emotion", help="emoji category to keep")
    prep.add_argument("--cache", default="data/cache", help="where the npm package is downloaded")
    prep.add_argument("--out", help="output folder (default data/NAME)")
    prep.set_defaults(func=_cmd_prepare_data)

    pre = commands.add_parser(
        "precompute",
        help="run the experiment grids of a config and write frame sets under --runs",
        description="Run every experiment grid of a config on its model(s) and write frame sets "
        "(lossless frames + manifest.json) under the runs folder. Finished frame sets are "
        "reused; an interrupted run resumes where it stopped.",
        epilog=_experiments_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    pre.add_argument(
        "--config",
        default=DEFAULT_CONFIG,
        help="a TOML file, or the name of a shipped config: default (the whole explainer), "
        "smoke (tiny grids, seconds on CPU)",
    )
    pre.add_argument(
        "--model",
        help="replaces the config's models: a shipped model name (fashion-32, "
        "emoji-32), a local model folder, or a hub id such as google/ddpm-cifar10-32",
    )
    pre.add_argument("--runs", default="runs", help="runs folder (default: runs)")
    pre.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the config's run.device)")
    pre.add_argument(
        "--dtype",
        choices=["auto", "float32", "float16", "bfloat16"],
        help="model dtype (default: the config's run.dtype)",
    )
    pre.add_argument(
        "--only",
        action="append",
        metavar="EXPERIMENT",
        choices=experiments.names(),
        help=f"run only this experiment (repeatable): {', '.join(experiments.names())}",
    )
    pre.add_argument(
        "--allow-pickle",
        action="store_true",
        help="allow pickled .bin/.ckpt weights. RISK: unpickling runs arbitrary code from the "
        "file; use only for files from a source you trust",
    )
    pre.add_argument(
        "--processes",
        type=parse_processes,
        default=1,
        help="start the precompute as N processes on this machine (torchrun's launcher; they share the "
        "units and write the same bytes as one): a number, or auto (one per GPU on CUDA; on a CPU one "
        "one-thread process per core, at most 4). Default 1",
    )
    pre.add_argument("--quiet", action="store_true", help="no progress bar")
    pre.add_argument(
        "--dry-run",
        action="store_true",
        help="print what the missing frame sets need (model calls, images, frames, disk) and the "
        "time it should take on this device, then stop without computing or writing anything",
    )
    pre.set_defaults(func=_cmd_precompute)

    ver = commands.add_parser("verify", help="check every frame of a runs folder against its manifest")
    ver.add_argument("--runs", default="runs")
    ver.set_defaults(func=_cmd_verify)

    site = commands.add_parser("site", help="build the static site from the newest run of each experiment")
    site.add_argument("--runs", default="runs", help="runs folder (default: runs)")
    site.add_argument("--out", default="site", help="output folder (default: site)")
    site.add_argument(
        "--site-url",
        help="address the site is served from (instant navigation needs it); default: site_url of mkdocs.yml",
    )
    site.add_argument(
        "--cache",
        help="sheet cache folder (default: .OUT.cache beside the output folder); a new folder means a cold build",
    )
    site.set_defaults(func=_cmd_site)

    card = commands.add_parser("card", help="measure a shipped model and write its model card")
    card.add_argument("name", help="shipped model name, e.g. fashion-32")
    card.add_argument("--data", required=True, help="the prepared data set it was trained on")
    card.add_argument(
        "--classifier-steps",
        type=int,
        default=1500,
        help="training steps of the feature classifier for the Frechet distance",
    )
    card.add_argument("--count", type=int, default=500, help="images per set in the Frechet distance")
    card.set_defaults(func=_cmd_card)

    shown = commands.add_parser(
        "config",
        help="print a config in full as TOML, every key with its help (a starting point to copy and edit)",
    )
    shown.add_argument("config", nargs="?", default=DEFAULT_CONFIG, help="a shipped config's name or a TOML file")
    shown.set_defaults(func=_cmd_config)
    tr = commands.add_parser("train", help="train a UNet2DModel + DDPMScheduler on a prepared data set")
    tr.add_argument("--data", required=True, help="prepared data folder (prepare-data)")
    tr.add_argument("--out", required=True, help="where the final EMA model is written")
    tr.add_argument("--checkpoints", required=True, help="folder for the resumable checkpoint")
    tr.add_argument("--settings", help="JSON file of TrainConfig fields (architecture, schedule, ...)")
    tr.add_argument("--steps", type=int, help="total optimiser steps (overrides the settings file)")
    tr.add_argument("--threads", type=int, help="CPU threads for torch")
    tr.add_argument(
        "--device",
        help="auto (CUDA when present), cpu, cuda or cuda:N (default: the settings file's, else auto); "
        "a checkpoint resumes on any of them",
    )
    tr.add_argument("--resume", action="store_true", help="continue exactly from the checkpoint")
    tr.set_defaults(func=_cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # as given: --processes starts it again
    try:
        return args.func(args)
    except UsageError as error:
        if args.debug:
            traceback.print_exc()
        from .precompute.launch import report_error

        if not report_error(f"error: {error}"):  # under --processes the launcher tells it, once
            print(f"error: {error}", file=sys.stderr)
        return UsageError.exit_code
    except ModuleNotFoundError as error:
        if error.name not in PRECOMPUTE_MODULES and (error.name or "").split(".")[0] not in PRECOMPUTE_MODULES:
            raise
        if args.debug:
            traceback.print_exc()
        # The site stage (site, verify) needs none of these; the precompute and training do.
        print(
            f"error: `{args.command}` needs {error.name.split('.')[0]}, which is not installed: it belongs to the "
            "precompute stage; install it with `pip install torch==2.13.0` (the CPU build; or your CUDA "
            "build) and `pip install -e '.[precompute]'`",
            file=sys.stderr,
        )
        return UsageError.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
