"""The built-in synthetic data source: seeded, persona-driven e-commerce data in the raw contract.

    from huaxiang.generator import GeneratorConfig, generate
    report = generate(GeneratorConfig(users=10_000, days=30, holdout_days=14), landing_dir, truth_dir)

Landing files follow `huaxiang.contract`; the truth directory holds what the warehouse is scored
against: `users.parquet` (persona, true holdout purchase probability and outcome),
`campaign_lift.parquet` (true treatment effect per campaign and persona) and `bad_rows.json`
(injected bad rows per table and reject reason).
"""

from huaxiang.generator.bad_rows import REJECT_REASONS
from huaxiang.generator.config import GenerationReport, GeneratorConfig
from huaxiang.generator.personas import PERSONA_NAMES
from huaxiang.generator.runner import generate

__all__ = ["REJECT_REASONS", "PERSONA_NAMES", "GenerationReport", "GeneratorConfig", "generate"]
