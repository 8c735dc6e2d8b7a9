"""`ocr2synth`: the command line (DESIGN 3.2)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import yaml

from pipelines.dataset import DatasetError, load_manifest
from pipelines.recipe import Recipe, RecipeError, load_recipe, parse_recipe
from pipelines.report import inspect_text, summary_table
from renderers.registry import REGISTRY, get_spec

# Exit statuses: 2 bad usage or input, 3 a reject rate over the recipe's limit, 4 a dataset
# that fails verification.
EXIT_REJECT_RATE = 3
EXIT_VERIFY_FAILED = 4


def _param(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--param takes KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    return key, yaml.safe_load(value)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocr2synth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    render = sub.add_parser("render", help="render a recipe, or one renderer, into shards")
    render.add_argument("recipe", nargs="?", help="recipe YAML file")
    render.add_argument("--renderer", choices=sorted(REGISTRY), help="render one renderer")
    render.add_argument("--count", type=int, help="samples to render (with --renderer)")
    render.add_argument("--source", help="a user corpus for the renderer (file or folder)")
    render.add_argument("--seed", type=int, default=0, help="recipe seed (with --renderer)")
    render.add_argument("--shard-size", type=int, default=1024, help="rows per shard")
    render.add_argument("--param", type=_param, action="append", default=[],
                        metavar="KEY=VALUE", help="renderer parameter (YAML value)")
    render.add_argument("--out", help="output folder (default: out/RECIPE_NAME)")
    render.add_argument("--workers", type=int, default=2, help="local worker processes")
    render.add_argument("--address", help="join a Ray cluster: auto or HOST:PORT")
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

    verify = sub.add_parser("verify", help="check a dataset against its manifest and plan")
    verify.add_argument("dir")
    _add_train_parser(sub)
    _add_model_parsers(sub)

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
    bench.add_argument("--trainer", action="store_true",
                       help="measure the trainer instead: loader, step rate, tokens/s, MFU")
    bench.add_argument("--data", help="dataset folder (with --trainer)")
    bench.add_argument("--preset", default="tiny", choices=("tiny", "got-stage1", "got"))
    bench.add_argument("--batch-size", type=int, default=2)
    bench.add_argument("--steps", type=int, default=5)
    bench.add_argument("--num-workers", type=int, default=2)
    return parser


def _add_train_parser(sub: argparse._SubParsersAction) -> None:
    """`ocr2synth train`: one of GOT's stages on rendered shards (trainer/)."""
    train = sub.add_parser("train", help="train one GOT stage on shards")
    train.add_argument("--stage", type=int, choices=(1, 2, 3), required=True)
    train.add_argument("--preset", default="got", choices=("tiny", "got-stage1", "got"),
                       help="model shapes (stage 1 uses the preset's small decoder)")
    train.add_argument("--data", required=True, help="dataset folder (shards/ inside)")
    train.add_argument("--out", required=True, help="checkpoints go here; re-run to resume")
    train.add_argument("--init-from", help="local Hugging Face checkpoint to start from")
    train.add_argument("--tokenizer", help="local tokenizer (default: BPE on the targets)")
    train.add_argument("--replay", help="replay data folder (default: --data)")
    train.add_argument("--replay-share", type=float, help="share of replay samples "
                       "(default: the stage's; GOT: 0.8 in stages 2 and 3)")
    train.add_argument("--max-steps", type=int, default=1000)
    train.add_argument("--batch-size", type=int, default=8, help="per GPU and micro-batch")
    train.add_argument("--grad-accum", type=int, default=1)
    train.add_argument("--lr", type=float, help="peak learning rate (default: the stage's)")
    train.add_argument("--warmup-steps", type=int)
    train.add_argument("--weight-decay", type=float, default=0.0)
    train.add_argument("--max-length", type=int, help="tokens (default: 4096/6000/8192)")
    train.add_argument("--num-workers", type=int, default=2, help="loader processes")
    train.add_argument("--save-every", type=int, default=500)
    train.add_argument("--log-every", type=int, default=10)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"))
    train.add_argument("--grad-checkpointing", action="store_true")
    train.add_argument("--prompt-style", default="processor", choices=("processor", "verbatim"),
                       help="queries as GotOcr2Processor writes them, or as in the shards")
    train.add_argument("--no-resume", action="store_true",
                       help="ignore checkpoints already under --out")
    train.add_argument("--parallel", default="ddp", choices=("ddp", "fsdp"),
                       help="data parallelism under torchrun / Ray Train: DDP, or FSDP "
                       "sharded per decoder layer and vision block")
    train.add_argument("--ray-workers", type=int,
                       help="run under Ray Train's TorchTrainer with N workers")
    train.add_argument("--address", help="Ray cluster to join with --ray-workers: auto or "
                       "HOST:PORT (default: a local Ray)")
    train.add_argument("--ray-gpus", action="store_true",
                       help="one GPU per Ray Train worker (default: when this host has one)")


