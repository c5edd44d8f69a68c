"""Translate text: ``nmt translate --model DIR [--beam K] [-i FILE] [-o FILE]``.

Reads one sentence per line (stdin by default) and writes one translation per line, in order.
Without ``--model`` the small English->French model bundled with nmt is used. A directory
written by ``nmt export --format onnx`` runs on the torch-free runtime (onnxruntime), found by
its manifest; ``--threads`` then sets onnxruntime's threads.

With ``--stream`` it translates text as it arrives (live captions, typing, a transcript): each
line of input is one segment, read word by word, and every change to what should be shown is
one JSON line (``line``, ``committed``, ``tentative``, ``erased``, ``source_words``, ``final``;
a final record also has each target word's delay in source words).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from nmt.errors import NmtError
from nmt.textio import LINE_END, decode_lines, write_atomically
from nmt.translating import TruncatedInputWarning


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", "-m", action="append", default=None,
                   help="model directory (default: bundled en->fr); repeat it to decode with an "
                        "ensemble of models that share their vocabularies")
    p.add_argument("--input", "-i", default="-", help="input file, one sentence per line (default stdin)")
    p.add_argument("--output", "-o", default="-", help="output file (default stdout)")
    p.add_argument("--beam", "-k", type=int, default=None, help="beam size; 1 is greedy (default: config)")
    p.add_argument("--length-penalty", type=float, default=None, help="GNMT length penalty alpha")
    p.add_argument("--batch-size", type=int, default=None, help="sentences per batch")
    p.add_argument("--quantize", choices=["none", "int8"], default=None,
                   help="int8: dynamic int8 quantization for faster CPU decoding")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a decoding setting of the model's config, e.g. "
                        "--set decoding.no_repeat_ngram=3 (repeatable)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --output file")
    bulk = p.add_argument_group("bulk translation (torchrun --nproc_per_node N -m nmt translate ...)")
    bulk.add_argument("--resume", action="store_true",
                      help="continue a killed run, keeping its finished shards (needs --output)")
    bulk.add_argument("--shard-lines", type=int, default=1000,
                      help="lines per shard when sharding over processes or resuming (default 1000)")
    live = p.add_argument_group("live translation")
    live.add_argument("--stream", action="store_true",
                      help="translate as text arrives; one JSON line per update")
    live.add_argument("--policy", choices=["retranslate", "wait-k"], default="retranslate",
                      help="retranslate: any model (default); wait-k: a model trained with training.wait_k")
    live.add_argument("--k", type=int, default=None,
                      help="retranslate: target pieces kept tentative (default 12); "
                           "wait-k: source pieces of lag (default 3)")


def read_input(path: str) -> list[str]:
    """The sentences to translate, by the one line rule of ``nmt.textio`` (stdin for "-")."""
    if path == "-":
        return decode_lines(sys.stdin.buffer.read(), "stdin")
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise NmtError(f"input file {path!r} not found.") from None
    except OSError as exc:
        raise NmtError(f"cannot read input file {path!r}: {exc.strerror or exc}.") from None
    return decode_lines(data, path)


def load_translator(args: argparse.Namespace):
    """The translator ``--model`` names: the torch one, or the runtime's for an exported
    directory (which imports no torch)."""
    from nmt.runtime.manifest import is_exported

    models = args.model or [None]
    exported = [m for m in models if is_exported(m)]
    if exported and len(models) > 1:
        raise NmtError(f"{exported[0]} is an exported model; an ensemble (--model repeated) "
                       "decodes nmt model directories with torch.")
    if exported:
        from nmt.runtime.translator import Translator

        if args.quantize not in (None, "none"):
            raise NmtError(f"{exported[0]} is an exported model, quantized or not at export: "
                           "drop --quantize (or export with --quantize int8).")
        return Translator.load(exported[0], threads=args.threads, overrides=args.overrides)
    from nmt.translator import Translator

    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    # Overrides go in at load time, so decoding.quantize=int8 quantizes like --quantize does.
    return Translator.load(models if len(models) > 1 else models[0],
                           quantize=args.quantize, overrides=args.overrides)


def run(args: argparse.Namespace) -> int:
    if args.beam is not None and args.beam < 1:
        raise NmtError("--beam must be at least 1.")
    if args.output != "-" and Path(args.output).exists() and not args.force:
        raise NmtError(f"output file {args.output!r} exists; pass --force to overwrite it.")
    if args.threads is not None and args.threads < 1:
        raise NmtError("--threads must be at least 1.")
    if args.stream:
        return _stream(args)
    lines = read_input(args.input)
    translator = load_translator(args)
    from nmt.bulk import is_distributed_launch

    if args.resume or is_distributed_launch():
        return _in_shards(args, lines, translator)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TruncatedInputWarning)
        out = translator.translate(lines, beam=args.beam, length_penalty=args.length_penalty,
                                   batch_size=args.batch_size,
                                   progress=args.output != "-" or len(lines) > 200)
    if caught:
        print(f"nmt translate: note: {len(caught)} line(s) were truncated: {caught[0].message}",
              file=sys.stderr)
    # One output line per input line, whatever the model emits.
    text = "".join(LINE_END.sub(" ", line) + "\n" for line in out)
    if args.output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomically(Path(args.output), text)
    return 0


def _in_shards(args: argparse.Namespace, lines: list[str], translator) -> int:
    """The input in shards over torchrun's processes, resumable (nmt.bulk)."""
    from nmt import bulk

    if args.output == "-":
        raise NmtError("a run over several processes or with --resume writes a file: give --output.")
    wrap, caught = bulk.truncation_counter(TruncatedInputWarning)
    translate = wrap(lambda chunk: translator.translate(
        chunk, beam=args.beam, length_penalty=args.length_penalty, batch_size=args.batch_size))
    dirs = translator.meta.get("ensemble") or [translator.model_dir]
    settings = {"model": [bulk.fingerprint(Path(d)) for d in dirs], "beam": args.beam,
                "length_penalty": args.length_penalty, "overrides": args.overrides,
                "quantize": args.quantize}
    bulk.translate_in_shards(translate, lines, Path(args.output), settings,
                             shard_lines=args.shard_lines, resume=args.resume)
    if caught:
        print(f"nmt translate: note: {len(caught)} line(s) were truncated: {caught[0].message}",
              file=sys.stderr)
    return 0


