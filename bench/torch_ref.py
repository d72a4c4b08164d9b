"""PyTorch + TransformerLens reference for `toylens bench`.

Replays exactly the batches, learning rates and beta1 values toylens trained on (written by
`toylens bench --one`), with the task's config, optimizer, init and frozen parameters, and
reports the same figures: steady-state steps/s, time to the task's target (evaluated at the
same steps on the same held-out set) and peak memory. Prints one JSON object.

With `--timed-steps N --warmup W`: one throughput round instead (W untimed steps, then N timed
ones, cycling through the batches): {"step_seconds": [...]}. `toylens bench` alternates such
rounds with its own, so a busy machine slows both sides alike.
"""
import argparse
import json
import math
import re
import resource
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from transformer_lens import HookedTransformer, HookedTransformerConfig


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("meta")
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--timed-steps", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=0)
    a = ap.parse_args()
    meta = json.load(open(a.meta))
    d = load_file(a.data)
    recipe, cfg_dict = meta["recipe"], dict(meta["config"])
    cfg_dict.pop("n_params", None)
    cfg_dict["device"] = "cpu"
    cfg_dict["dtype"] = torch.float32
    cfg = HookedTransformerConfig.from_dict(cfg_dict)
    torch.manual_seed(recipe["seed"])
    model = HookedTransformer(cfg)
    # The recipe's JSON names it "notebook" (older files "addition_notebook"): addition's own init.
    if recipe["init"] in ("notebook", "addition_notebook"):
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "W_" in name:
                    std = 1 / math.sqrt(cfg.d_vocab_out if name == "unembed.W_U" else cfg.d_model)
                    p.normal_(0, std)
    if recipe.get("freeze"):
        pat = re.compile(recipe["freeze"])
        with torch.no_grad():
            for name, p in model.named_parameters():
                if pat.search(name):
                    p.zero_()
                    p.requires_grad_(False)
    o = recipe["optim"]
    params = [p for p in model.parameters() if p.requires_grad]
    kind = torch.optim.Adam if o["kind"] == "adam" else torch.optim.AdamW
    opt = kind(params, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"], weight_decay=o["weight_decay"])

    tokens, targets = d["tokens"], d["targets"]
    lrs, beta1s = d["lr"].tolist(), d["beta1"].tolist()
    held_t, held_y = d["held_tokens"], d["held_targets"]
    target = recipe["target"]
    eval_every = meta["eval_every"]

    def loss_acc(logits, y):
        mask = y != -1
        lg = logits[mask]
        yy = y[mask]
        return F.cross_entropy(lg, yy), (lg.argmax(-1) == yy).float().mean()

    def evaluate():
        model.eval()
        with torch.no_grad():
            l, acc = loss_acc(model(held_t), held_y)
        model.train()
        return l.item(), acc.item()

    def step(i):
        for g in opt.param_groups:
            g["lr"] = lrs[i]
            if not math.isnan(beta1s[i]):
                g["betas"] = (beta1s[i], g["betas"][1])
        logits = model(tokens[i])
        # The plain loop a user writes: ignore_index, no boolean-mask copy, no accuracy.
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets[i].reshape(-1), ignore_index=-1)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    if a.timed_steps:
        times = []
        for i in range(a.warmup + a.timed_steps):
            ts = time.perf_counter()
            step(i % tokens.shape[0])
            times.append(time.perf_counter() - ts)
        print(json.dumps({"step_seconds": times[a.warmup:]}))
        return

    t0 = time.perf_counter()
    times, evals, reached = [], [], None
    for i in range(tokens.shape[0]):
        if time.perf_counter() - t0 >= a.seconds:
            break
        ts = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - ts)
        done = i + 1  # not `step`: that name is the step function above
        if done % eval_every == 0 or done == tokens.shape[0]:
            l, acc = evaluate()
            evals.append({"step": done, "loss": l, "accuracy": acc, "seconds": time.perf_counter() - t0})
            ok = (target.get("max_loss") is None or l <= target["max_loss"]) and (
                target.get("min_accuracy") is None or acc >= target["min_accuracy"])
            if ok:
                reached = {"step": done, "seconds": time.perf_counter() - t0}
                break
    skip = min(len(times) // 10, 20)
    steady = times[skip:]
    print(json.dumps({
        "steps_per_s": len(steady) / max(sum(steady), 1e-9),
        "steps_run": len(times),
        "time_to_target": reached,
        "evals": evals,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
