"""The command line's experiment commands: ``python -m drnet_core eval|train-lstm|norb-ablation|mnist-ablation|
weighting-study|kth|kth-study|inception-score``. ``drnet_core.cli`` hands off to them; each prints the numbers a chapter shows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from drnet_core.config import PROFILES, parse_override
from drnet_core.report import run_banner
from drnet_experiments.paths import REPO_CHECKPOINTS


def add_experiment_commands(sub: argparse._SubParsersAction) -> None:
    """Add the experiment commands' parsers to the command line's subparsers."""
    ab = sub.add_parser("norb-ablation", help="train (or load) the NORB models with β = 0.1 and β = 0 and probe them (Table 1)")
    ab.add_argument("--profile", choices=PROFILES, default=None)
    ab.add_argument("--threads", type=int, default=None)
    ab.add_argument("--progress", action="store_true")
    ab.add_argument("--betas", type=float, nargs="+", default=[0.1, 0.0])
    ab.add_argument("--controls", action="store_true", help="instead: the control runs (β = 0 with summed errors), kept as numbers only")
    ab.add_argument(
        "--set", type=parse_override, action="append", default=[], metavar="KEY=VALUE", help="another setting for every model, e.g. train.reduction=sum"
    )
    ab.add_argument(
        "--turntable", type=str, default=None, help="your own turntable photographs: .npz with images (objects, views, H, W) uint8, optional labels"
    )
    ab.add_argument("--split", choices=["views", "objects"], default="views", help="with --turntable: hold out the odd views, or every 4th object")
    lstm = sub.add_parser("train-lstm", help="train the pose LSTM on the profile's committed DRNet (checkpoints/mnist_<profile>_lstm)")
    lstm.add_argument("dataset", choices=["mnist"])
    lstm.add_argument("--profile", choices=PROFILES, default=None)
    lstm.add_argument("--threads", type=int, default=None)
    lstm.add_argument("--rollout-clips", type=int, default=200, help="held-out clips for the position error (half as many for digit accuracy)")
    lstm.add_argument(
        "--time-limit", type=float, default=None, metavar="MIN", help="stop after about this many minutes, its state kept under runs/; the same command resumes"
    )
    mab = sub.add_parser("mnist-ablation", help="train (or load the results of) the β × |h_p| ablation runs on Moving MNIST")
    mab.add_argument("--profile", choices=PROFILES, default=None)
    mab.add_argument("--threads", type=int, default=None)
    mab.add_argument("--progress", action="store_true")
    ws = sub.add_parser(
        "weighting-study", help="train (or reuse the rows of) the sum/mean × β grid on NORB and Moving MNIST, 3 seeds each; print mean ± spread"
    )
    ws.add_argument("--profile", choices=PROFILES, default=None)
    ws.add_argument("--datasets", nargs="+", choices=["norb", "mnist"], default=["norb", "mnist"])
    ws.add_argument("--seeds", type=int, default=3, help="seeds per point (0, 1, …)")
    ws.add_argument(
        "--turntable", type=str, default=None, help="your own turntable photographs: .npz with images (objects, views, H, W) uint8, optional labels"
    )
    ws.add_argument("--split", choices=["views", "objects"], default="views", help="with --turntable: hold out the odd views, or every 4th object")
    ws.add_argument("--time-limit", type=float, default=None, metavar="MIN", help="stop at a checkpoint after MIN minutes; the same command continues")
    ws.add_argument("--points", nargs="+", default=None, help="only these grid points, e.g. mean_beta0.1 sum_beta0")
    ws.add_argument("--summary", action="store_true", help="print the stored rows' table without training")
    ws.add_argument("--threads", type=int, default=None)
    ws.add_argument("--progress", action="store_true")
    kth = sub.add_parser("kth", help="train (or load) the KTH DRNET, the AE-LSTM baseline and their LSTMs; print Fig. 8 and PSNR/SSIM")
    kth.add_argument("--profile", choices=PROFILES, default=None)
    kth.add_argument("--threads", type=int, default=None)
    kth.add_argument("--progress", action="store_true")
    ks = sub.add_parser(
        "kth-study", help="Fig. 8 at equal code sizes (DRNET and AE at 5 and 24) and summed against averaged errors on KTH, 3 seeds each; print mean ± spread"
    )
    ks.add_argument("--profile", choices=PROFILES, default=None)
    ks.add_argument("--seeds", type=int, default=3, help="seeds per point (0, 1, …)")
    ks.add_argument("--points", nargs="+", default=None, help="only these points, e.g. drnet24 ae5")
    ks.add_argument("--time-limit", type=float, default=None, metavar="MIN", help="stop at a checkpoint after MIN minutes; the same command continues")
    ks.add_argument("--summary", action="store_true", help="print the stored rows' table without training")
    ks.add_argument("--threads", type=int, default=None)
    ks.add_argument("--progress", action="store_true")
    score = sub.add_parser("inception-score", help="train (or load) the action classifier and print the Inception score by offset (Fig. 9)")
    score.add_argument("--profile", choices=PROFILES, default=None)
    score.add_argument("--threads", type=int, default=None)
    ev = sub.add_parser("eval", help="content-swap accuracy and swap pose error on held-out swaps")
    ev.add_argument("dataset", choices=["mnist"])
    ev.add_argument("--checkpoint", type=Path, default=REPO_CHECKPOINTS / "mnist_cpu.pt")
    ev.add_argument("--swaps", type=int, default=1000)
    ev.add_argument("--digits", choices=["test", "train"], default="test", help="whose digits the swap clips show (train: a check for memorising)")
    ev.add_argument("--lstm", type=Path, default=REPO_CHECKPOINTS / "mnist_lstm_cpu.pt", help="pose LSTM whose rollouts to score (on this DRNet)")
    ev.add_argument("--rollout-clips", type=int, default=200, help="held-out clips for the rollout position error")
    ev.add_argument("--threads", type=int, default=None)


def cmd_eval(args: argparse.Namespace) -> int:
    from drnet_core.model import DRNet
    from drnet_experiments.mnist_swaps import swap_metrics, swap_pairs

    model = DRNet.load(args.checkpoint)
    print(run_banner(model.checkpoint_info.get("profile") or "?", torch.device("cpu")), flush=True)
    pairs = swap_pairs(args.swaps, clip_content=not model.config.skips, split=args.digits)
    result = swap_metrics(model, pairs)
    print(f"checkpoint: {args.checkpoint}")
    print(f"{'held-out' if args.digits == 'test' else 'training-digit'} swaps: {args.swaps} (content of {args.digits} clip i, pose of {args.digits} clip i+1)")
    print(f"content-swap digit accuracy: {result['swap_accuracy']:.3f}  (classifier ceiling on ideal swaps {result['ceiling_accuracy']:.3f}, chance 0.100)")
    print(
        f"one-frame ceiling: {result['frame_ceiling_accuracy']:.3f}  (the ideal swaps without the strokes that the content frame hid: "
        "a perfect drawing of what one frame shows; guessing hidden strokes can add to it)"
    )
    print(f"swap pose error: {result['pose_error_px']:.2f} px  (vs the pose clip's own frame: {result['pose_error_vs_pose_clip_px']:.2f} px)")
    print(
        f"on the {result['visible_fraction']:.1%} of digit channels read in both the content frame and the ideal swap: "
        f"digit accuracy {result['visible_swap_accuracy']:.3f} (a perfect model: 1.000)"
    )
    same = swap_metrics(model, swap_pairs(args.swaps, same_clip=True, split=args.digits))
    print(f"same-clip digit accuracy (content and pose from one clip, two times): {same['swap_accuracy']:.3f}, pose error {same['pose_error_px']:.2f} px")
    if not model.config.skips:
        clip = swap_metrics(model, pairs, content="clip")
        frames = pairs.content_clips.shape[1]
        print(f"with the clip's content (h_c averaged over its {frames} frames): digit accuracy {clip['swap_accuracy']:.3f}, ", end="")
        print(f"pose error {clip['pose_error_px']:.2f} px")
    _print_rollouts(args, model)
    return 0


def _print_rollouts(args: argparse.Namespace, model: torch.nn.Module) -> None:
    """The pose LSTM's rollout position error by horizon, beside copy-last and constant velocity (chapter 2)."""
    from drnet_core.checkpoint import read_sidecar
    from drnet_core.predict import Predictor
    from drnet_experiments.mnist_rollouts import format_errors, rollout_clips, rollout_position_error

    if not args.lstm.with_suffix(".json").is_file():
        print(f"no pose LSTM at {args.lstm}: rollouts not scored (make one with `python -m drnet_core train-lstm mnist`)")
        return
    reference = read_sidecar(args.lstm.with_suffix(".json"))["config"].get("drnet_checkpoint", {})
    if reference.get("sha256") not in (None, model.checkpoint_info.get("sha256")):
        print(f"{args.lstm} was trained on other DRNet weights: rollouts not scored")
        return
    predictor = Predictor.load(args.lstm)
    clips = rollout_clips(args.rollout_clips, predictor.config.n_observed)
    print(f"rollout position error on {args.rollout_clips} held-out clips after {predictor.config.n_observed} observed frames ({args.lstm.name}):")
    print(format_errors(rollout_position_error(predictor, clips)))


