#!/usr/bin/python3
"""The project's PyTorch peer: the five workloads of bench/WORKLOADS.md in PyTorch.

Each workload is the computation amflow-bench times (src/cli/bench.cpp), written
as a practised PyTorch user would write it: sampling under torch.no_grad, the
lean adjoint as one vector-Jacobian product of the frozen base per step
(torch.autograd.grad with grad_outputs), the adjoint-matching loss as one
batched forward and backward over all K * B rows, BPTT as one autograd tape
through the whole sampler. It prints one JSON object per workload on standard
output (bench/WORKLOADS.md, "Output").

    /usr/bin/python3 bench/torch_peer.py                          all workloads, all cores
    /usr/bin/python3 bench/torch_peer.py --threads 1 --workloads am2d,bptt2d --quick
    /usr/bin/python3 bench/torch_peer.py --device cuda            on the first GPU
    /usr/bin/python3 bench/torch_peer.py --workloads sgemm_peak   the float32 matrix-product peak

Needs Debian's python3-torch and python3-numpy, run by /usr/bin/python3
(`bash scripts/deps.sh python3-torch python3-numpy` installs them); --device
cuda needs a CUDA build of torch (Debian's is CPU-only).

Time grid of the fine-tuning workloads (the `offset` scheme of
src/flow/sampler.hpp), h = 1/K, t_k = k h, k = 0..K-1, the network sees t_k:
one step of the memoryless SDE is

    X_{k+1} = c_k X_k + d_k v(X_k, t_k) + s_k eps_k,
    c_k = 1 - h kappa_k,  d_k = 2 h,  s_k = sqrt(h) sigma_k,
    kappa_k = 1 / (t_k + h),  sigma_k^2 = 2 (1 - t_k) / (t_k + h),

so nothing divides by t = 0. The lean adjoint is the exact discrete adjoint of
that step, a_k = c_k a_{k+1} + d_k J_base(X_k)^T a_{k+1} from
a_K = -lambda grad r(X_K), and the loss of step k pairs the control of step k
with a_{k+1} (docs/design.md#pairing-adjoints-with-steps).

Threads (--device cpu): Debian's torch 1.13 calls the system OpenBLAS
(pthread build) for float32 matrix products, and torch.set_num_threads does
not reach it. Two pools of N threads each on N cores fight (measured on a
2-core VM: bptt2d 0.42 s per iteration became 0.74 to 7.8 s). So --threads N
gives OpenBLAS N threads (OPENBLAS_NUM_THREADS, set before torch loads it, and
openblas_set_num_threads) and torch's own OpenMP pool, which runs the
elementwise work, --torch-threads (default 1, the fastest setting measured).

--device cuda: tensors, random numbers and models live on the GPU; TF32 is
switched off so that the products are float32 like amflow's; each repetition
ends with torch.cuda.synchronize() before the clock is read; the JSON line adds
peak_device_mb (torch.cuda.max_memory_allocated).

Each workload runs in a child process (this script again) so that
peak_rss_mb is that workload's own peak; it includes the torch import.
"""
import argparse
import copy
import ctypes
import json
import math
import os
import resource
import subprocess
import sys
import time

WORKLOADS = ["fm2d", "am2d", "bptt2d", "fmmnist", "ammnist"]
CHOICES = WORKLOADS + ["sgemm_peak"]
GRID = "t_k=k/K (k=0..K-1), kappa_k=1/(t_k+h), sigma_k^2=2(1-t_k)/(t_k+h), h=1/K"
K_STEPS = 40       # time steps of the fine-tuning workloads
LAMBDA = 0.5       # reward multiplier of the fine-tuning workloads
TARGET_DIGIT = 3   # the class the ammnist reward asks for


def fail(msg, code=1):
    print("torch_peer: error: " + msg, file=sys.stderr)
    sys.exit(code)


