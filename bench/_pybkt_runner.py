"""Bench support: fit and evaluate pyBKT on CSV files; runs inside the pyBKT venv.

Usage: python _pybkt_runner.py TRAIN.csv TEST.csv PREDICTIONS.npy NUM_FITS
Prints one JSON object: fit seconds and the pyBKT version. Predictions (one-step
ahead, in the test file's row order) go to PREDICTIONS.npy for the caller to score
with the same metric code as every other column.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from pyBKT.models import Model  # type: ignore[import-not-found]


def main() -> None:
    train_path, test_path, out_path, num_fits = sys.argv[1:5]
    train = pd.read_csv(train_path)
    test = pd.read_csv(test_path)
    model = Model(seed=42, num_fits=int(num_fits), parallel=True)
    started = time.perf_counter()
    model.fit(data=train, forgets=True)
    fit_seconds = time.perf_counter() - started
    predicted = model.predict(data=test)
    # predict() reorders rows; order_id is the test row number.
    predicted = predicted.sort_values("order_id")
    np.save(out_path, predicted["correct_predictions"].to_numpy(dtype=np.float64))
    print(json.dumps({"fit_seconds": fit_seconds, "num_fits": int(num_fits)}))


if __name__ == "__main__":
    main()
