"""What a run records about its world: git state, command line, interpreter, packages.

Standard library only: this runs inside training scripts on every ``init()``, so all of
it except ``dirty_state`` is cached per process and spawns no subprocess.
"""

from localtrack.capture.command_line import capture_command
from localtrack.capture.environment import capture_environment
from localtrack.capture.git_state import dirty_state, read_git_info, strip_credentials
from localtrack.capture.packages import freeze_text, installed_packages

__all__ = [
    "capture_command",
    "capture_environment",
    "dirty_state",
    "freeze_text",
    "installed_packages",
    "read_git_info",
    "strip_credentials",
]
