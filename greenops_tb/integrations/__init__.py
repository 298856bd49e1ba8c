"""Framework callbacks (optional extras): PyTorch Lightning (``lightning``) and Hugging Face (``hf``).

Import the one you use: ``from greenops_tb.integrations.lightning import GreenCallback`` or
``from greenops_tb.integrations.hf import GreenTrainerCallback``; this package imports neither framework.
"""