def parse_args():
    p = argparse.ArgumentParser(
        description="The PyTorch peer of amflow-bench: the workloads of bench/WORKLOADS.md.")
    p.add_argument("--workloads", default=",".join(CHOICES),
                   help="comma-separated subset of " + ",".join(CHOICES) + " (default: all)")
    p.add_argument("--threads", type=int, default=os.cpu_count(),
                   help="cores to use: OpenBLAS threads (default: all cores)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the tensors live (default cpu)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 1 warm-up and 3 timed repetitions (below the definition's minimum)")
    p.add_argument("--warmup", type=int, default=None, help="warm-up repetitions (default 3)")
    p.add_argument("--reps", type=int, default=None, help="timed repetitions (default 20, 5 for MNIST)")
    p.add_argument("--torch-threads", type=int, default=1,
                   help="torch's own OpenMP threads for elementwise work (default 1; see Threads above)")
    p.add_argument("--blas-threads", type=int, default=None, help="OpenBLAS threads (default: --threads)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-isolate", action="store_true",
                   help="run every workload in this process (peak_rss_mb is then cumulative)")
    a = p.parse_args()
    names = [w.strip() for w in a.workloads.split(",") if w.strip()]
    if not names:
        fail("--workloads is empty (choose from %s)" % ",".join(CHOICES), 2)
    for w in names:
        if w not in CHOICES:
            fail("unknown workload '%s' in --workloads (choose from %s)" % (w, ",".join(CHOICES)), 2)
    for flag, value in (("--threads", a.threads), ("--torch-threads", a.torch_threads),
                        ("--blas-threads", a.blas_threads)):
        if value is not None and value < 1:
            fail("%s must be at least 1, got %d" % (flag, value), 2)
    for flag, value in (("--warmup", a.warmup), ("--reps", a.reps)):
        if value is not None and value < (0 if flag == "--warmup" else 1):
            fail("%s must be %s, got %d" % (flag, "0 or more" if flag == "--warmup" else "at least 1", value), 2)
    a.names = names
    a.blas_threads = a.blas_threads or a.threads
    return a


ARGS = parse_args()
# Before torch loads OpenBLAS and its OpenMP runtime.
os.environ["OMP_NUM_THREADS"] = str(ARGS.torch_threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.blas_threads)
try:
    import torch  # noqa: E402
    import torch.nn as nn  # noqa: E402
except ImportError as e:
    fail("cannot import torch (%s): install Debian's python3-torch and python3-numpy "
         "(bash scripts/deps.sh python3-torch python3-numpy) and run with /usr/bin/python3" % e)

torch.set_num_threads(ARGS.torch_threads)
try:
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(ARGS.blas_threads)
except (OSError, AttributeError):
    pass  # a torch without the system OpenBLAS: OPENBLAS_NUM_THREADS is all there is
if ARGS.device == "cuda":
    if not torch.cuda.is_available():
        fail("--device cuda: this torch (%s) sees no CUDA device (Debian's python3-torch is CPU-only)"
             % torch.__version__)
    torch.backends.cuda.matmul.allow_tf32 = False   # float32 products, as amflow's
    torch.backends.cudnn.allow_tf32 = False
DEV = torch.device(ARGS.device)


def sync():
    if DEV.type == "cuda":
        torch.cuda.synchronize()


# ------------------------------------------------------------------------------- the models
class VelocityMLP(nn.Module):
    """v(x, t): concat(x, t) (N, d+1) -> Linear(d+1, H), SiLU, (L-1) x [Linear(H, H), SiLU], Linear(H, d)."""

    def __init__(self, d, H, L):
        super().__init__()
        layers = [nn.Linear(d + 1, H), nn.SiLU()]
        for _ in range(L - 1):
            layers += [nn.Linear(H, H), nn.SiLU()]
        layers.append(nn.Linear(H, d))
        self.net = nn.Sequential(*layers)

    def forward(self, x, t):  # x (N, d), t (N, 1) -> (N, d)
        return self.net(torch.cat([x, t], dim=1))

    def forward_flop(self, rows):
        """F(rows) of WORKLOADS.md: sum over the Linear layers of 2 rows in out."""
        return 2.0 * rows * sum(m.in_features * m.out_features for m in self.net if isinstance(m, nn.Linear))


