"""Old home of :class:`~contrastkit.types.ViewBatch`, kept until the README imports it there."""

from contrastkit.types.batches import ViewBatch as ViewBatch
