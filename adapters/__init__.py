"""Adapters: plugins that connect nars-plugin to other ecosystems (NASLib, ImageNet training)."""
