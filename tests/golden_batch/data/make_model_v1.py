"""Write a golden-batch model file with the pre-composition code (main @ c87f950) and its check() output."""
import sys
from pathlib import Path

import golden_batch as gb

out = Path(sys.argv[1])
history = gb.make_synthetic_history(30, seed=21, n_samples=40)
model = gb.GoldenBatchModel(select="yield >= 0.9", alignment="dtw", band=0.25, k_sigma=2.5,
                            n_components=3, alpha=0.05, outlier_alpha=None, max_modes=1, seed=4).fit(history)
model.save(out / "model_v1.nc")
test = gb.make_synthetic_history(4, seed=22, n_samples=40, faults={"cooling": 2})
res = model.check(test)
res.to_dataframe().to_csv(out / "model_v1_check.csv")
print(model.selection_.selected)