def frozen(model):
    """A copy of model whose parameters are constants (the base of fine-tuning)."""
    m = copy.deepcopy(model)
    for p in m.parameters():
        p.requires_grad_(False)
    return m


def adam(model, lr):
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, foreach=True)
    except TypeError:  # a torch without the foreach flag
        return torch.optim.Adam(model.parameters(), lr=lr)


class OffsetGrid:
    """The K Euler-Maruyama steps of the memoryless SDE on the offset grid (module docstring)."""

    def __init__(self, K, B):
        h = 1.0 / K
        self.K, self.h = K, h
        self.t = [k * h for k in range(K)]
        self.c = [1.0 - h / (tk + h) for tk in self.t]
        self.d = [2.0 * h] * K
        self.s = [math.sqrt(h * 2.0 * (1.0 - tk) / (tk + h)) for tk in self.t]
        self.tcol = [torch.full((B, 1), tk, device=DEV) for tk in self.t]   # t_k for each of B rows


def ring_sampler(n_modes=8, radius=4.0, std=0.5):
    """The 2-D data: 8 Gaussians of std 0.5 on a circle of radius 4 (data::default_ring)."""
    angle = torch.arange(n_modes, dtype=torch.float32, device=DEV) * (2 * math.pi / n_modes)
    means = radius * torch.stack([angle.cos(), angle.sin()], dim=1)

    def sample(n):
        return means[torch.randint(n_modes, (n,), device=DEV)] + std * torch.randn(n, 2, device=DEV)
    return sample


def pixel_sampler(n_images=2048, d=784):
    """Stand-in MNIST pixels, uniform in [0, 1]: the timing does not depend on the values."""
    pixels = torch.rand(n_images, d, device=DEV)
    return lambda n: pixels[torch.randint(n_images, (n,), device=DEV)]


def linear_reward_grad(d):
    """r(x) = x_0: grad r = e_0 for every row."""
    c = torch.zeros(d, device=DEV)
    c[0] = 1.0
    return lambda x: c.expand_as(x)


def classifier_reward_grad():
    """r(x) = log_softmax(C(x))[TARGET_DIGIT], C = Linear(784, 256), SiLU, Linear(256, 10); grad by autograd."""
    clf = nn.Sequential(nn.Linear(784, 256), nn.SiLU(), nn.Linear(256, 10)).to(DEV)
    for p in clf.parameters():
        p.requires_grad_(False)

    def grad(x):
        with torch.enable_grad():
            x = x.detach().requires_grad_(True)
            r = torch.log_softmax(clf(x), dim=1)[:, TARGET_DIGIT]
            (g,) = torch.autograd.grad(r.sum(), x)
        return g
    return grad


# ------------------------------------------------------------------------------- the workloads
def flow_matching(d, H, B, data):
    """One flow-matching step: X_t = t X1 + (1 - t) X0, loss mean (v(X_t, t) - (X1 - X0))^2, one Adam step."""
    net = VelocityMLP(d, H, 3).to(DEV)
    opt = adam(net, 1e-3)

    def step():
        x1 = data(B)
        x0 = torch.randn(B, d, device=DEV)
        t = torch.rand(B, 1, device=DEV)
        loss = (net(t * x1 + (1 - t) * x0, t) - (x1 - x0)).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return step, 3 * net.forward_flop(B)


