"""Modalities as plug-ins: one package each (image, text, image_text), holding its recipe
section and the object that builds its data, model, evaluation context and embeddings
(:class:`~contrastkit.modalities.base.Modality`); registered in
:func:`contrastkit.registry.modalities`."""
