"""Old location of :class:`~contrastkit.types.ViewBatch`, kept until the README imports it from there."""

from contrastkit.types.batches import ViewBatch as ViewBatch