def cmd_train_lstm(args: argparse.Namespace) -> int:
    from drnet_core.config import current_profile, lstm_settings
    from drnet_experiments.mnist_rollouts import format_errors, rollout_clips, rollout_position_error
    from drnet_experiments.mnist_swaps import rollout_digit_accuracy
    from drnet_experiments.pretrained import load_or_train_drnet, load_or_train_predictor, train_and_save_predictor, weights_path, why_predictor_is_stale

    profile = args.profile or current_profile()
    print(run_banner(profile, torch.device("cpu")), flush=True)
    drnet = load_or_train_drnet(profile)
    stale = why_predictor_is_stale(weights_path("mnist_lstm", profile), drnet, lstm_settings(profile, "mnist"))
    time_limit_s = None if args.time_limit is None else 60 * args.time_limit
    if stale is not None and train_and_save_predictor(drnet, profile, time_limit_s=time_limit_s) is None:
        return 0
    predictor = load_or_train_predictor(drnet, profile)
    for horizon, accuracy in rollout_digit_accuracy(predictor, n_clips=args.rollout_clips // 2).items():
        print(f"digit accuracy {horizon:4d} steps after the last observed frame: {accuracy:.3f}")
    clips = rollout_clips(args.rollout_clips, predictor.config.n_observed)
    print(f"rollout position error on {args.rollout_clips} held-out clips:")
    print(format_errors(rollout_position_error(predictor, clips)))
    return 0


def cmd_norb_ablation(args: argparse.Namespace) -> int:
    from drnet_core.config import current_profile
    from drnet_experiments.ablations import PAPER_TABLE_1, norb_ablation, norb_datasets

    profile = args.profile or current_profile()
    print(run_banner(profile, torch.device("cpu")), flush=True)
    weights_folder = None
    if args.turntable and args.controls:
        raise ValueError(
            "--controls measures the built-in NORB data only; on your own photographs run "
            "`python -m drnet_core weighting-study --turntable FILE.npz --points sum_beta0.1 sum_beta0 mean_beta0.1 mean_beta0`"
        )
    if args.turntable:
        from data_utils.turntable import load_turntable_file
        from drnet_core.config import experiment
        from drnet_experiments import pretrained
        from drnet_experiments.turntable_scores import check_probe_categories

        seq_len = experiment("norb", profile).data.seq_len
        train_set, test_set = load_turntable_file(args.turntable, split=args.split, seq_len=seq_len)
        check_probe_categories(train_set, test_set)  # before training on a file the probe cannot read
        weights_folder = pretrained.RUNS / f"norb_ablation_{Path(args.turntable).stem}"  # never beside the committed models
        print(f"data: {train_set.source}; models and probe rows under {weights_folder}", flush=True)
    else:
        train_set, test_set = norb_datasets(profile)
    if args.controls:
        from drnet_experiments.ablations import norb_control_rows

        for row in norb_control_rows(train_set, test_set, profile=profile, progress=args.progress):
            print(f"  {row['name']}: h_c {row['content']:.3f}  h_p {row['pose']:.3f}  (chance {row['chance']:.3f}; {row['steps']} steps, {row['hardware']})")
        return 0
    result = norb_ablation(
        train_set, test_set, profile, betas=tuple(args.betas), progress=args.progress, overrides=dict(args.set) or None, store_probes=True,
        weights_folder=weights_folder,
    )
    print(f"category accuracy on held-out objects ({result.data_source}; chance {result.table[0]['chance']:.3f}):")
    for row in result.table:
        paper = PAPER_TABLE_1.get(row["beta"], {"content": float("nan"), "pose": float("nan")})
        print(f"  β = {row['beta']:<4g} h_c {row['content']:.3f}  h_p {row['pose']:.3f}   (paper: h_c {paper['content']:.1f} %, h_p {paper['pose']:.1f} %)")
    return 0


def cmd_mnist_ablation(args: argparse.Namespace) -> int:
    from drnet_core.config import current_profile
    from drnet_experiments.ablations import mnist_ablation

    profile = args.profile or current_profile()
    print(run_banner(profile, torch.device("cpu")), flush=True)
    rows = mnist_ablation(profile, progress=args.progress)
    print(f"{'β':>5s} {'|h_p|':>6s} {'swap acc.':>10s} {'pose err.':>10s} {'probe h_c':>10s} {'probe h_p':>10s} {'C acc.':>7s}")
    for r in rows:
        print(
            f"{r['beta']:5g} {r['pose_dim']:6d} {r['swap_accuracy']:10.3f} {r['pose_error_px']:7.2f} px {r['content_probe']:10.3f} "
            f"{r['pose_probe']:10.3f} {r['disc_acc']:7.3f}"
        )
    return 0


def cmd_weighting_study(args: argparse.Namespace) -> int:
    from drnet_core.config import current_profile
    from drnet_experiments import weighting_study as ws

    profile = args.profile or current_profile()
    print(run_banner(profile, torch.device("cpu")), flush=True)
    if args.summary:
        rows = ws.stored_rows(profile, args.turntable)
    else:
        limit = None if args.time_limit is None else 60 * args.time_limit
        datasets = ("norb",) if args.turntable else tuple(args.datasets)
        ws.weighting_study(
            profile, datasets, tuple(range(args.seeds)), args.turntable, args.split, tuple(args.points) if args.points else None, limit, args.progress
        )
        rows = ws.stored_rows(profile, args.turntable)
    print(ws.format_summary(ws.summarise(rows)) or "no rows stored yet")
    return 0


def cmd_kth(args: argparse.Namespace) -> int:
    from drnet_core.config import current_profile
    from drnet_experiments import kth_experiment as kx

    profile = args.profile or current_profile()
    print(run_banner(profile, torch.device("cpu")), flush=True)
    train_set, test_set = kx.kth_datasets(profile)
    print(f"data: {train_set.source}", flush=True)
    models = kx.kth_models(train_set, profile, progress=args.progress)
    predictors = kx.kth_predictors(models, train_set, profile)
    n_obs = predictors["kth"].config.n_observed
    clips = kx.test_clips(test_set, n_obs + 20)[0]
    counts = kx.available_subject_counts(train_set)
    print(f"action accuracy on the test persons from sequences of {kx.SEQUENCE_LENGTH} codes (Fig. 8), by training subjects {counts}:")
    few_shot = kx.few_shot_scores(models, train_set, test_set, counts, profile, store=True)
    for name, label in (("kth", "DRNET pose"), ("kth_ae", "AE features")):
        print(f"  {label:12s} " + "  ".join(f"{n}: {few_shot[name][n]:.3f}" for n in counts), flush=True)
    print(f"generated frames on {len(clips)} held-out clips, after {n_obs} observed (in brackets: repeating the last frame):")
    for name, label in (("kth", "DRNET"), ("kth_ae", "AE-LSTM")):
        q = kx.prediction_quality(predictors[name], clips, n_obs)
        for metric, unit in (("psnr", " dB"), ("ssim", ""), ("pose_error", "")):
            cells = "  ".join(f"step {s}: {q[metric][s - 1]:.3f}{unit} ({q['copy_' + metric][s - 1]:.3f})" for s in (1, 10, 20))
            print(f"  {label:8s} {metric:10s} {cells}; beats not moving for the first {kx.beats_copy_for(q, metric)} steps", flush=True)
    return 0


def cmd_kth_study(args: argparse.Namespace) -> int:
    from drnet_core.config import current_profile
    from drnet_experiments import kth_study as ks

    profile = args.profile or current_profile()
    print(run_banner(profile, torch.device("cpu")), flush=True)
    if not args.summary:
        limit = None if args.time_limit is None else 60 * args.time_limit
        ks.kth_study(profile, tuple(range(args.seeds)), tuple(args.points) if args.points else None, limit, args.progress)
    print(ks.format_summary(ks.summarise(ks.stored_rows(profile))) or "no rows stored yet")
    return 0


def cmd_inception_score(args: argparse.Namespace) -> int:
    from drnet_core.config import current_profile
    from drnet_experiments import generation_score as gs
    from drnet_experiments import kth_experiment as kx

    profile = args.profile or current_profile()
    print(run_banner(profile, torch.device("cpu")), flush=True)
    train_set, test_set = kx.kth_datasets(profile)
    classifier = gs.load_or_train_action_classifier(train_set, test_set, profile)
    print(f"action classifier: held-out accuracy {classifier.checkpoint_info['test_accuracy']:.3f} ({train_set.source})")
    predictors = kx.kth_predictors(kx.kth_models(train_set, profile), train_set, profile)
    n_obs = predictors["kth"].config.n_observed
    offsets = tuple(range(0, 101, 10))  # the chapter's offsets, so that it reads the curves stored here
    length = min(v.frames for v in test_set.videos)
    real_offsets = tuple(o for o in offsets if n_obs + o + gs.WINDOW <= length)
    clips = kx.test_clips(test_set, n_obs + max(real_offsets) + gs.WINDOW)[0]
    named = {"DRNET": predictors["kth"], "AE-LSTM": predictors["kth_ae"]}
    curves = gs.score_curves(classifier, named, clips, n_obs, offsets, real_offsets, train_set.source, profile, store=True)
    shown = (0, 20, 50, 100)
    print(f"Inception score of 10-frame windows by offset from the last conditioning frame ({len(clips)} held-out clips):")
    print(f"  {'':22s}" + "".join(f"{o:>20d}" for o in shown))
    for name, curve in curves.items():
        at = real_offsets if name == "real clips" else offsets
        cells = {o: f"{curve['score'][i]:.2f} [{curve['low'][i]:.2f}, {curve['high'][i]:.2f}]" for i, o in enumerate(at)}
        print(f"  {name:22s}" + "".join(f"{cells.get(o, '–'):>20s}" for o in shown), flush=True)
    return 0


EXPERIMENT_COMMANDS = {
    "eval": cmd_eval,
    "train-lstm": cmd_train_lstm,
    "norb-ablation": cmd_norb_ablation,
    "mnist-ablation": cmd_mnist_ablation,
    "kth": cmd_kth,
    "weighting-study": cmd_weighting_study,
    "kth-study": cmd_kth_study,
    "inception-score": cmd_inception_score,
}