def _box(text: str) -> tuple[int, int, int, int]:
    values = [int(float(v)) for v in text.replace("[", "").replace("]", "").split(",")]
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"--box takes x1,y1,x2,y2 (0-1000), got {text!r}")
    return values[0], values[1], values[2], values[3]


def _add_model_parsers(sub: argparse._SubParsersAction) -> None:
    """`ocr2synth eval` and `ocr2synth generate`: a trained checkpoint at work."""
    ev = sub.add_parser("eval", help="GOT's metrics per task on held-out shards")
    ev.add_argument("--model", required=True, help="checkpoint folder (save_pretrained)")
    ev.add_argument("--data", required=True, help="held-out dataset folder (shards/ inside)")
    ev.add_argument("--max-samples", type=int, default=100, help="per task")
    ev.add_argument("--max-new-tokens", type=int, default=512)
    ev.add_argument("--task", action="append", help="only these tasks (repeatable)")
    ev.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when there is one)")
    ev.add_argument("--json", help="also write the report here")

    gen = sub.add_parser("generate", help="print a checkpoint's reading of a few images")
    gen.add_argument("--model", required=True, help="checkpoint folder (save_pretrained)")
    gen.add_argument("images", nargs="+", help="image files (one sample each, or the pages "
                     "of one sample with --multi-page)")
    gen.add_argument("--prompt", help="a GOT prompt as shards write it, e.g. 'OCR: '")
    gen.add_argument("--format", action="store_true", help="'OCR with format: '")
    gen.add_argument("--box", type=_box, help="x1,y1,x2,y2 on GOT's 0-1000 scale")
    gen.add_argument("--color", help="the frame colour drawn on the image, e.g. red")
    gen.add_argument("--multi-page", action="store_true", help="the images are one document")
    gen.add_argument("--crop", action="store_true", help="multi-crop: tiles + thumbnail")
    gen.add_argument("--max-new-tokens", type=int, default=512)
    gen.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when there is one)")


def _recipe_from_args(args: argparse.Namespace) -> Recipe:
    known = set(REGISTRY)
    if args.recipe and args.renderer:
        raise RecipeError("give a recipe file or --renderer, not both")
    if args.recipe:
        recipe = load_recipe(args.recipe, known)
    elif args.renderer:
        if args.source and not Path(args.source).exists():
            raise RecipeError(f"--source {args.source!r} does not exist")
        count = args.count
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
                         "params": dict(args.param), "source": args.source}],
        }
        recipe = parse_recipe(raw, Path.cwd(), known)
    else:
        raise RecipeError("give a recipe file, or --renderer NAME --count N")
    if args.scale != 1.0:
        if args.scale <= 0:
            raise RecipeError(f"--scale must be positive, got {args.scale}")
        recipe = recipe.scaled(args.scale)
    return recipe


