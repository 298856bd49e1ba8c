"""Entry point of the ``tensorboard_plugins`` group: cheap to import, never crashes TensorBoard.

The plugin module (and its imports) is loaded only in :meth:`GreenLoader.load`;
if that fails the error is logged and TensorBoard starts without the Green tab.
"""
from __future__ import annotations

import logging

from tensorboard.plugins import base_plugin

log = logging.getLogger(__name__)


class GreenLoader(base_plugin.TBLoader):
    """Loads :class:`greenops_tb.plugin.plugin.GreenPlugin`."""

    def load(self, context: base_plugin.TBContext) -> base_plugin.TBPlugin | None:
        try:
            from greenops_tb.plugin.plugin import GreenPlugin
        except Exception:  # a broken install must not take TensorBoard down
            log.exception("greenops_tb: the Green tab could not be loaded; reinstall with `pip install greenops_tb`")
            return None
        return GreenPlugin(context)
