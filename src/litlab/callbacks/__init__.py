"""Lightning callbacks, each switchable in YAML under `trainer.callbacks`."""

from litlab.callbacks.calibration import ReliabilityDiagram
from litlab.callbacks.confusion_figure import ConfusionMatrixFigure
from litlab.callbacks.ema import EMAWeights
from litlab.callbacks.epoch_timer import EpochTimer
from litlab.callbacks.failed_start import RemoveFailedStart
from litlab.callbacks.histograms import ParamHistograms
from litlab.callbacks.hparams import HParamsSummary
from litlab.callbacks.label_report import LabelReport
from litlab.callbacks.learning_rates import LearningRates
from litlab.callbacks.lookahead import Lookahead
from litlab.callbacks.misclassified import WorstMisclassified
from litlab.callbacks.model_summary import ModelSummary
from litlab.callbacks.nan_guard import NaNGuard
from litlab.callbacks.per_class import PerClassMetrics
from litlab.callbacks.plateau_step import PlateauBeforeCheckpoint
from litlab.callbacks.pr_curves import PRCurves
from litlab.callbacks.pruning import GradualPruning
from litlab.callbacks.roc_curves import ROCCurves
from litlab.callbacks.sample_grid import TrainSampleGrid
from litlab.callbacks.step_seeds import StepSeeds
from litlab.callbacks.test_report import TestReport
from litlab.callbacks.whitening_init import WhiteningInit

__all__ = [
    "ConfusionMatrixFigure",
    "EMAWeights",
    "EpochTimer",
    "GradualPruning",
    "HParamsSummary",
    "LabelReport",
    "LearningRates",
    "Lookahead",
    "ModelSummary",
    "NaNGuard",
    "ParamHistograms",
    "PerClassMetrics",
    "PlateauBeforeCheckpoint",
    "PRCurves",
    "RemoveFailedStart",
    "ReliabilityDiagram",
    "ROCCurves",
    "StepSeeds",
    "TestReport",
    "TrainSampleGrid",
    "WhiteningInit",
    "WorstMisclassified",
]
