"""The dataset: records -> Parquet folders (build), back from standoff (rehydrate), and what reads them.

Everything that writes or reads a built dataset folder lives here: the rows and their typed
features, the card and croissant.json, manifests and releases, summary, export and publish.
"""
