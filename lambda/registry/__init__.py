"""The model registry promotion handler (see core.py)."""
