#!/usr/bin/env python3
"""idzip bench beside PyTorch, side by side in one run (issue 16).

For every projection and training figure of `idzip bench`, runs `idzip bench --json
--match FIGURE --repetitions 1` (one warm-up, one timed run) and then a faithful PyTorch
version of the same figure (one warm-up, one timed run), alternating the two `--rounds`
times, and prints one table of medians with the speed ratio (> 1: idzip is faster).

What "the same figure" means here (see docs/performance.md, "Beside PyTorch"):

- projection fwd+bwd: one P v (all D rows) then one P^T g, d = D/100, with the
  projection's tables built beforehand (not timed), as `idzip bench` does.
  dense: P as a float32 (D, d) tensor, torch.mv(P, v) and torch.mv(P.t(), g).
  sparse: density 1/sqrt(D), columns scaled to unit length, P and P^T both held as
  float32 CSR tensors (the faster of PyTorch's layouts for each product), P @ v, P^T @ g.
  fastfood: idzip's operator, ceil(D / L) stacked blocks of L = 2^ceil(log2 d),
  s_b H G_b Pi_b H B_b v, batched over blocks (B, L) with the iterative reshape
  Walsh-Hadamard transform of the authors' PyTorch port, gather through Pi, and the
  transpose (scatter through Pi, sum over blocks). Also, for reference, the authors'
  single-block Fastfood (one block of 2^ceil(log2 D) rows) as an extra row.
- training: one epoch of `steps` steps of batch 128 on MNIST-shaped random bytes (scaled
  by 1/255 per batch), softmax cross-entropy, Adam (0.9, 0.99, eps 1e-8, lr 1e-3), a fresh
  model per run, examples per second; subspace training: theta = theta0 + P theta_d with
  the projection above inside autograd (torch.func.functional_call on the projected flat
  vector), Adam on theta_d. FC 784-200-200-10 and LeNet (conv 6x5x5, pool, conv 16x5x5,
  pool, 120, 84, 10), the same shapes as idzip's; ResNet-20 (idzip's `resnet20`, batch norm
  in training mode, option-B shortcuts) on CIFAR-shaped random bytes [3, 32, 32], d = D/100
  for its Fastfood row; MNIST-BN (idzip's `mnist-bn`).

Both sides use `--threads` threads (idzip --threads, torch.set_num_threads).
Usage: scripts/bench-torch.sh [--rounds 5] [--big-rounds 2] [--threads 2] [--json OUT.json]
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH = 128
warnings.filterwarnings("ignore", message=".*[Ss]parse.*")


# MARK: Projections


def fwht(x):
    """Unnormalised Walsh-Hadamard transform along the last axis (length a power of two),
    the iterative reshape form of the authors' PyTorch port."""
    shape = x.shape
    length = shape[-1]
    h = 1
    x = x.reshape(-1, length)
    rows = x.shape[0]
    while h < length:
        x = x.view(rows, length // (2 * h), 2, h)
        a = x[:, :, 0, :]
        b = x[:, :, 1, :]
        x = torch.stack((a + b, a - b), dim=2)
        h *= 2
    return x.reshape(shape)


class Fastfood:
    """idzip's stacked Fastfood: blocks of L = 2^ceil(log2 d), rows b L ..< (b+1) L of
    P v = s_b H G_b Pi_b H B_b v."""

    def __init__(self, D, d, generator):
        self.D, self.d = D, d
        self.L = 1 << max(0, math.ceil(math.log2(d)))
        self.blocks = (D + self.L - 1) // self.L
        shape = (self.blocks, self.L)
        self.signs = (torch.randint(0, 2, shape, generator=generator) * 2 - 1).float()
        self.perm = torch.stack([torch.randperm(self.L, generator=generator) for _ in range(self.blocks)])
        self.gauss = torch.randn(shape, generator=generator)
        norms = self.gauss.pow(2).sum(dim=1).sqrt()
        # Each block's columns have norm sqrt(L) ||G_b|| s_b: unit columns overall.
        self.scale = (1.0 / (norms * math.sqrt(self.L * self.blocks))).unsqueeze(1)

    def forward(self, v):
        x = F.pad(v, (0, self.L - self.d)).unsqueeze(0) * self.signs
        x = fwht(x)
        x = torch.gather(x, 1, self.perm) * self.gauss
        x = fwht(x) * self.scale
        return x.reshape(-1)[: self.D]

    def transpose(self, g):
        y = F.pad(g, (0, self.blocks * self.L - self.D)).view(self.blocks, self.L) * self.scale
        y = fwht(y) * self.gauss
        z = torch.zeros_like(y).scatter_(1, self.perm, y)
        z = fwht(z) * self.signs
        return z.sum(dim=0)[: self.d]


class FastfoodSingleBlock:
    """The authors' Fastfood (Li et al. 2018 code, fastfood_torched): one block of
    LL = 2^ceil(log2 D) rows, v zero-padded to LL, the first D rows kept."""

    def __init__(self, D, d, generator):
        self.D, self.d = D, d
        self.LL = 1 << math.ceil(math.log2(D))
        self.signs = (torch.randint(0, 2, (self.LL,), generator=generator) * 2 - 1).float()
        self.perm = torch.randperm(self.LL, generator=generator)
        self.gauss = torch.randn(self.LL, generator=generator)
        self.divisor = float(torch.sqrt(self.LL * self.gauss.pow(2).sum())) * math.sqrt(D / self.LL)

    def forward(self, v):
        x = F.pad(v, (0, self.LL - self.d)) * self.signs
        x = fwht(x)[self.perm] * self.gauss
        return fwht(x)[: self.D] / self.divisor

    def transpose(self, g):
        y = fwht(F.pad(g, (0, self.LL - self.D)) / self.divisor) * self.gauss
        z = torch.zeros_like(y)
        z[self.perm] = y
        return (fwht(z) * self.signs)[: self.d]


class Sparse:
    """Very sparse projection (Li, Hastie, Church 2006), density 1/sqrt(D), each column
    scaled to unit length; P and P^T as float32 CSR."""

    def __init__(self, D, d, generator):
        self.D, self.d = D, d
        rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=generator)))
        density = 1 / math.sqrt(D)
        counts = rng.binomial(D, density, size=d)
        rows = np.concatenate([rng.choice(D, size=c, replace=False) for c in counts]).astype(np.int64)
        cols = np.repeat(np.arange(d, dtype=np.int64), counts)
        signs = rng.integers(0, 2, size=rows.size) * 2 - 1
        values = (signs / np.sqrt(np.maximum(counts, 1))[cols]).astype(np.float32)
        coo = torch.sparse_coo_tensor(torch.from_numpy(np.stack([rows, cols])), torch.from_numpy(values), (D, d))
        self.P = coo.coalesce().to_sparse_csr()
        self.Pt = coo.t().coalesce().to_sparse_csr()
        self.nonzeros = int(rows.size)

    def forward(self, v):
        return (self.P @ v.unsqueeze(1)).squeeze(1)

    def transpose(self, g):
        return (self.Pt @ g.unsqueeze(1)).squeeze(1)


