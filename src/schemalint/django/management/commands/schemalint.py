"""``python manage.py schemalint [check options]``: schemalint's check of this project's migrations."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):  # type: ignore[misc]  # Django has no type information
    help = "Check this project's migrations with schemalint (rendered without a database)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("options", nargs="*", help="More `schemalint check` options, e.g. --format json.")

    def handle(self, *args: Any, **options: Any) -> None:
        root = os.path.dirname(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else os.getcwd()
        command = [sys.executable, "-m", "schemalint", "check", "--django", "--settings",
                   str(settings.SETTINGS_MODULE), "--python", sys.executable, *options["options"], root]
        code = subprocess.run(command, check=False).returncode
        if code:
            raise SystemExit(code)