def _stream(args: argparse.Namespace) -> int:
    """Follow the input as it arrives: read whatever bytes are there, never wait for the end."""
    import codecs
    import json

    from nmt.runtime.manifest import is_exported
    from nmt.streaming import Stream
    from nmt.streaming.feed import follow

    if args.output != "-":
        raise NmtError("--stream writes its updates to stdout; drop --output.")
    if args.policy == "wait-k" and any(is_exported(m) for m in args.model or []):
        raise NmtError("--policy wait-k reads the source piece by piece with the torch model; "
                       "an exported model streams with --policy retranslate.")
    translator = load_translator(args)
    options = translator.resolve(beam=args.beam, length_penalty=args.length_penalty)
    Stream(translator, args.policy, args.k, options)  # a wrong --policy/--k fails before reading
    source = sys.stdin.buffer if args.input == "-" else _open(args.input)
    for record in follow(_decoded(source, codecs.getincrementaldecoder("utf-8")(), args.input),
                         lambda: Stream(translator, args.policy, args.k, options)):
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


def _open(path: str):
    try:
        return open(path, "rb")  # noqa: SIM115 (closed at exit; streamed, not read whole)
    except FileNotFoundError:
        raise NmtError(f"input file {path!r} not found.") from None


def _decoded(source, decoder, name: str):
    """Text chunks as soon as their bytes arrive (``read1`` returns what is there)."""
    while True:
        data = source.read1(65536)
        try:
            yield decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise NmtError(f"{'stdin' if name == '-' else name} is not valid UTF-8; convert it "
                           "first, e.g. iconv -f LATIN1 -t UTF-8.") from None
        if not data:
            return
