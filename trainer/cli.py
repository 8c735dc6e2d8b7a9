"""`ocr2synth train`, `eval` and `generate`: the trainer's subcommands of the one CLI.

`pipelines.cli` owns the program and its exit statuses; this module adds the subcommands
that run models, and imports torch and transformers only when one of them runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path


def add_parsers(sub: argparse._SubParsersAction) -> None:
    _add_train_parser(sub)
    _add_model_parsers(sub)


def _add_train_parser(sub: argparse._SubParsersAction) -> None:
    """`ocr2synth train`: one of GOT's stages on rendered shards (trainer/)."""
    train = sub.add_parser("train", help="train one GOT stage on shards")
    train.add_argument("--stage", type=int, choices=(1, 2, 3), required=True)
    train.add_argument("--preset", default="got", choices=("tiny", "got-stage1", "got"),
                       help="model shapes (stage 1 uses the preset's small decoder)")
    train.add_argument("--data", required=True, help="dataset folder (shards/ inside)")
    train.add_argument("--out", required=True, help="checkpoints go here; re-run to resume")
    train.add_argument("--init-from", help="a local GotOcr2 checkpoint to start from: the "
                       "previous stage's final/, or GOT-OCR-2.0 in transformers' format")
    train.add_argument("--decoder", help="a local Hugging Face causal-LM folder (OPT for "
                       "stage 1, Qwen2 for stage 2): its weights, shape and tokenizer")
    train.add_argument("--vision", help="a local SAM ViT-B folder (transformers' SamModel) "
                       "for the vision tower, as Vary-tiny starts from SAM-b")
    train.add_argument("--encoder-width", type=int, help="channels of the encoder's last "
                       "convolution (default: the stage-2 decoder's width, GOT: 1024)")
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
    train.add_argument("--compile", action="store_true",
                       help="torch.compile every vision block and decoder layer")
    train.add_argument("--group-by-length", action=argparse.BooleanOptionalAction,
                       default=True, help="batch samples of similar token counts together")
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


def _add_generation_args(parser: argparse.ArgumentParser) -> None:
    """GOT's generation settings by default (GOT/eval/eval_GOT_ocr.py), lowerable."""
    parser.add_argument("--max-new-tokens", type=int, default=4096, help="(GOT: 4096)")
    parser.add_argument("--no-repeat-ngram-size", type=int, default=20,
                        help="no n-gram of this size twice; 0: off (GOT: 20)")
    parser.add_argument("--max-tiles", type=int, default=6,
                        help="multi-crop tiles at most, plus the thumbnail (GOT: 6)")


def _add_model_parsers(sub: argparse._SubParsersAction) -> None:
    """`ocr2synth eval` and `ocr2synth generate`: a trained checkpoint at work."""
    ev = sub.add_parser("eval", help="GOT's metrics per task on held-out shards or a GOT "
                        "evaluation JSON")
    ev.add_argument("--model", required=True, help="checkpoint folder (save_pretrained)")
    ev.add_argument("--data", required=True, help="held-out dataset folder (shards/ inside), "
                    "or a GOT evaluation JSON file (GOT's eval scripts, the Fox benchmark)")
    ev.add_argument("--image-root", help="folder the JSON's image names are relative to "
                    "(default: the JSON's folder)")
    ev.add_argument("--max-samples", type=int,
                    help="per task (default: 100 from shards, all of a JSON)")
    ev.add_argument("--task", action="append", help="only these tasks (repeatable)")
    ev.add_argument("--prompt", help="one GOT prompt for every JSON entry, e.g. 'OCR with "
                    "format: ' (GOT's eval script does this)")
    ev.add_argument("--got-compat", action="store_true",
                    help="GOT's published settings exactly: its (truth, prediction) argument "
                    "order for precision/recall/BLEU/METEOR, no n-gram rule on multi-crop")
    ev.add_argument("--chars", action="store_true",
                    help="score over characters, as GOT's scene-text script does")
    ev.add_argument("--format-parts", action="store_true",
                    help="also score formatted readings' text, math and table parts "
                    "(rows TASK/text, TASK/math, TASK/table), as GOT's eval_ocr_format.py")
    _add_generation_args(ev)
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
    _add_generation_args(gen)
    gen.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda when there is one)")


def cmd_train(args: argparse.Namespace) -> int:
    import gc
    import logging

    from ocr2synth.trainer.config import TrainConfig
    from ocr2synth.trainer.train import train

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    cfg = TrainConfig(
        stage=args.stage, data=args.data, out=args.out, preset=args.preset,
        init_from=args.init_from, decoder=args.decoder, vision=args.vision,
        encoder_width=args.encoder_width, tokenizer=args.tokenizer, replay=args.replay,
        replay_share=args.replay_share, max_steps=args.max_steps, batch_size=args.batch_size,
        grad_accum=args.grad_accum, lr=args.lr, warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay, max_length=args.max_length,
        num_workers=args.num_workers, save_every=args.save_every, log_every=args.log_every,
        seed=args.seed, precision=args.precision, grad_checkpointing=args.grad_checkpointing,
        prompt_style=args.prompt_style, resume=not args.no_resume, parallel=args.parallel,
        compile=args.compile, group_by_length=args.group_by_length,
    )
    if args.ray_workers is not None:
        from ocr2synth.trainer.ray_launch import train_on_ray

        final = train_on_ray(cfg, args.ray_workers, address=args.address,
                             use_gpu=True if args.ray_gpus else None)
        print(f"final checkpoint: {final}")
        return 0
    if args.address:
        raise ValueError("--address goes with --ray-workers N")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        # No collection may free the process group before os._exit (trainer.dist._KEPT).
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

    from ocr2synth.trainer.evaluate import evaluate

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    report = evaluate(args.model, args.data, max_samples=args.max_samples,
                      max_new_tokens=args.max_new_tokens,
                      tasks=tuple(args.task) if args.task else None, device=args.device,
                      image_root=args.image_root, got_compat=args.got_compat,
                      no_repeat_ngram_size=args.no_repeat_ngram_size,
                      max_tiles=args.max_tiles, unit="char" if args.chars else "word",
                      prompt=args.prompt, format_parts=args.format_parts)
    print(report.text())
    if args.json:
        Path(args.json).write_text(report.to_json())
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from ocr2synth.trainer.images import decode
    from ocr2synth.trainer.infer import Reader, query_from_flags

    query = query_from_flags(args.prompt, args.format, args.box, args.color, args.multi_page,
                             args.crop)
    reader = Reader.load(args.model, device=args.device, max_new_tokens=args.max_new_tokens,
                         max_tiles=args.max_tiles,
                         no_repeat_ngram_size=args.no_repeat_ngram_size)
    images = [decode(Path(p).read_bytes()) for p in args.images]
    if query.multi_page:
        print(reader.read(images, query))
        return 0
    for path, image in zip(args.images, images, strict=True):
        print(f"== {path}")
        print(reader.read([image], query))
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": cmd_train, "eval": cmd_eval, "generate": cmd_generate}