def cmd_render(args: argparse.Namespace) -> int:
    from pipelines.runner import RejectRateExceeded, check_reject_rates, run_recipe

    if args.workers < 1:
        raise RecipeError(f"--workers must be at least 1, got {args.workers}")
    recipe = _recipe_from_args(args)
    out = Path(args.out or Path("out") / recipe.name)
    summary = run_recipe(recipe, out, workers=args.workers, address=args.address,
                         progress=not args.no_progress)
    print(f"\n{out}: {summary.rendered_shards} shards rendered, "
          f"{summary.skipped_shards} already done, {summary.wall_s:.1f}s")
    print(summary_table(summary.manifest, wall_s=summary.wall_s))
    try:
        check_reject_rates(summary.manifest, recipe.max_reject_rate)
    except RejectRateExceeded as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REJECT_RATE
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    print(inspect_text(root, load_manifest(root)))
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from pipelines.preview import build_preview

    if args.per_group < 1 or args.page_size < 1:
        raise ValueError("--per-group and --page-size must be at least 1")
    result = build_preview(args.dir, args.html, per_group=args.per_group,
                           page_size=args.page_size)
    print(f"{result.shown:,} of {result.total:,} samples: {result.html.resolve()}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from pipelines.publish import publish

    result = publish(args.dir, args.uri)
    print(f"{result.files} files, {result.bytes / 2**20:,.1f} MiB copied to {result.uri}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from pipelines.verify import verify_dataset

    report = verify_dataset(args.dir)
    print(report.text())
    return 0 if report.ok else EXIT_VERIFY_FAILED


def cmd_bench(args: argparse.Namespace) -> int:
    if args.trainer:
        from trainer import bench

        if not args.data:
            raise ValueError("bench --trainer needs --data DIR (a rendered dataset)")
        print(bench.run(args.data, args.preset, args.batch_size, args.steps,
                        args.num_workers).text())
        return 0
    if args.all:
        from pipelines.bench import run_all

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
    from pipelines.bench import browser_memory, run_bench

    if args.browser_memory:
        print(browser_memory(args.browser_memory))
        return 0

    naive_count = 40 if args.naive_count is None else args.naive_count
    print(run_bench(args.renderer, args.count, naive_count, args.repeats, args.memory))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    import gc
    import logging

    from trainer.config import TrainConfig
    from trainer.train import train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    cfg = TrainConfig(
        stage=args.stage, data=args.data, out=args.out, preset=args.preset,
        init_from=args.init_from, tokenizer=args.tokenizer, replay=args.replay,
        replay_share=args.replay_share, max_steps=args.max_steps, batch_size=args.batch_size,
        grad_accum=args.grad_accum, lr=args.lr, warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay, max_length=args.max_length,
        num_workers=args.num_workers, save_every=args.save_every, log_every=args.log_every,
        seed=args.seed, precision=args.precision, grad_checkpointing=args.grad_checkpointing,
        prompt_style=args.prompt_style, resume=not args.no_resume, parallel=args.parallel,
    )
    if args.ray_workers is not None:
        from trainer.ray_launch import train_on_ray

        final = train_on_ray(cfg, args.ray_workers, address=args.address,
                             use_gpu=True if args.ray_gpus else None)
        print(f"final checkpoint: {final}")
        return 0
    if args.address:
        raise ValueError("--address goes with --ray-workers N")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        # A gloo process group freed by the garbage collector can deadlock: its destructor
        # waits, holding the GIL, for its worker thread, which needs the GIL to finish the
        # last collective's bookkeeping. A torchrun rank therefore never collects the DDP
        # wrapper and leaves with os._exit once its checkpoint is written.
        gc.disable()
    final = train(cfg)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"final checkpoint: {final}")
    if distributed:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import logging

    from trainer.evaluate import evaluate

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    report = evaluate(args.model, args.data, max_samples=args.max_samples,
                      max_new_tokens=args.max_new_tokens,
                      tasks=tuple(args.task) if args.task else None, device=args.device)
    print(report.text())
    if args.json:
        Path(args.json).write_text(report.to_json())
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from trainer.images import decode
    from trainer.infer import Reader, query_from_flags

    query = query_from_flags(args.prompt, args.format, args.box, args.color, args.multi_page,
                             args.crop)
    reader = Reader.load(args.model, device=args.device, max_new_tokens=args.max_new_tokens)
    images = [decode(Path(p).read_bytes()) for p in args.images]
    if query.multi_page:
        print(reader.read(images, query))
        return 0
    for path, image in zip(args.images, images, strict=True):
        print(f"== {path}")
        print(reader.read([image], query))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    handlers = {"render": cmd_render, "inspect": cmd_inspect, "verify": cmd_verify,
                "preview": cmd_preview, "publish": cmd_publish,
                "bench": cmd_bench, "train": cmd_train, "eval": cmd_eval,
                "generate": cmd_generate}
    try:
        return handlers[args.command](args)
    except (RecipeError, DatasetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished shards are kept; run the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
