"""Third-party chatter off by default, for the CLI and the examples.

Loading the local model draws transformers' "Loading weights" progress bar, and
unstructured prints a sales notice and logs "No languages specified" for every PDF. None
of it helps a user running `chromabridge ingest` or an example; all of it buries the
output they came for. `quiet()` turns it off unless they ask: `--verbose`, or logging
configured by the application (the notices are log records, and a configured handler
still receives them).

Library code never calls this: an application that imports chromabridge keeps whatever
its own settings say.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

__all__ = ["QUIET_ENV", "quiet"]

#: Set by `quiet()`, so the loader's worker processes stay quiet as well.
QUIET_ENV = "CHROMABRIDGE_QUIET"

#: Loggers whose warnings are notices, not problems with the user's data.
NOTICE_LOGGERS = ("unstructured",)


def quiet(verbose: bool = False) -> None:
    """Hide model-loading progress bars and third-party notices unless `verbose`."""
    if verbose:
        return
    # Read when huggingface_hub / transformers are imported (lazily, by LocalEmbedder)...
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("UNSTRUCTURED_DISABLE_NOTICE", "1")
    os.environ[QUIET_ENV] = "1"
    # ...and switched off in place if they already are.
    if "huggingface_hub" in sys.modules:
        importlib.import_module("huggingface_hub.utils").disable_progress_bars()
    if "transformers" in sys.modules:
        importlib.import_module("transformers.utils.logging").disable_progress_bar()
    for name in NOTICE_LOGGERS:
        # A NullHandler stops logging's last-resort stderr output for these records only;
        # they still propagate to any handler the application configured.
        notices = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in notices.handlers):
            notices.addHandler(logging.NullHandler())
