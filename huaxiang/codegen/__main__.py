"""`python -m huaxiang.codegen [--check]`: the same as `huaxiang codegen`, without the main CLI."""

from __future__ import annotations

import sys

from huaxiang.codegen.generate import main

sys.exit(main())