def adjoint_matching(d, H, B, grad_reward, reward_flop=0.0):
    """One adjoint-matching iteration: sample, lean adjoint, loss on all K steps, one Adam step."""
    ft = VelocityMLP(d, H, 3).to(DEV)
    base = frozen(ft)
    opt = adam(ft, 1e-4)
    g = OffsetGrid(K_STEPS, B)
    K = g.K
    t_all = torch.cat(g.tcol, 0)                                       # (K B, 1)
    s = torch.tensor(g.s, device=DEV).view(K, 1, 1)
    d_over_s = torch.tensor([dk / sk for dk, sk in zip(g.d, g.s)], device=DEV).view(K, 1, 1)

    def step():
        # 1. trajectories X_0..X_{K-1}, X_K of the fine-tuned model, no tape
        xs = torch.empty(K, B, d, device=DEV)
        with torch.no_grad():
            x = torch.randn(B, d, device=DEV)
            for k in range(K):
                xs[k] = x
                x = g.c[k] * x + g.d[k] * ft(x, g.tcol[k]) + g.s[k] * torch.randn(B, d, device=DEV)
        # 2. lean adjoint from a_K = -lambda grad r(X_K): a_k = c_k a_{k+1} + d_k J_base(X_k)^T a_{k+1};
        #    a_next[k] = a_{k+1} (the pairing of the loss), v_base[k] kept for the loss
        a = -LAMBDA * grad_reward(x)
        a_next = torch.empty(K, B, d, device=DEV)
        v_base = torch.empty(K, B, d, device=DEV)
        for k in reversed(range(K)):
            a_next[k] = a
            xk = xs[k].detach().requires_grad_(True)
            with torch.enable_grad():
                v = base(xk, g.tcol[k])
            (jta,) = torch.autograd.grad(v, xk, grad_outputs=a)
            a = g.c[k] * a + g.d[k] * jta
            v_base[k] = v.detach()
        # 3. loss 1/2 mean_b sum_k ||(d_k / s_k)(v_ft - v_base) + s_k a_{k+1}||^2, one pass over K B rows
        v_ft = ft(xs.view(K * B, d), t_all).view(K, B, d)
        residual = d_over_s * (v_ft - v_base) + s * a_next
        loss = 0.5 * residual.pow(2).sum() / B
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    F = ft.forward_flop
    return step, K * F(B) + K * 2 * F(B) + 3 * F(K * B) + reward_flop


