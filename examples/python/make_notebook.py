"""Builds wallet_war.ipynb from wallet_war.py: one cell per `# %%` block (`# %% [markdown]`
blocks become text cells, their `# ` prefixes removed). `python make_notebook.py --check`
exits with an error if the committed notebook is not the one the script gives."""

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def cells(script: str) -> list:
    out, kind, lines = [], None, []

    def flush():
        text = "\n".join(lines).strip("\n")
        if kind is not None and text:
            source = [line + "\n" for line in text.split("\n")]
            source[-1] = source[-1].rstrip("\n")
            if kind == "markdown":
                out.append({"cell_type": "markdown", "metadata": {}, "source": source})
            else:
                out.append({"cell_type": "code", "execution_count": None, "metadata": {},
                            "outputs": [], "source": source})

    for line in script.split("\n"):
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind == "markdown":
            lines.append(line[2:] if line.startswith("# ") else line.lstrip("#"))
        else:
            lines.append(line)
    flush()
    return out


def notebook() -> str:
    nb = {
        "cells": cells((HERE / "wallet_war.py").read_text()),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    for k, c in enumerate(nb["cells"]):
        c["id"] = f"cell-{k}"
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    path = HERE / "wallet_war.ipynb"
    if "--check" in sys.argv:
        if not path.exists() or path.read_text() != notebook():
            sys.exit(f"{path} is not built from wallet_war.py: run python {Path(__file__).name}")
    else:
        path.write_text(notebook())
