"""Fitted models on disk: `<root>/<family>/<version>/{model.joblib,record.json}`, written atomically.

A version is the UTC fit time (sortable). Its record holds the status — `approved` (passed the
quality gates), `rejected` (failed them) or `unevaluated` (no labelled data to judge it: a
fallback) — with the metrics and facts the gates used. Consumers ask for the latest version of
a status; nothing is ever overwritten, so a pinned version stays reproducible.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import joblib

Status = Literal["approved", "rejected", "unevaluated"]
MODEL_FILE = "model.joblib"
RECORD_FILE = "record.json"


@dataclass(frozen=True)
class ModelRecord:
    family: str
    version: str
    status: Status
    kind: str  # e.g. hist_gradient_boosting, logistic_regression, order_rate_heuristic, kmeans
    created_at: str
    metrics: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False, default=str)


def new_version(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


class ModelRegistry:
    def __init__(self, root: Path, family: str) -> None:
        self.family = family
        self.directory = Path(root) / family

    def save(self, model: Any, record: ModelRecord) -> Path:
        """Write the model and its record under a new version folder; renamed into place when complete."""
        target = self.directory / record.version
        staging = self.directory / f".{record.version}.partial"
        staging.mkdir(parents=True, exist_ok=False)
        try:
            joblib.dump(model, staging / MODEL_FILE)
            (staging / RECORD_FILE).write_text(record.to_json() + "\n", encoding="utf-8")
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return target

    def records(self) -> list[ModelRecord]:
        """Every complete version, oldest first."""
        if not self.directory.is_dir():
            return []
        found = []
        for folder in sorted(self.directory.iterdir()):
            record_file = folder / RECORD_FILE
            if folder.name.startswith(".") or not record_file.is_file():
                continue
            found.append(ModelRecord(**json.loads(record_file.read_text(encoding="utf-8"))))
        return found

    def latest(self, *statuses: Status) -> ModelRecord | None:
        matching = [record for record in self.records() if record.status in statuses]
        return matching[-1] if matching else None

    def load(self, version: str) -> tuple[Any, ModelRecord]:
        folder = self.directory / version
        record = ModelRecord(**json.loads((folder / RECORD_FILE).read_text(encoding="utf-8")))
        return joblib.load(folder / MODEL_FILE), record