def backprop_through_time(d, H, B):
    """One BPTT iteration: the discretised SOC cost on one tape through all K steps, one Adam step."""
    ft = VelocityMLP(d, H, 3).to(DEV)
    base = frozen(ft)
    opt = adam(ft, 1e-4)
    g = OffsetGrid(K_STEPS, B)

    def step():
        # L = mean_b [ sum_k ||d_k (v_ft - v_base)||^2 / (2 s_k^2) - lambda r(X_K) ],  r(x) = x_0
        x = torch.randn(B, d, device=DEV)
        cost = torch.zeros(B, device=DEV)
        for k in range(g.K):
            v_ft = ft(x, g.tcol[k])
            delta = v_ft - base(x, g.tcol[k])
            cost = cost + (g.d[k] ** 2 / (2 * g.s[k] ** 2)) * delta.pow(2).sum(1)
            x = g.c[k] * x + g.d[k] * v_ft + g.s[k] * torch.randn(B, d, device=DEV)
        loss = (cost - LAMBDA * x[:, 0]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    F = ft.forward_flop
    return step, g.K * (3 * F(B) + 2 * F(B))


def build(name):
    if name == "fm2d":
        return flow_matching(2, 256, 1024, ring_sampler())
    if name == "am2d":
        return adjoint_matching(2, 256, 512, linear_reward_grad(2))
    if name == "bptt2d":
        return backprop_through_time(2, 256, 512)
    if name == "fmmnist":
        return flow_matching(784, 1024, 128, pixel_sampler())
    if name == "ammnist":
        B = 64
        return adjoint_matching(784, 1024, B, classifier_reward_grad(),
                                reward_flop=2 * 2.0 * B * (784 * 256 + 256 * 10))
    raise ValueError(name)


# ------------------------------------------------------------------------------- timing and output
def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def common_fields():
    out = {"threads": ARGS.threads, "backend": DEV.type, "torch_threads": ARGS.torch_threads,
           "blas_threads": ARGS.blas_threads, "impl": "torch %s" % torch.__version__}
    if DEV.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(DEV)
        out["tf32"] = False
        out["peak_device_mb"] = round(torch.cuda.max_memory_allocated(DEV) / 2.0 ** 20, 1)
    return out


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def run_workload(name):
    torch.manual_seed(ARGS.seed)
    step, flop = build(name)
    mnist = name.endswith("mnist")
    warm = ARGS.warmup if ARGS.warmup is not None else (1 if ARGS.quick else 3)
    reps = ARGS.reps if ARGS.reps is not None else (3 if ARGS.quick else (5 if mnist else 20))
    for _ in range(warm):
        step()
    ms = []
    for _ in range(reps):
        sync()
        t0 = time.perf_counter()
        step()
        sync()
        ms.append(1e3 * (time.perf_counter() - t0))
    med = median(ms)
    out = {"workload": name, "reps": reps, "ms_median": round(med, 3), "ms_min": round(min(ms), 3),
           "ms_max": round(max(ms), 3), "gflop": round(flop / 1e9, 4),
           "gflops_per_s": round(flop / 1e9 / (med / 1e3), 2), "peak_rss_mb": round(peak_rss_mb(), 1)}
    if name in ("am2d", "bptt2d", "ammnist"):
        out["grid"] = GRID
    out.update(common_fields())
    return out


def sgemm_peak():
    """Best 2 n^3 / (fastest time) of a square float32 product over a few n."""
    sizes = (1024, 1536, 2048, 3072, 4096) + ((8192,) if DEV.type == "cuda" else ())
    best = None
    by_n = {}
    for n in sizes:
        a = torch.randn(n, n, device=DEV)
        b = torch.randn(n, n, device=DEV)
        c = torch.empty(n, n, device=DEV)
        reps = 3 if ARGS.quick else (10 if n <= 2048 else 5)
        for _ in range(2):
            torch.mm(a, b, out=c)
        ms = []
        for _ in range(reps):
            sync()
            t0 = time.perf_counter()
            torch.mm(a, b, out=c)
            sync()
            ms.append(1e3 * (time.perf_counter() - t0))
        rate = 2.0 * n ** 3 / 1e9 / (min(ms) / 1e3)
        by_n[str(n)] = round(rate, 1)
        if best is None or rate > best[1]:
            best = (n, rate, ms)
    n, rate, ms = best
    out = {"workload": "sgemm_peak", "reps": len(ms), "n": n, "ms_median": round(median(ms), 3),
           "ms_min": round(min(ms), 3), "ms_max": round(max(ms), 3), "gflop": round(2.0 * n ** 3 / 1e9, 3),
           "gflops_per_s": round(rate, 1), "gflops_per_s_by_n": by_n,
           "note": "best over n of 2n^3/min-time, torch.mm float32 square", "peak_rss_mb": round(peak_rss_mb(), 1)}
    out.update(common_fields())
    return out


def main():
    if len(ARGS.names) > 1 and not ARGS.no_isolate:
        for w in ARGS.names:   # one child per workload: peak_rss_mb is that workload's
            cmd = [sys.executable, os.path.abspath(__file__), "--workloads", w, "--threads", str(ARGS.threads),
                   "--device", ARGS.device, "--seed", str(ARGS.seed), "--torch-threads", str(ARGS.torch_threads),
                   "--blas-threads", str(ARGS.blas_threads)]
            if ARGS.quick:
                cmd.append("--quick")
            if ARGS.warmup is not None:
                cmd += ["--warmup", str(ARGS.warmup)]
            if ARGS.reps is not None:
                cmd += ["--reps", str(ARGS.reps)]
            sys.stdout.flush()
            if subprocess.run(cmd).returncode != 0:
                fail("workload %s failed" % w)
        return
    for w in ARGS.names:
        print(json.dumps(sgemm_peak() if w == "sgemm_peak" else run_workload(w)), flush=True)


if __name__ == "__main__":
    main()
