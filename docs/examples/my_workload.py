"""A user-defined workload: linear regression on scikit-learn's diabetes data (442 patients, 10 features).

Run it:  tuneless bench --workload docs/examples/my_workload.py:Diabetes --methods linear cosine --seeds 2
"""

from sklearn.datasets import load_diabetes

import torch
from tuneless.bench import Workload, hash_bytes


class Diabetes(Workload):
    name = "diabetes"
    metric = "val_mse"  # what evaluate() returns, and its direction:
    higher_is_better = False
    target = 0.5  # mean squared error on standardised targets
    budget_steps = 200
    batch_size = 32
    eval_every = 20
    optimizer = "sgd(momentum=0.9)"  # "sgd..." or "adam..." also picks the refinement norm
    peak_lrs = (0.003, 0.01, 0.03, 0.1)

    def data_hash(self):
        x, y = load_diabetes(return_X_y=True)
        return hash_bytes(x.tobytes(), y.tobytes())

    def build(self, seed, device):  # device: where the model and the data go (cpu or cuda:N)
        x, y = (torch.tensor(a, dtype=torch.float32) for a in load_diabetes(return_X_y=True))
        x, y = (x - x.mean(0)) / x.std(0), (y - y.mean()) / y.std()
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
        train, valid = order[:350], order[350:]
        data = {"x": x, "y": y, "train": train, "valid": valid}
        data = {key: value.to(device) for key, value in data.items()}
        data["gen"] = torch.Generator(device=device).manual_seed(seed)
        return torch.nn.Linear(10, 1).to(device), data

    def train_loss(self, model, data, step):
        gen = data["gen"]
        batch = data["train"][torch.randint(len(data["train"]), (self.batch_size,), generator=gen, device=gen.device)]
        return torch.nn.functional.mse_loss(model(data["x"][batch]).squeeze(1), data["y"][batch])

    def evaluate(self, model, data):
        v = data["valid"]
        return {"val_mse": torch.nn.functional.mse_loss(model(data["x"][v]).squeeze(1), data["y"][v]).item()}
