"""Run a study's trials until it holds `n_trials` finished ones: in this process, or in N worker processes.

Every worker (here, in a spawned process, or on another machine with the same `--storage`) loads the one
study and calls `Study.optimize`; Optuna hands each an unused trial number. `MaxTrialsCallback` counts the
finished trials (complete or pruned) of the whole study after every trial, so the total is the study's
and a restarted sweep only runs what is missing. Workers that finish trials at the same moment may each
have started one more: at most N - 1 trials beyond the total.
"""

import multiprocessing
import os
import socket
import warnings
import zlib

import optuna
from optuna.study import MaxTrialsCallback
from optuna.trial import TrialState

from litlab.command.errors import ConfigError, LitlabError, TrainingDivergedError
from litlab.sweep.space import parse_space
from litlab.sweep.spec import SweepSpec
from litlab.sweep.storage import open_storage, storage_url
from litlab.sweep.strategy import build_pruner, build_sampler

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def load_study(spec: SweepSpec, worker: int = 0) -> optuna.Study:
    """The sweep's study, created on first use.

    A sampler `seed` is offset by the trials the study already holds and by the worker's index: a restarted
    or parallel worker (or one on another machine) with the very same seed would draw the same parameters.
    """
    space = parse_space(spec.params)
    sampler = dict(spec.sampler)
    if str(sampler.get("name", "tpe")).lower() == "tpe" and (spec.workers > 1 or spec.storage):
        sampler.setdefault("constant_liar", True)  # Optuna's advice for TPE with trials running in parallel
    spec.folder.mkdir(parents=True, exist_ok=True)
    storage = open_storage(storage_url(spec.storage, spec.folder, spec.workers), spec.heartbeat_s)
    try:
        study = optuna.create_study(
            study_name=spec.name,
            storage=storage,
            load_if_exists=True,
            direction=spec.direction,
            sampler=build_sampler(sampler, space),
            pruner=build_pruner(spec.pruner),
        )
    except ValueError as error:  # e.g. direction not minimize/maximize
        raise ConfigError(f"sweep {spec.name}: {error}") from None
    if sampler.get("seed") is not None:
        offset = len(study.get_trials(deepcopy=False)) + 1_000_003 * worker
        if spec.storage:  # other machines share the study: they are told apart by host and process
            offset += zlib.crc32(f"{socket.gethostname()}:{os.getpid()}".encode())
        study.sampler = build_sampler({**sampler, "seed": int(sampler["seed"]) + offset}, space)
    return study


def finished_trials(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=FINISHED))


def run_worker(spec: SweepSpec, index: int = 0) -> None:
    """One worker: trials one after another in this process until the study is done."""
    if spec.workers > 1:
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // spec.workers)))
        if "LITLAB_SWEEP_GPUS" in os.environ:  # one GPU per worker (see `_spawn`)
            gpus = os.environ["LITLAB_SWEEP_GPUS"].split(",")
            os.environ["CUDA_VISIBLE_DEVICES"] = gpus[index % len(gpus)]
    from litlab.sweep.trial_run import TrialRunner  # deferred: imports Lightning, after the GPU is chosen

    study = load_study(spec, index)
    if finished_trials(study) >= spec.n_trials:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.optimize(
            TrialRunner(spec, parse_space(spec.params)),
            callbacks=[MaxTrialsCallback(spec.n_trials, states=FINISHED)],
            catch=(TrainingDivergedError,),  # one diverging learning rate fails its trial, not the sweep
            gc_after_trial=True,
        )


def _visible_gpus() -> str:
    import torch  # device_count asks NVML; CUDA itself stays uninitialised in this process

    return ",".join(str(i) for i in range(torch.cuda.device_count()))


def run_sweep(spec: SweepSpec) -> optuna.Study:
    """Create the study, queue the sweep file's `enqueue` trials, run the workers; return the study."""
    study = load_study(spec)
    for params in spec.enqueue:
        study.enqueue_trial(params, skip_if_exists=True)
    if spec.workers == 1:
        run_worker(spec)
        return study
    context = multiprocessing.get_context("spawn")  # a clean process: no Lightning state or threads copied
    if "LITLAB_SWEEP_GPUS" not in os.environ:
        os.environ["LITLAB_SWEEP_GPUS"] = os.environ.get("CUDA_VISIBLE_DEVICES") or _visible_gpus()
        if not os.environ["LITLAB_SWEEP_GPUS"]:
            del os.environ["LITLAB_SWEEP_GPUS"]
    processes = [
        context.Process(target=run_worker, args=(spec, i), name=f"sweep-worker-{i}") for i in range(spec.workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    failed = [p.name for p in processes if p.exitcode != 0]
    if failed:
        raise LitlabError(
            f"worker(s) {', '.join(failed)} stopped with an error (see above); fix it and run the "
            "same command again: finished trials are kept."
        )
    return study
