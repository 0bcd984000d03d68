"""``python -m devtools.benchmark``: speed and size of every model, side by side in one run.

Writes ``BENCHMARKS.md`` (generated, never edited by hand), a JSON file and a plot. Timing on a
shared 2-core machine is noisy, so every claim is a ratio of numbers measured in the same run, with
the compared configurations interleaved round by round (A B C … A B C …) so that a change of load
hits both sides. Runs on a Pi too (numpy/OpenCV/TFLite only); the training part needs TensorFlow and
is skipped with a note without it, the plot needs matplotlib.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from devtools.common import cpu_name
from edge import errors
from edge.clikit import run_main
from edge.errors import InputError, JobError
from edge.interpreter import DigitClassifier, ModelError
from edge.metadata import ModelMetadata
from edge.recognizer import Recognizer
from edge.scenes import load_digit_pool, render_scene

REPO = Path(__file__).resolve().parents[1]
MODELS = {  # name -> path; MACs per image computed from the architectures (train/models.py)
    "paper int8": REPO / "models" / "paper" / "model_int8.tflite",
    "ours int8": REPO / "models" / "edge" / "model_int8.tflite",
    "ours float16": REPO / "models" / "edge" / "model_float16.tflite",
    "ours float32": REPO / "models" / "edge" / "model_float.tflite",
}
MACS = {"paper": 13_173_376, "ours": 5_532_544}

BLOCK_TENSORFLOW = (
    "import importlib.abc, sys\n"
    "class _Block(importlib.abc.MetaPathFinder):\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in {'tensorflow', 'keras'}:\n"
    "            raise ImportError(name + ' blocked: the edge extra only')\n"
    "sys.meta_path.insert(0, _Block())\n"
)
STARTUP_SCRIPT = BLOCK_TENSORFLOW + (
    "import time; t0 = time.perf_counter()\n"
    "import cv2\n"
    "from edge import Recognizer\n"
    "frame = cv2.imread(sys.argv[1])\n"
    "t1 = time.perf_counter()\n"
    "recognizer = Recognizer.from_path()\n"
    "reading = recognizer.read(frame)\n"
    "t2 = time.perf_counter()\n"
    "import resource, json\n"
    "print(json.dumps({'import_and_load_to_result_s': t2 - t0, 'import_s': t1 - t0,\n"
    "                  'load_to_result_s': t2 - t1, 'peak_rss_mb': peak_rss_mb(), 'text': reading.text}))\n"
)
# A forked child inherits its parent's ru_maxrss, so a child must report its own VmHWM.
PEAK_RSS_FUNCTION = (
    "def peak_rss_mb():\n"
    "    try:\n"
    "        with open('/proc/self/status') as status:\n"
    "            return next(int(l.split()[1]) / 1024 for l in status if l.startswith('VmHWM'))\n"
    "    except (OSError, StopIteration):\n"
    "        import resource\n"
    "        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
)
STARTUP_SCRIPT = PEAK_RSS_FUNCTION + STARTUP_SCRIPT
DIGIT_CAM_SCRIPT = BLOCK_TENSORFLOW + PEAK_RSS_FUNCTION + (
    "import runpy\n"
    "sys.argv = ['digit-cam', '--source', 'demo', '--frames', '1', '--emit', 'all', '--json', '--demo-fps', '0']\n"
    "try:\n"
    "    runpy.run_module('edge', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    "print('PEAK_RSS_MB', peak_rss_mb(), file=sys.stderr)\n"
)


@dataclass
class Stats:
    median_ms: float
    p95_ms: float
    samples: int


def _stats(values_ms: list[float]) -> Stats:
    array = np.asarray(values_ms)
    return Stats(float(np.median(array)), float(np.percentile(array, 95)), len(array))


def _pin_to_one_core() -> bool:
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return True
    except (AttributeError, OSError):
        return False


def inference_latency(rounds: int, per_block: int, log) -> list[dict]:
    """Per-invocation latency of every model x XNNPACK on/off x 1/2 threads x batch 1/6."""
    pool = load_digit_pool()
    batch = {1: pool.images[:1], 6: pool.images[:6]}
    configs = []
    for name, path in MODELS.items():
        for xnnpack in (True, False):
            for threads in (1, 2):
                classifier = DigitClassifier.from_path(path, xnnpack=xnnpack, threads=threads)
                for size in (1, 6):
                    configs.append({"model": name, "xnnpack": xnnpack, "threads": threads, "batch": size,
                                    "classifier": classifier, "times": []})
    for config in configs:  # warm-up: first invocations allocate and pack weights
        for _ in range(10):
            config["classifier"].probabilities(batch[config["batch"]])
    log(f"inference: {len(configs)} configurations x {rounds} interleaved rounds of {per_block} calls")
    for _ in range(rounds):
        for config in configs:
            crops = batch[config["batch"]]
            classify = config["classifier"].probabilities
            classify(crops)  # the interpreter may have been resized for another batch size
            started = time.perf_counter()
            for _ in range(per_block):
                classify(crops)
            config["times"].append((time.perf_counter() - started) / per_block * 1e3)
    results = []
    for config in configs:
        stats = _stats(config["times"])
        results.append({k: config[k] for k in ("model", "xnnpack", "threads", "batch")}
                       | {"median_ms": stats.median_ms, "p95_ms": stats.p95_ms,
                          "per_image_ms": stats.median_ms / config["batch"]})
    return results


def frame_latency(rounds: int, log) -> list[dict]:
    """End-to-end read() of synthetic scenes: sizes x digit counts x BGR vs YUV420 Y plane."""
    pool = load_digit_pool()
    recognizer = Recognizer.from_path(threads=1)
    cases = []
    for width, height in ((640, 480), (1280, 720)):
        for digits in (1, 6):
            scenes = [render_scene(np.random.default_rng(seed), pool, width=width, height=height, n_digits=digits)
                      for seed in range(8)]
            for path, convert in (("bgr", None), ("yuv420", cv2.COLOR_BGR2YUV_I420)):
                frames = [s.image if convert is None else cv2.cvtColor(s.image, convert) for s in scenes]
                cases.append({"size": f"{width}x{height}", "digits": digits, "path": path, "frames": frames,
                              "pre": [], "inf": []})
    log(f"frames: {len(cases)} cases x {rounds} interleaved rounds of 8 scenes, one core, 1 thread")
    for case in cases:  # warm-up
        recognizer.read(case["frames"][0], pixel_format=case["path"] if case["path"] == "yuv420" else "auto")
    for _ in range(rounds):
        for case in cases:
            fmt = "yuv420" if case["path"] == "yuv420" else "auto"
            for frame in case["frames"]:
                reading = recognizer.read(frame, pixel_format=fmt)
                case["pre"].append(reading.timings.preprocess_ms)
                case["inf"].append(reading.timings.inference_ms)
    return [{"size": c["size"], "digits": c["digits"], "path": c["path"],
             "preprocess_ms": float(np.median(c["pre"])), "inference_ms": float(np.median(c["inf"])),
             "total_ms": float(np.median(np.add(c["pre"], c["inf"]))),
             "total_p95_ms": float(np.percentile(np.add(c["pre"], c["inf"]), 95))} for c in cases]


def startup(repeats: int, log) -> dict:
    """Fresh processes with TensorFlow blocked: import + model load to first result, peak RSS."""
    log(f"start-up: {repeats} fresh processes, TensorFlow blocked from import")
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        frame_path = Path(tmp) / "frame.png"
        cv2.imwrite(str(frame_path), render_scene(np.random.default_rng(1), load_digit_pool(), n_digits=4).image)
        for _ in range(repeats):
            started = time.perf_counter()
            result = subprocess.run([sys.executable, "-c", STARTUP_SCRIPT, str(frame_path)], cwd=REPO,
                                    capture_output=True, text=True, timeout=120)
            wall = time.perf_counter() - started
            if result.returncode != 0:
                raise RuntimeError(f"start-up probe failed: {result.stderr[-500:]}")
            data = json.loads(result.stdout.strip().splitlines()[-1])
            data["process_wall_s"] = wall
            runs.append(data)
    cli_started = time.perf_counter()
    cli = subprocess.run([sys.executable, "-c", DIGIT_CAM_SCRIPT], cwd=REPO, capture_output=True, text=True,
                         timeout=120)
    cli_wall = time.perf_counter() - cli_started
    cli_peak = [float(line.split()[1]) for line in cli.stderr.splitlines() if line.startswith("PEAK_RSS_MB")]
    pick = {key: float(np.median([r[key] for r in runs])) for key in
            ("import_and_load_to_result_s", "import_s", "load_to_result_s", "peak_rss_mb", "process_wall_s")}
    ok = cli.returncode == 0 and '"text"' in cli.stdout
    pick["digit_cam_demo_1_frame_wall_s"] = cli_wall if ok else None
    pick["digit_cam_peak_rss_mb"] = cli_peak[0] if ok and cli_peak else None
    return pick


def models_table() -> list[dict]:
    rows = []
    for name, path in MODELS.items():
        meta = ModelMetadata.read(path.with_suffix(".json"))
        rows.append({"model": name, "bytes": path.stat().st_size, "accuracy": meta.accuracy,
                     "params": meta.source_model.get("params"), "macs": MACS[name.split()[0]],
                     "quantization": meta.quantization})
    return rows


def training_speed(limit: int, rounds: int, log) -> dict | None:
    """Seconds per epoch of both architectures on the same subset, interleaved A B A B … so load
    changes hit both; each run trains 2 epochs and the second (no graph tracing) is timed."""
    try:
        import tensorflow  # noqa: F401

        from train.training import TrainConfig, run
    except ImportError:
        return None
    samples: dict[str, list[float]] = {"paper": [], "edge": []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_number in range(rounds):
            for arch in ("paper", "edge"):
                log(f"training: round {round_number + 1}/{rounds}, {arch}, 2 epochs on {limit:,} images")
                trained = run(TrainConfig(arch=arch, epochs=2, limit=limit, test_limit=500, val_split=0.0,
                                          out_dir=Path(tmp) / f"{arch}-{round_number}", verbose=0))
                samples[arch].append(trained.seconds_per_epoch[-1])
    return {"images": limit, "paper": float(np.median(samples["paper"])), "edge": float(np.median(samples["edge"])),
            "samples": samples}


def machine() -> dict:
    cpu = cpu_name()
    import ai_edge_litert

    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__,
            "ai_edge_litert": getattr(ai_edge_litert, "__version__", "?"),
            "load_average_at_start": [round(v, 2) for v in os.getloadavg()]}


def ratios(result: dict) -> dict:
    def latency(model, xnnpack=True, threads=1, batch=1):
        for row in result["inference"]:
            if (row["model"], row["xnnpack"], row["threads"], row["batch"]) == (model, xnnpack, threads, batch):
                return row["median_ms"]
        raise KeyError(model)

    sizes = {row["model"]: row for row in result["models"]}
    frame = next(r for r in result["frames"] if (r["size"], r["digits"], r["path"]) == ("640x480", 6, "bgr"))
    out = {
        "latency_ours_over_paper_int8_xnnpack_1thread": latency("ours int8") / latency("paper int8"),
        "latency_ours_over_paper_int8_builtin_1thread": latency("ours int8", xnnpack=False)
        / latency("paper int8", xnnpack=False),
        "latency_ours_over_paper_int8_batch6_xnnpack": latency("ours int8", batch=6) / latency("paper int8", batch=6),
        "size_ours_over_paper_int8": sizes["ours int8"]["bytes"] / sizes["paper int8"]["bytes"],
        "accuracy_ours_minus_paper_int8_pp": 100 * (sizes["ours int8"]["accuracy"] - sizes["paper int8"]["accuracy"]),
        "macs_ours_over_paper": MACS["ours"] / MACS["paper"],
        "frame_640x480_6digits_ms": frame["total_ms"],
        "startup_s": result["startup"]["import_and_load_to_result_s"],
    }
    if result.get("training"):
        out["training_epoch_ours_over_paper"] = result["training"]["edge"] / result["training"]["paper"]
    return out


def plot(result: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    from matplotlib.ticker import ScalarFormatter

    fig, axis = plt.subplots(figsize=(7, 4.5))
    for index, row in enumerate(result["models"]):
        lat = next(r["median_ms"] for r in result["inference"]
                   if r["model"] == row["model"] and r["xnnpack"] and r["threads"] == 1 and r["batch"] == 1)
        size_kb = row["bytes"] / 1024
        axis.scatter(lat, 100 * row["accuracy"], s=40 + size_kb / 8, alpha=0.6)
        # Alternate labels above and below: models of equal accuracy sit on one line.
        axis.annotate(f"{row['model']}, {size_kb:,.0f} KB", (lat, 100 * row["accuracy"]), fontsize=8,
                      xytext=(6, 8 if index % 2 else -12), textcoords="offset points")
    axis.set_xscale("log")
    axis.xaxis.set_major_formatter(ScalarFormatter())
    axis.xaxis.set_minor_formatter(ScalarFormatter())
    axis.margins(x=0.25, y=0.15)
    axis.set_xlabel("latency per image, ms (XNNPACK, 1 thread, batch 1; log scale)")
    axis.set_ylabel("MNIST test accuracy, %")
    axis.set_title("Latency vs accuracy; marker area grows with file size")
    axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def markdown(result: dict, command: str, plot_file: str | None) -> str:
    m, r = result["machine"], result["ratios"]
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `{command}` on {result['date']} — do not edit by hand.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['platform']}; Python {m['python']}, numpy {m['numpy']}, "
        f"OpenCV {m['opencv']}, ai-edge-litert {m['ai_edge_litert']}. Load average at start: "
        f"{m['load_average_at_start']}. Every ratio below compares numbers measured in this one run with the "
        "configurations interleaved round by round.",
        "",
        "## Headline ratios",
        "",
        "| claim | measured | target |",
        "| --- | ---: | ---: |",
        "| ours int8 latency / paper int8 (XNNPACK, 1 thread, batch 1) | "
        f"**{r['latency_ours_over_paper_int8_xnnpack_1thread']:.2f}×** | ≤ 0.5× |",
        f"| same, builtin kernels (no XNNPACK) | {r['latency_ours_over_paper_int8_builtin_1thread']:.2f}× | — |",
        f"| same, batch of 6 crops | {r['latency_ours_over_paper_int8_batch6_xnnpack']:.2f}× | — |",
        f"| multiply-adds per image, ours / paper | {r['macs_ours_over_paper']:.2f}× | — |",
        f"| ours int8 file size / paper int8 | **1/{1 / r['size_ours_over_paper_int8']:.0f}** | ≤ 1/20 |",
        f"| accuracy, ours int8 − paper int8 | **{r['accuracy_ours_minus_paper_int8_pp']:+.2f} pp** | ≥ 0 |",
        "| 640×480 frame, 6 digits, preprocess + inference, one core | "
        f"**{r['frame_640x480_6digits_ms']:.1f} ms** | ≤ 10 ms |",
        f"| start-up: import + model load to first result, edge only | **{r['startup_s']:.2f} s** | ≤ 1 s |",
    ]
    if "training_epoch_ours_over_paper" in r:
        lines.append(f"| training time per epoch, ours / paper | {r['training_epoch_ours_over_paper']:.2f}× | — |")
    lines += ["", "## Models", "", "| model | file size | parameters | MACs/image | MNIST test accuracy |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for row in result["models"]:
        lines.append(f"| {row['model']} | {row['bytes'] / 1024:,.1f} KB | {row['params']:,} | "
                     f"{row['macs'] / 1e6:.1f} M | {100 * row['accuracy']:.2f}% |")
    if plot_file:
        lines += ["", f"![latency vs accuracy vs size]({plot_file})"]
    lines += ["", "## Inference latency per call (median / p95 ms; per image = median / batch)", "",
              "| model | XNNPACK | threads | batch | median | p95 | per image |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in result["inference"]:
        lines.append(f"| {row['model']} | {'on' if row['xnnpack'] else 'off'} | {row['threads']} | {row['batch']} | "
                     f"{row['median_ms']:.3f} | {row['p95_ms']:.3f} | {row['per_image_ms']:.3f} |")
    lines += ["", "## End-to-end frame latency (`Recognizer.read`, one core, 1 thread, median ms)", "",
              "| frame | digits | input | preprocess | inference | total | total p95 |",
              "| --- | ---: | --- | ---: | ---: | ---: | ---: |"]
    for row in result["frames"]:
        lines.append(f"| {row['size']} | {row['digits']} | {row['path']} | {row['preprocess_ms']:.2f} | "
                     f"{row['inference_ms']:.2f} | {row['total_ms']:.2f} | {row['total_p95_ms']:.2f} |")
    s = result["startup"]
    lines += ["", "## Start-up and memory (fresh processes, TensorFlow blocked from import)", "",
              f"- import + model load to first result: **{s['import_and_load_to_result_s']:.2f} s** (imports "
              f"{s['import_s']:.2f} s, model load + first read {s['load_to_result_s']:.2f} s; the whole process "
              f"including Python's own start-up: {s['process_wall_s']:.2f} s)",
              f"- peak resident memory (VmHWM of that process): **{s['peak_rss_mb']:.0f} MB**",
              f"- `digit-cam --source demo --frames 1` with TensorFlow blocked: "
              f"{s['digit_cam_demo_1_frame_wall_s'] or float('nan'):.2f} s wall for the whole command, peak "
              f"resident memory {s['digit_cam_peak_rss_mb'] or float('nan'):.0f} MB"]
    t = result.get("training")
    lines += ["", "## Training speed (interleaved runs, same subset)", ""]
    if t:
        lines.append(f"Seconds for one epoch over {t['images']:,} images, median of {len(t['samples']['paper'])} "
                     f"interleaved runs (second epoch of each timed): paper {t['paper']:.2f} s, ours "
                     f"{t['edge']:.2f} s (ours includes its augmentation). Samples: paper "
                     f"{[round(v, 2) for v in t['samples']['paper']]}, "
                     f"ours {[round(v, 2) for v in t['samples']['edge']]}.")
    else:
        lines.append("Skipped (TensorFlow not installed, or --skip-training).")
    lines += ["", "## How to read this", "",
              "A Raspberry Pi 4 is roughly 3–5× slower than this machine per core, so the ~ms figures "
              "above are the budget that keeps a Pi real-time at camera rates. Absolute numbers move "
              "with machine load; ratios from one interleaved run do not move much.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.benchmark", description=__doc__.splitlines()[0],
                                     epilog=errors.EPILOG)
    parser.add_argument("--quick", action="store_true",
                        help="few rounds and no training: checks the benchmark works (seconds), numbers are rough")
    parser.add_argument("--skip-training", action="store_true", help="do not measure training speed")
    parser.add_argument("--json-out", type=Path, default=Path("docs/benchmark.json"), metavar="PATH",
                        help="where to write the raw results (default: docs/benchmark.json)")
    parser.add_argument("--markdown", type=Path, default=Path("BENCHMARKS.md"), metavar="PATH",
                        help="the generated report (default: BENCHMARKS.md)")
    parser.add_argument("--plot", type=Path, default=Path("docs/benchmark.png"), metavar="PATH",
                        help="latency/accuracy/size plot (default: docs/benchmark.png; needs matplotlib)")
    args = parser.parse_args(argv)
    return run_main(lambda: benchmark(args), prog=parser.prog)


class BenchmarkError(JobError):
    """A measurement failed part-way (a model the runtime rejects, a crashed child process)."""


def benchmark(args: argparse.Namespace) -> None:
    """Measure everything, write the JSON, plot and Markdown report, print the headline ratios."""

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    missing = [str(p) for p in MODELS.values() if not p.is_file()]
    if missing:
        raise InputError(f"models not found: {', '.join(missing)} (run from a checkout with models/)")
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
              "quick": args.quick}
    try:
        result["models"] = models_table()
        pinned = _pin_to_one_core()
        result["pinned_to_one_core"] = pinned
        result["inference"] = inference_latency(rounds=5 if args.quick else 30,
                                                per_block=5 if args.quick else 50, log=log)
        result["frames"] = frame_latency(rounds=1 if args.quick else 5, log=log)
        if pinned:  # start-up and training run on all cores, as they would for a user
            os.sched_setaffinity(0, range(os.cpu_count() or 1))
        result["startup"] = startup(repeats=1 if args.quick else 5, log=log)
    except (ModelError, RuntimeError, OSError) as error:  # present but unusable: the run failed (1)
        raise BenchmarkError(str(error)) from error
    result["training"] = None if args.quick or args.skip_training else training_speed(12_000, 3, log)
    result["ratios"] = ratios(result)

    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, indent=2))
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    plotted = plot(result, args.plot)
    command = "python -m devtools.benchmark" + (" --quick" if args.quick else "")
    plot_link = os.path.relpath(args.plot, args.markdown.parent) if plotted else None
    args.markdown.write_text(markdown(result, command, plot_link))
    report = markdown(result, command, plot_link)
    print(report[report.index("## Headline ratios"):report.index("## Models")])
    plot_note = f", {args.plot}" if plotted else " (plot skipped: matplotlib is not installed)"
    print(f"\nwrote {args.markdown}, {args.json_out}{plot_note}")


if __name__ == "__main__":
    sys.exit(main())
