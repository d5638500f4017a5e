"""Readers (lazy stacks, Celldetective experiments) and atomic writers (samples, label folders)."""

from segpaint.io._fs import RecoveryReport, UnsafePathError, recover_folder
from segpaint.io.celldetective import (
    ExperimentConfig,
    ExperimentError,
    Position,
    read_config,
    resolve_position,
)
from segpaint.io.export import FORMATS, ExportError, commit_files, write_label_frame, write_sample
from segpaint.io.source import Source, read_source
from segpaint.io.stack import ArrayStack, FolderStack, Stack, StackError, StackInfo, TiffStack

__all__ = [
    "FORMATS",
    "ArrayStack",
    "ExperimentConfig",
    "ExperimentError",
    "ExportError",
    "FolderStack",
    "Position",
    "RecoveryReport",
    "Source",
    "Stack",
    "StackError",
    "StackInfo",
    "TiffStack",
    "UnsafePathError",
    "commit_files",
    "read_config",
    "read_source",
    "recover_folder",
    "resolve_position",
    "write_label_frame",
    "write_sample",
]