class Dense:
    """P as a float32 (D, d) matrix, columns scaled to unit length."""

    def __init__(self, D, d, generator):
        self.P = torch.randn((D, d), generator=generator)
        self.P /= self.P.norm(dim=0, keepdim=True)

    def forward(self, v):
        return torch.mv(self.P, v)

    def transpose(self, g):
        return torch.mv(self.P.t(), g)


PROJECTIONS = {"dense": Dense, "sparse": Sparse, "fastfood": Fastfood, "fastfood-single-block": FastfoodSingleBlock}


class ProjectFunction(torch.autograd.Function):
    """v -> P v, with P^T g as the backward (the projection's own transpose)."""

    @staticmethod
    def forward(ctx, v, projection):
        ctx.projection = projection
        return projection.forward(v)

    @staticmethod
    def backward(ctx, g):
        return ctx.projection.transpose(g.contiguous()), None


def projection_figure(kind, D, d):
    generator = torch.Generator().manual_seed(1)
    projection = PROJECTIONS[kind](D, d, generator)
    v = torch.randn(d, generator=generator)
    g = torch.randn(D, generator=generator)

    def run():
        y = projection.forward(v)
        t = projection.transpose(g)
        return y, t

    return run


# MARK: Training


def fc_network():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 200), nn.ReLU(), nn.Linear(200, 10))


def lenet_network():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


