"""`ocr2synth`: the command line (ARCHITECTURE.md, "Contracts: the command line")."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml
from ocr2synth.pipelines.core.recipe import (
    Recipe,
    RecipeError,
    demo_recipe,
    load_recipe,
    parse_recipe,
)
from ocr2synth.pipelines.core.worker import RendererFailed
from ocr2synth.pipelines.format.card import inspect_text, summary_table
from ocr2synth.pipelines.format.manifest import DatasetError, load_manifest
from ocr2synth.renderers.registry import REGISTRY, get_spec
from ocr2synth.trainer import cli as trainer_cli

# Exit statuses: 2 bad usage or input (a parameter its renderer's schema refuses), 3 a
# reject rate over the recipe's limit, 4 a dataset that fails verification.
EXIT_REJECT_RATE = 3
EXIT_VERIFY_FAILED = 4
# 5: a renderer's own code raised (not an item's failure): the message names the entry.
EXIT_RENDERER_FAILED = 5


def _param(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param takes KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return key, yaml.safe_load(value)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocr2synth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    render = sub.add_parser("render", help="render a recipe, or one renderer, into shards",
                            epilog=_renderers_epilog(),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    render.add_argument("recipe", nargs="?", help="recipe YAML file")
    render.add_argument("--demo", action="store_true",
                        help="the demo recipe: every renderer's demo entries")
    render.add_argument("--renderer", choices=sorted(REGISTRY), help="render one renderer")
    render.add_argument("--count", type=int, help="samples to render (with --renderer)")
    render.add_argument("--source", help="a user corpus for the renderer (file or folder)")
    render.add_argument("--from", dest="base_from", metavar="DIR",
                        help="a stage-3 task (fine-grained, multi-crop, multi-page) composes "
                             "from this rendered dataset instead of rendering base pages")
    render.add_argument("--seed", type=int, default=0, help="recipe seed (with --renderer)")
    render.add_argument("--shard-size", type=int, default=1024, help="rows per shard")
    render.add_argument("--param", type=_param, action="append", default=[],
                        metavar="KEY=VALUE", help="renderer parameter (YAML value)")
    render.add_argument("--out", help="output folder or s3://BUCKET/PREFIX (AWS_* variables; "
                        "AWS_ENDPOINT_URL for a non-AWS server); default: out/RECIPE_NAME")
    render.add_argument("--workers", type=int, default=2, help="local worker processes")
    render.add_argument("--address", help="join a Ray cluster: auto or HOST:PORT")
    render.add_argument("--forward-aws-credentials", action="store_true",
                        help="with an s3:// --out on a cluster whose nodes have no AWS "
                        "credentials of their own: send the driver's to the workers in the "
                        "job's runtime_env (which the cluster stores and its dashboard shows)")
    render.add_argument("--scale", type=float, default=1.0, help="multiply every count")
    render.add_argument("--no-progress", action="store_true", help="no progress bar")

    inspect = sub.add_parser("inspect", help="counts, rejects, schema and throughput")
    inspect.add_argument("dir")

    preview = sub.add_parser("preview", help="a static HTML gallery of a dataset (offline)")
    preview.add_argument("dir")
    preview.add_argument("--html", help="the gallery file (default: DIR/preview.html); its "
                         "images and scripts go in a NAME_files folder beside it")
    preview.add_argument("--per-group", type=int, default=200,
                         help="samples shown per renderer and task (default 200)")
    preview.add_argument("--page-size", type=int, default=24, help="cards per page")

    publish = sub.add_parser("publish", help="verify a dataset, then copy it to a pyarrow.fs "
                             "URI (file:///..., s3://..., gs://...), manifest last")
    publish.add_argument("dir")
    publish.add_argument("uri")

    export = sub.add_parser(
        "export", help="write a dataset in another trainer's format (ms-swift, sharegpt, "
        "got, webdataset)", description=_export_doc())
    export.add_argument("dir", help="a rendered dataset folder")
    export.add_argument("--format", required=True, help="ms-swift, sharegpt, got or webdataset")
    export.add_argument("--out", required=True, help="the export folder (resumable)")
    export.add_argument("--absolute-paths", action="store_true",
                        help="image paths in the records absolute, not relative to --out")
    export.add_argument("--samples-per-tar", type=int, default=1000,
                        help="webdataset: samples per tar shard")
    export.add_argument("--no-progress", action="store_true")
    assets = sub.add_parser(
        "setup-assets", help="install the npm packages and MOSES SMILES an installed wheel "
        "needs (a clone gets them from `make setup`)")
    assets.add_argument("--dir", type=Path, default=None,
                        help="install here instead of this environment's share/ocr2synth "
                        "(then export the variables it prints)")
    assets.add_argument("--only", choices=["npm", "moses"], default=None)
    verify = sub.add_parser("verify", help="check a dataset against its manifest and plan")
    verify.add_argument("dir")
    params = sub.add_parser("renderers", help="the renderers, or one renderer's parameters")
    params.add_argument("name", nargs="?", choices=sorted(REGISTRY))
    params.add_argument("--markdown", action="store_true",
                        help="print the README's renderer tables, from the specs")
    trainer_cli.add_parsers(sub)

    bench = sub.add_parser("bench", help="measure a renderer against its naive baseline")
    bench.add_argument("--renderer", default="latex-formula", choices=sorted(REGISTRY))
    bench.add_argument("--count", type=int, default=512, help="samples for the batched run")
    bench.add_argument("--naive-count", type=int,
                       help="samples for the naive run (default 40; 8 with --all)")
    bench.add_argument("--repeats", type=int, default=3)
    bench.add_argument("--all", action="store_true",
                       help="every registered renderer; writes a Markdown report (--out)")
    bench.add_argument("--out", default="BENCHMARKS.md", help="the report (with --all)")
    bench.add_argument("--seconds", type=float, default=5.0,
                       help="about this long per timed run (with --all)")
    bench.add_argument("--max-count", type=int, default=512,
                       help="at most this many samples per timed run (with --all)")
    bench.add_argument("--only", help="comma-separated renderers (with --all)")
    bench.add_argument("--no-scaling", action="store_true",
                       help="skip the 1-to-2-worker runs through Ray (with --all)")
    bench.add_argument("--memory", action="store_true",
                       help="also compare peak RSS of a run and one ten times larger")
    bench.add_argument("--browser-memory", type=int, metavar="PAGES",
                       help="markdown-page: a browser's memory after its first pages and "
                            "after PAGES pages")
    bench.add_argument("--targets", action="store_true",
                       help="with --renderer: the same items with each of its target forms "
                            "(format/layout, dict/html/markdown), costs against the default")
    bench.add_argument("--trainer", action="store_true",
                       help="measure the trainer instead: loader, step rate, tokens/s, MFU")
    bench.add_argument("--data", help="dataset folder (with --trainer)")
    bench.add_argument("--preset", default="tiny", choices=("tiny", "got-stage1", "got"))
    bench.add_argument("--batch-size", type=int, default=2)
    bench.add_argument("--steps", type=int, default=5)
    bench.add_argument("--num-workers", type=int, default=2)
    bench.add_argument("--seq-len", type=int, help="with --trainer: one forward + backward of "
                       "a synthetic batch of this many tokens (no --data); peak memory")
    bench.add_argument("--vocab", type=int, default=16_000, help="with --seq-len")
    bench.add_argument("--baseline", action="store_true", help="with --seq-len: eager "
                       "vision attention and full logits, as transformers runs them")
    bench.add_argument("--grad-checkpointing", action="store_true", help="with --seq-len")
    return parser


def _renderers_epilog() -> str:
    lines = ["renderers (`ocr2synth renderers NAME` lists one's --param keys):"]
    for name, spec in REGISTRY.items():
        lines.append(f"  {name:<15} {spec.description}")
    return "\n".join(lines)


def _recipe_from_args(args: argparse.Namespace) -> Recipe:
    known = set(REGISTRY)
    if sum(map(bool, (args.recipe, args.renderer, args.demo))) > 1:
        raise RecipeError("give one of a recipe file, --renderer or --demo")
    if args.base_from and not args.renderer:
        raise RecipeError("--from goes with --renderer; a recipe entry says base: {from: DIR}")
    if args.demo:
        recipe = parse_recipe(demo_recipe(), None, known)
    elif args.recipe:
        recipe = load_recipe(args.recipe, known)
    elif args.renderer:
        if args.source and not Path(args.source).exists():
            raise RecipeError(f"--source {args.source!r} does not exist")
        count = args.count
        params = dict(args.param)
        if args.base_from:
            params["from"] = args.base_from
        raw_entry = {"renderer": args.renderer, "count": max(1, count or 1),
                     "params": params}
        parse_recipe({"name": args.renderer, "seed": 0, "entries": [raw_entry]}, Path.cwd(),
                     known)
        if count is None:
            if not args.source:
                raise RecipeError("--renderer needs --count (or a --source to count)")
            source = get_spec(args.renderer).make_source(args.source, dict(args.param))
            count = source.size() or 0
        raw = {
            "name": args.renderer,
            "seed": args.seed,
            "shard_size": args.shard_size,
            "entries": [{"renderer": args.renderer, "count": count,
                         "params": params, "source": args.source}],
        }
        recipe = parse_recipe(raw, Path.cwd(), known)
    else:
        raise RecipeError("give a recipe file, --renderer NAME --count N, or --demo")
    if args.scale != 1.0:
        if args.scale <= 0:
            raise RecipeError(f"--scale must be positive, got {args.scale}")
        recipe = recipe.scaled(args.scale)
    return recipe


def cmd_render(args: argparse.Namespace) -> int:
    from ocr2synth.pipelines.core.runner import RejectRateExceeded, check_reject_rates, run_recipe

    if args.workers < 1:
        raise RecipeError(f"--workers must be at least 1, got {args.workers}")
    recipe = _recipe_from_args(args)
    out = args.out or Path("out") / recipe.name  # a folder, or an object store's URI
    summary = run_recipe(recipe, out, workers=args.workers, address=args.address,
                         progress=not args.no_progress,
                         forward_credentials=args.forward_aws_credentials)
    print(f"\n{out}: {summary.rendered_shards} shards rendered, "
          f"{summary.skipped_shards} already done, {summary.wall_s:.1f}s")
    print(summary_table(summary.manifest, wall_s=summary.wall_s))
    try:
        check_reject_rates(summary.manifest, recipe.max_reject_rate)
    except RejectRateExceeded as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECT_RATE
    return 0


def cmd_renderers(args: argparse.Namespace) -> int:
    if args.markdown:
        from ocr2synth.renderers.specs import README_TABLES, readme_table

        print("\n\n".join(readme_table(list(REGISTRY.values()), n) for n in README_TABLES))
        return 0
    if args.name is None:
        print(_renderers_epilog())
        return 0
    spec = REGISTRY[args.name]
    print(f"{spec.name}: {spec.description}")
    for param in spec.params:
        print(f"  {param.help()}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    print(inspect_text(args.dir, load_manifest(args.dir)))
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from ocr2synth.pipelines.tools.preview import build_preview

    if args.per_group < 1 or args.page_size < 1:
        raise ValueError("--per-group and --page-size must be at least 1")
    result = build_preview(args.dir, args.html, per_group=args.per_group,
                           page_size=args.page_size)
    print(f"{result.shown:,} of {result.total:,} samples: {result.html.resolve()}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from ocr2synth.pipelines.tools.publish import publish

    result = publish(args.dir, args.uri)
    print(f"{result.files} files, {result.bytes / 2**20:,.1f} MiB copied to {result.uri}")
    return 0


def _export_doc() -> str:
    from ocr2synth.pipelines.tools import export

    return export.__doc__ or ""


def cmd_export(args: argparse.Namespace) -> int:
    from ocr2synth.pipelines.tools.export import export_dataset

    result = export_dataset(args.dir, args.format, args.out,
                            absolute_paths=args.absolute_paths,
                            samples_per_tar=args.samples_per_tar,
                            progress=not args.no_progress)
    print(f"{result.out}: {result.rows:,} samples as {result.format} "
          f"({result.exported_shards} shards exported, {result.skipped_shards} already done)")
    for path in result.files[:8]:
        print(f"  {path}")
    return 0


def cmd_setup_assets(args: argparse.Namespace) -> int:
    from ocr2synth.pipelines.tools.setup_assets import setup_assets

    for line in setup_assets(args.dir, args.only):
        print(f"export {line}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from ocr2synth.pipelines.format.verify import verify_dataset

    report = verify_dataset(args.dir)
    print(report.text())
    return 0 if report.ok else EXIT_VERIFY_FAILED


def cmd_bench(args: argparse.Namespace) -> int:
    if args.trainer:
        from ocr2synth.trainer import bench

        if args.seq_len:
            print(bench.forward_backward(args.preset, args.seq_len, args.batch_size, args.vocab,
                                         args.baseline, args.grad_checkpointing).text())
            return 0
        if not args.data:
            raise ValueError("bench --trainer needs --data DIR (a rendered dataset)")
        print(bench.run(args.data, args.preset, args.batch_size, args.steps,
                        args.num_workers).text())
        return 0
    if args.all:
        from ocr2synth.pipelines.tools.bench import run_all

        only = [n.strip() for n in args.only.split(",")] if args.only else None
        unknown = [name for name in only or [] if name not in REGISTRY]
        if unknown:  # before any work
            raise ValueError(f"--only: unknown renderer {unknown[0]!r} "
                             f"(known: {', '.join(sorted(REGISTRY))})")
        naive_count = 8 if args.naive_count is None else args.naive_count
        text = run_all(Path(args.out), seconds=args.seconds, max_count=args.max_count,
                       repeats=args.repeats, naive_count=naive_count,
                       scaling=not args.no_scaling, renderers=only,
                       progress=lambda m: print(m, file=sys.stderr, flush=True))
        print(text)
        print(f"\nwritten to {args.out}")
        return 0
    from ocr2synth.pipelines.tools.bench import browser_memory, run_bench, target_costs

    if args.targets:
        print(target_costs(args.renderer, args.count, args.repeats))
        return 0
    if args.browser_memory:
        print(browser_memory(args.browser_memory))
        return 0

    naive_count = 40 if args.naive_count is None else args.naive_count
    print(run_bench(args.renderer, args.count, naive_count, args.repeats, args.memory))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    handlers = {"render": cmd_render, "inspect": cmd_inspect, "verify": cmd_verify,
                "renderers": cmd_renderers,
                "preview": cmd_preview, "publish": cmd_publish, "export": cmd_export,
                "setup-assets": cmd_setup_assets,
                "bench": cmd_bench, **trainer_cli.COMMANDS}
    try:
        return handlers[args.command](args)
    except RendererFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_RENDERER_FAILED
    except (RecipeError, DatasetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished shards are kept; run the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
