"""FBNetV3 on real data: joint space, analytical FLOPs, timm model builder, distributed trainer, evaluator.

Installed with ``pip install "nars-plugin[imagenet]"`` (timm, torchvision, scikit-learn for the
digits data set). The plugin module :mod:`nars_imagenet.plugin` registers the spaces
``fbnetv3`` and ``fbnetv3-tiny`` and the evaluator ``train``; the core never imports this package.
It may import nars-plugin's public packages; timm and torchvision only in the modules that build
and train models, so the plugin module loads (and reports itself inactive) without them.
"""