class BasicBlock(nn.Module):
    """ResNet's basic block as idzip's resnet20 preset builds it: conv-bn-relu-conv-bn, plus
    the input or (where the shape changes) a 1x1 strided conv + bn shortcut, then relu."""

    def __init__(self, channels, filters, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, filters, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(filters)
        self.conv2 = nn.Conv2d(filters, filters, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(filters)
        self.downsample = None
        if stride != 1 or filters != channels:
            self.downsample = nn.Sequential(nn.Conv2d(channels, filters, 1, stride=stride, bias=False), nn.BatchNorm2d(filters))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


def resnet20_network():
    """He et al. 2016's CIFAR ResNet-20 with option-B shortcuts (idzip's `resnet20`)."""
    layers = [nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
    channels = 16
    for stage, filters in enumerate([16, 32, 64]):
        for block in range(3):
            layers.append(BasicBlock(channels, filters, 2 if stage > 0 and block == 0 else 1))
            channels = filters
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    return nn.Sequential(*layers)


def mnist_bn_network():
    """idzip's `mnist-bn`: three conv3x3(no bias)-bn-relu-maxpool2 blocks (16, 32, 32), flatten,
    a dense layer."""
    layers, channels = [], 1
    for filters in [16, 32, 32]:
        layers += [nn.Conv2d(channels, filters, 3, padding=1, bias=False), nn.BatchNorm2d(filters), nn.ReLU(),
                   nn.MaxPool2d(2)]
        channels = filters
    layers += [nn.Flatten(), nn.Linear(32 * 3 * 3, 10)]
    return nn.Sequential(*layers)


NETWORKS = {"FC 784-200-200-10": fc_network, "LeNet": lenet_network,
            "ResNet-20": resnet20_network, "MNIST-BN": mnist_bn_network}
# Input shapes: CIFAR-shaped for ResNet-20, MNIST-shaped otherwise.
INPUT_SHAPES = {"ResNet-20": (3, 32, 32)}


def random_mnist(count, generator, shape=(1, 28, 28)):
    images = torch.randint(0, 256, (count, *shape), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (count,), generator=generator)
    return images, labels


class Subspace(nn.Module):
    """theta = theta0 + P theta_d, the network evaluated with the projected parameters."""

    def __init__(self, network, projection, d):
        super().__init__()
        self.network = network
        for p in network.parameters():
            p.requires_grad_(False)
        self.names = [name for name, _ in network.named_parameters()]
        self.shapes = [p.shape for _, p in network.named_parameters()]
        self.sizes = [p.numel() for _, p in network.named_parameters()]
        self.register_buffer("theta0", torch.cat([p.detach().reshape(-1) for p in network.parameters()]))
        self.theta_d = nn.Parameter(torch.zeros(d))
        self.projection = projection

    def forward(self, x):
        theta = self.theta0 + ProjectFunction.apply(self.theta_d, self.projection)
        pieces = torch.split(theta, self.sizes)
        params = {name: piece.view(shape) for name, piece, shape in zip(self.names, pieces, self.shapes)}
        return torch.func.functional_call(self.network, params, (x,))


def training_figure(network_name, kind, d, steps):
    generator = torch.Generator().manual_seed(5)
    images, labels = random_mnist(steps * BATCH, generator, INPUT_SHAPES.get(network_name, (1, 28, 28)))
    D = sum(p.numel() for p in NETWORKS[network_name]().parameters())
    projection = PROJECTIONS[kind](D, d, torch.Generator().manual_seed(1)) if kind else None

    def run():
        torch.manual_seed(1)
        network = NETWORKS[network_name]()
        model = Subspace(network, projection, d) if projection else network
        optimiser = torch.optim.Adam(
            [p for p in model.parameters() if p.requires_grad], lr=1e-3, betas=(0.9, 0.99), eps=1e-8)
        start = time.perf_counter()
        order = torch.randperm(images.shape[0])
        for step in range(steps):
            index = order[step * BATCH:(step + 1) * BATCH]
            x = images[index].float() * (1 / 255)
            loss = F.cross_entropy(model(x), labels[index])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        return steps * BATCH / (time.perf_counter() - start)

    return run, D


# MARK: Figures and the side-by-side run


def figures(quick):
    """Training first, then the projections by D (the slow 60M ones last)."""
    sizes = [10_000, 50_000] if quick else [100_000, 1_000_000, 60_000_000]
    steps, dense_steps = (4, 1) if quick else (200, 20)
    resnet_steps, mnist_bn_steps = (1, 2) if quick else (10, 40)
    resnet_d = sum(p.numel() for p in resnet20_network().parameters()) // 100
    out = []
    training = []
    for D in sizes:
        d = D // 100
        for kind in ["dense", "sparse", "fastfood"]:
            out.append(dict(name=f"{kind} fwd+bwd", group="projection", kind=kind, D=D, d=d,
                            match=f"{kind} fwd+bwd {D} {d}"))
        out.append(dict(name="fastfood fwd+bwd, authors' single block", group="projection",
                        kind="fastfood-single-block", D=D, d=d, match=None))
    for network, kind, d, s in [
        ("FC 784-200-200-10", None, 0, steps), ("FC 784-200-200-10", "fastfood", 750, steps),
        ("FC 784-200-200-10", "sparse", 750, steps), ("FC 784-200-200-10", "dense", 750, dense_steps),
        ("LeNet", None, 0, steps), ("LeNet", "fastfood", 300, steps),
        ("ResNet-20", None, 0, resnet_steps), ("ResNet-20", "fastfood", resnet_d, resnet_steps),
        ("MNIST-BN", None, 0, mnist_bn_steps), ("MNIST-BN", "fastfood", 150, mnist_bn_steps),
    ]:
        name = f"train {network} {kind or 'direct'}"
        training.append(dict(name=name, group="training", kind=kind, network=network, d=d, steps=s, match=name))
    return training + out


def run_idzip(idzip, figure, threads):
    command = [idzip, "bench", "--json", "--repetitions", "1", "--threads", str(threads),
               "--only", figure["group"], "--match", figure["match"]]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    records = [r for r in json.loads(output) if r["name"] == figure["name"]]
    if len(records) != 1:
        raise SystemExit(f"idzip bench --match {figure['match']!r} gave {len(records)} records")
    return records[0]


def fmt(value, group):
    if value is None:
        return "-"
    if group == "training":
        return f"{value:,.0f} ex/s"
    return f"{value:.5f} s" if value < 0.01 else f"{value:.4f} s"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--idzip", default=".build/release/idzip")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=5, help="alternations per figure; medians are reported")
    parser.add_argument("--big-rounds", type=int, default=2, help="rounds of the D = 60M figures")
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--match", help="only figures whose name (with D) contains this text")
    parser.add_argument("--json", help="also write the records to this file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"idzip bench beside PyTorch {torch.__version__} (CPU, {torch.get_num_threads()} threads, "
          f"{torch.backends.cpu.get_cpu_capability()}), {args.threads} idzip threads, {args.rounds} alternating "
          f"rounds per figure, one warm-up + one timed run per round and side, medians; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} processors, "
          f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, load average {os.getloadavg()[0]:.1f}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'unset')}", flush=True)
    header = f"{'figure':<52}{'idzip':>22}{'PyTorch':>22}  ratio"
    print(header, flush=True)
    results = []
    for figure in figures(args.quick):
        label = figure["name"] + (f" D={figure['D']:,} d={figure['d']:,}" if figure["group"] == "projection" else "")
        if args.match and args.match not in label:
            continue
        is_training = figure["group"] == "training"
        idzip_values, torch_values, skipped = [], [], None
        if is_training:
            torch_run, D = training_figure(figure["network"], figure["kind"], figure["d"], figure["steps"])
        else:
            D = figure["D"]
            kind = figure["kind"]
            if kind == "dense" and D * figure["d"] * 4 > 2**31:
                skipped = f"P would need {D * figure['d'] * 4 / 1e9:.0f} GB"
            elif kind == "sparse" and figure["d"] * math.sqrt(D) > 1e9:
                skipped = f"about {figure['d'] * math.sqrt(D):.1e} nonzeros"
            torch_run = None if skipped else projection_figure(kind, D, figure["d"])
        # D = 60M figures take seconds a run on each side: --big-rounds of them (the authors'
        # single block, with no idzip counterpart, once).
        big = not is_training and D > 1 << 24
        rounds = (args.big_rounds if figure["match"] else 1) if big else args.rounds
        for _ in range(0 if skipped else rounds):
            if figure["match"]:
                record = run_idzip(args.idzip, figure, args.threads)
                if record.get("skipped"):
                    skipped = "idzip: " + record["skipped"]
                    break
                idzip_values.append(record["examples_per_second"] if is_training else record["seconds"])
            if is_training:
                torch_run()  # warm-up
                torch_values.append(torch_run())
            else:
                torch_run()
                start = time.perf_counter()
                torch_run()
                torch_values.append(time.perf_counter() - start)
        torch_run = None
        result = dict(figure=label, group=figure["group"], D=D, d=figure["d"] or D,
                      idzip=idzip_values, torch=torch_values, skipped=skipped)
        if skipped:
            print(f"{label:<52}skipped: {skipped}", flush=True)
        else:
            im = statistics.median(idzip_values) if idzip_values else None
            tm = statistics.median(torch_values)
            ratio = None if im is None else (im / tm if is_training else tm / im)
            result.update(idzip_median=im, torch_median=tm, ratio=ratio)
            ratio_text = "-" if ratio is None else (f"{ratio:.2f}x" + (" faster" if ratio >= 1 else " (slower)"))
            print(f"{label:<52}{fmt(im, figure['group']):>22}{fmt(tm, figure['group']):>22}  {ratio_text}", flush=True)
        results.append(result)
    print(f"done {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}, load average {os.getloadavg()[0]:.1f} "
          f"(other processes share the cores: compare ratios, not times)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(torch_version=torch.__version__, threads=args.threads, rounds=args.rounds,
                           load_average=os.getloadavg(),
                           cpu_capability=torch.backends.cpu.get_cpu_capability(), figures=results), f, indent=1)


if __name__ == "__main__":
    main()
