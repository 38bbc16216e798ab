"""Executes wallet_war.ipynb from top to bottom in a fresh Python kernel (nbclient), as CI does
with PAYMARKET_QUICK=1: a cell that raises fails the run. Needs nbclient, nbformat and
ipykernel besides the notebook's own packages."""

from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).resolve().parent

nb = nbformat.read(HERE / "wallet_war.ipynb", as_version=4)
nbclient.NotebookClient(
    nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
).execute()
code = [c for c in nb.cells if c.cell_type == "code"]
print(f"wallet_war.ipynb: {len(code)} code cells executed")
