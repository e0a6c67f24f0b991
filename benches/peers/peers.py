#!/usr/bin/env python3
"""Peers of hdon's end-to-end benchmarks: ONNX Runtime and numpy, plus the shared table.

The workloads come from the Rust definitions in benches/src/workload.rs, dumped by
`cargo run --release -p hdon-benches --bin workloads -- export DIR` (weights in paper layout,
sensors, points, workload.json). Nothing here invents numbers.

    peers.py onnx  DIR                      build DIR/NAME/{generate,eval,total}.onnx (onnx.helper)
    peers.py run   DIR --peer ort|numpy --threads N [--budget S] [--names ...]
    peers.py table DIR                      print the table of every DIR/results/*.json
    peers.py interleave DIR --lib libhdon.so [--budget S] [--evict-mb N] [--names ...]
                                            hdon (C API, ctypes) and ONNX Runtime, 1 thread,
                                            timed call by call in alternation (see below)

Phases: generate (sensors -> theta / branch coefficients), eval (theta + points -> outputs),
total (sensors + points -> outputs). Every peer writes its `total` output to
DIR/NAME/out.<peer>.npy; the table reports the max abs difference to hdon's f32 output.

`interleave` answers "how much faster than ONNX Runtime" on a machine whose speed drifts: the
two are called in alternation, hdon then ORT, in one process, so every pair of calls sees the
same machine state; it reports both medians and the median (and 10th-90th percentiles) of the
per-pair ratio. hdon runs through its C API (`hdon_generate` and `hdon_eval`;
`hdon_generate_batch` and `hdon_eval_batch` for B) on DIR/NAME/model-f32.hdon,
RAYON_NUM_THREADS=1; each call pays a ctypes call (~1 us), as ORT pays its Python binding.
Alternation is not neutral about caches: each runtime's call leaves the other's data where its
own working set pushed it (ORT's B graph moves 5 MB per layer, hdon's B about 1 MB).
`--evict-mb N` writes N MB of a buffer of its own, untimed, before every timed call of either
runtime, so both start every call from the same cold caches (at most 200 pairs per phase).

Thread count: ONNX Runtime's intra_op_num_threads; numpy's BLAS threads are set by the caller
through OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS (run.sh does) because they must
be fixed before numpy is imported.
"""

import argparse
import glob
import importlib
import json
import os
import sys
import time

PIP = "pip install numpy onnx onnxruntime"


def need(module):
    """`import module`, or exit with one line that says what to pip install (a traceback
    ending in ModuleNotFoundError came minutes into run.sh otherwise)."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        sys.exit(f"peers.py: cannot import {module} ({e}); run: {PIP}")


np = need("numpy")

PHASES = ("generate", "eval", "total")


# ---------------------------------------------------------------------------------------------
# workload dump
# ---------------------------------------------------------------------------------------------
def load(wdir):
    """workload.json plus every .npy array of one workload directory."""
    with open(os.path.join(wdir, "workload.json")) as f:
        meta = json.load(f)
    arrays = {}
    for path in glob.glob(os.path.join(wdir, "*.npy")):
        key = os.path.basename(path)[:-4]
        if not key.startswith("out.") and not key.startswith("theta."):
            arrays[key] = np.load(path)
    return meta, arrays


def net(meta, arrays, role):
    """[(W [out, in], b [out], act)] of one network, in order."""
    layers = meta["generate"] if role == meta["generate_role"] else meta["trunk"]
    return [
        (arrays[f"{role}.{i}.weight"], arrays[f"{role}.{i}.bias"], layer["act"])
        for i, layer in enumerate(layers)
    ]


def workload_dirs(root, names):
    """The workload folders of a dump, `names` only when given; exits when the dump has none of
    them (a wrong DIR or name did nothing, silently, with status 0)."""
    dirs = sorted(d for d in glob.glob(os.path.join(root, "*")) if os.path.exists(os.path.join(d, "workload.json")))
    if not dirs:
        sys.exit(f"peers.py: no workload dump in {root}; write one with "
                 f"`cargo run --release -p hdon-benches --bin workloads -- export {root}`")
    if names:
        have = {os.path.basename(d) for d in dirs}
        missing = [n for n in names if n not in have]
        if missing:
            print(f"peers.py: no workload {' '.join(missing)} in {root} (it has: {' '.join(sorted(have))})",
                  file=sys.stderr)
            sys.exit(2)
        dirs = [d for d in dirs if os.path.basename(d) in names]
    return dirs


# ---------------------------------------------------------------------------------------------
# ONNX graphs (onnx.helper): what a user exporting these models would hand to ONNX Runtime
# ---------------------------------------------------------------------------------------------
def build_onnx(meta, arrays):
    """Returns {phase: ModelProto} with fixed shapes (tract needs concrete shapes)."""
    onnx = need("onnx")
    from onnx import TensorProto, helper, numpy_helper

    B, m, n, d_y, d_out = meta["batch"], meta["m"], meta["n_points"], meta["d_y"], meta["d_out"]
    hyper = meta["family"] == "hyper"
    gen_role = meta["generate_role"]
    n_gen_out = meta["n_theta"] if hyper else d_out * meta["p"]

    class G:
        def __init__(self):
            self.nodes, self.inits, self.k = [], [], 0

        def name(self, base):
            self.k += 1
            return f"{base}_{self.k}"

        def const(self, base, value, dtype=np.float32):
            nm = self.name(base)
            self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), nm))
            return nm

        def op(self, op_type, inputs, base, **attrs):
            out = self.name(base)
            self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
            return out

        def act(self, x, act):
            if act == "relu":
                return self.op("Relu", [x], "relu")
            if act == "tanh":
                return self.op("Tanh", [x], "tanh")
            assert act == "identity", act
            return x

    def generate(g, x):
        # Dense layers as PyTorch's exporter writes nn.Linear: Gemm(x, W, b, transB=1).
        for i, (w, b, act) in enumerate(net(meta, arrays, gen_role)):
            wn = g.const(f"{gen_role}.{i}.weight", w)
            bn = g.const(f"{gen_role}.{i}.bias", b)
            x = g.act(g.op("Gemm", [x, wn, bn], "gemm", transB=1), act)
        return x

    def eval_hyper(g, theta, points):
        # Slice theta (paper layout) into each layer's W [B, out, in] and b [B, 1, out], then a
        # batched MatMul of the points through the target MLP: [.., n, in] x [B, in, out].
        off, h = 0, points
        axes = g.const("axis1", [1], np.int64)
        for layer in meta["target"]:
            ni, no = layer["n_in"], layer["n_out"]

            def cut(lo, hi, shape):
                s = g.op("Slice", [theta, g.const("lo", [lo], np.int64), g.const("hi", [hi], np.int64), axes], "slice")
                return g.op("Reshape", [s, g.const("shape", shape, np.int64)], "reshape")

            w = cut(off, off + no * ni, [B, no, ni])
            off += no * ni
            b = cut(off, off + no, [B, 1, no])
            off += no
            wt = g.op("Transpose", [w], "wT", perm=[0, 2, 1])
            h = g.act(g.op("Add", [g.op("MatMul", [h, wt], "matmul"), b], "add"), layer["act"])
        return h

    def eval_deeponet(g, coef, points):
        h = points
        for i, (w, b, act) in enumerate(net(meta, arrays, "trunk")):
            wn = g.const(f"trunk.{i}.weight", w)
            bn = g.const(f"trunk.{i}.bias", b)
            h = g.act(g.op("Gemm", [h, wn, bn], "gemm", transB=1), act)
        p = meta["p"]
        c = g.op("Reshape", [coef, g.const("shape", [B, d_out, p], np.int64)], "reshape")
        ct = g.op("Transpose", [c], "cT", perm=[0, 2, 1])
        out = g.op("MatMul", [h, ct], "matmul")  # [n, p] x [B, p, d_out] -> [B, n, d_out]
        return g.op("Add", [out, g.const("b0", arrays["b0"])], "add")

    evaluate = eval_hyper if hyper else eval_deeponet
    v_sensors = helper.make_tensor_value_info("sensors", TensorProto.FLOAT, [B, m])
    v_points = helper.make_tensor_value_info("points", TensorProto.FLOAT, [n, d_y])
    v_theta = helper.make_tensor_value_info("theta", TensorProto.FLOAT, [B, n_gen_out])
    v_out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [B, n, d_out])

    def finish(g, result, inputs, output, phase):
        g.nodes.append(helper.make_node("Identity", [result], [output.name]))
        graph = helper.make_graph(g.nodes, f"{meta['name']}-{phase}", inputs, [output], g.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model

    graphs = {}
    g = G()
    graphs["generate"] = finish(g, generate(g, "sensors"), [v_sensors], v_theta, "generate")
    g = G()
    graphs["eval"] = finish(g, evaluate(g, "theta", "points"), [v_theta, v_points], v_out, "eval")
    g = G()
    graphs["total"] = finish(g, evaluate(g, generate(g, "sensors"), "points"), [v_sensors, v_points], v_out, "total")
    return graphs


def cmd_onnx(args):
    onnx = need("onnx")

    for wdir in workload_dirs(args.dir, args.names):
        meta, arrays = load(wdir)
        for phase, model in build_onnx(meta, arrays).items():
            onnx.save(model, os.path.join(wdir, f"{phase}.onnx"))
        print(f"wrote {wdir}/{{generate,eval,total}}.onnx")


# ---------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------
def median_us(fn, budget_s, min_iters=5, max_iters=2000):
    """Median wall time of fn() in microseconds: a warm-up call, then calls until budget_s of
    measured time (at least min_iters, at most max_iters)."""
    fn()
    times, spent = [], 0.0
    while len(times) < min_iters or (spent < budget_s and len(times) < max_iters):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
    return float(np.median(times)) * 1e6, len(times)


def phase_flops(meta, phase):
    gen = meta["batch"] * meta["flops_generate"]
    ev = meta["batch"] * meta["n_points"] * meta["flops_per_point"]
    return {"generate": gen, "eval": ev, "total": gen + ev}[phase]


class OrtPeer:
    def __init__(self, wdir, meta, arrays, threads):
        ort = need("onnxruntime")
        for ph in PHASES:
            if not os.path.exists(os.path.join(wdir, f"{ph}.onnx")):
                sys.exit(f"peers.py: {wdir}/{ph}.onnx missing; build the graphs first: peers.py onnx {os.path.dirname(wdir) or '.'}")

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = {
            ph: ort.InferenceSession(os.path.join(wdir, f"{ph}.onnx"), so, providers=["CPUExecutionProvider"])
            for ph in PHASES
        }
        self.sensors, self.points = arrays["sensors"], arrays["points"]
        self.theta = self.sess["generate"].run(None, {"sensors": self.sensors})[0]

    def phase(self, ph):
        s = self.sess[ph]
        feeds = {
            "generate": {"sensors": self.sensors},
            "eval": {"theta": self.theta, "points": self.points},
            "total": {"sensors": self.sensors, "points": self.points},
        }[ph]
        return lambda: s.run(None, feeds)[0]


class NumpyPeer:
    """The obvious numpy code: x @ W.T + b per layer; the target weights sliced out of theta."""

    def __init__(self, wdir, meta, arrays, threads):
        self.meta = meta
        self.gen = net(meta, arrays, meta["generate_role"])
        self.trunk = net(meta, arrays, "trunk") if meta["family"] == "deeponet" else []
        self.b0 = arrays.get("b0")
        self.sensors, self.points = arrays["sensors"], arrays["points"]
        self.theta = self.generate(self.sensors)

    @staticmethod
    def act(x, act):
        if act == "relu":
            return np.maximum(x, 0, out=x)
        if act == "tanh":
            return np.tanh(x, out=x)
        return x

    def generate(self, x):
        for w, b, act in self.gen:
            x = self.act(x @ w.T + b, act)
        return x

    def evaluate(self, theta, points):
        meta, B = self.meta, self.meta["batch"]
        if meta["family"] == "hyper":
            off, h = 0, points
            for layer in meta["target"]:
                ni, no = layer["n_in"], layer["n_out"]
                w = theta[:, off : off + no * ni].reshape(B, no, ni)
                off += no * ni
                b = theta[:, off : off + no].reshape(B, 1, no)
                off += no
                h = self.act(h @ w.transpose(0, 2, 1) + b, layer["act"])
            return h
        h = points
        for w, b, act in self.trunk:
            h = self.act(h @ w.T + b, act)
        c = theta.reshape(B, meta["d_out"], meta["p"])
        return h @ c.transpose(0, 2, 1) + self.b0

    def phase(self, ph):
        return {
            "generate": lambda: self.generate(self.sensors),
            "eval": lambda: self.evaluate(self.theta, self.points),
            "total": lambda: self.evaluate(self.generate(self.sensors), self.points),
        }[ph]


def cmd_run(args):
    os.makedirs(os.path.join(args.dir, "results"), exist_ok=True)
    label = f"{args.peer}-t{args.threads}"
    rows = []
    for wdir in workload_dirs(args.dir, args.names):
        meta, arrays = load(wdir)
        peer = {"ort": OrtPeer, "numpy": NumpyPeer}[args.peer](wdir, meta, arrays, args.threads)
        for ph in PHASES:
            fn = peer.phase(ph)
            med, iters = median_us(fn, args.budget)
            if ph == "total":
                np.save(os.path.join(wdir, f"out.{label}.npy"), np.asarray(fn(), dtype=np.float32))
            rows.append(
                {
                    "workload": meta["name"],
                    "phase": ph,
                    "peer": args.peer,
                    "weights": "f32",
                    "threads": args.threads,
                    "median_us": med,
                    "iters": iters,
                    "flops": phase_flops(meta, ph),
                    "out": f"out.{label}.npy" if ph == "total" else None,
                }
            )
            print(f"{label:>10} {meta['name']:<20} {ph:<8} {med:12.1f} us  ({iters} runs)", flush=True)
    with open(os.path.join(args.dir, "results", f"{label}.json"), "w") as f:
        json.dump(rows, f, indent=1)


# ---------------------------------------------------------------------------------------------
# hdon through its C API, and the interleaved comparison with ONNX Runtime
# ---------------------------------------------------------------------------------------------
def aligned(n, dtype, align=64):
    """A zeroed numpy array of n elements whose data starts at a multiple of `align` bytes."""
    dt = np.dtype(dtype)
    raw = np.zeros(n * dt.itemsize + align, dtype=np.uint8)
    off = (-raw.ctypes.data) % align
    return raw[off : off + n * dt.itemsize].view(dt)


class HdonC:
    """hdon through libhdon (hdon.h) with ctypes: the workload's model-f32.hdon; one function:
    `hdon_generate`, a batch: `hdon_generate_batch` (one workspace, one target per function;
    the caller sets RAYON_NUM_THREADS)."""

    def __init__(self, lib_path, wdir, meta, arrays):
        import ctypes as C

        lib = C.CDLL(lib_path)
        vp, sz, ci = C.c_void_p, C.c_size_t, C.c_int
        for name, args, res in [
            ("hdon_model_open", [vp, sz, ci, vp], ci),
            ("hdon_model_workspace_len", [vp, sz], sz),
            ("hdon_generate", [vp, vp, sz, vp, sz, vp], ci),
            ("hdon_generate_batch", [vp, vp, sz, sz, vp, sz, vp], ci),
            ("hdon_eval", [vp, vp, sz, vp, sz], ci),
            ("hdon_eval_batch", [vp, sz, vp, sz, vp, sz], ci),
            ("hdon_error_message", [ci], C.c_char_p),
        ]:
            getattr(lib, name).argtypes, getattr(lib, name).restype = args, res
        self.lib = lib
        path = os.path.join(wdir, "model-f32.hdon")
        if not os.path.exists(path):
            sys.exit(f"peers.py: {path} missing; a dump of an older `workloads export`? export it again")
        data = np.fromfile(path, dtype=np.uint8)
        self.bytes = aligned(data.size, np.uint8)
        self.bytes[:] = data
        self.model = aligned(1024, np.uint64)  # HDON_MODEL_WORDS
        self.check(lib.hdon_model_open(self.bytes.ctypes.data, data.size, 1, self.model.ctypes.data), "open")
        B, n, d_out = meta["batch"], meta["n_points"], meta["d_out"]
        self.batch = B
        self.ws_len = lib.hdon_model_workspace_len(self.model.ctypes.data, B)
        self.ws = aligned(self.ws_len, np.float32)
        self.targets = aligned(128 * B, np.uint64)  # HDON_TARGET_WORDS per function
        self.sensors = np.ascontiguousarray(arrays["sensors"], dtype=np.float32)
        self.points = np.ascontiguousarray(arrays["points"], dtype=np.float32)
        self.out = np.zeros((B, n, d_out), dtype=np.float32)
        self.m, self.n, self.d_out = meta["m"], n, d_out
        # Raw addresses once: building ctypes pointers per call would cost more than a GEMV.
        self.mp = self.model.ctypes.data
        self.sp = [self.sensors[b].ctypes.data for b in range(B)]
        self.wp = self.ws.ctypes.data
        self.tp = [self.targets[128 * b :].ctypes.data for b in range(B)]
        self.op = [self.out[b].ctypes.data for b in range(B)]
        self.pp = self.points.ctypes.data
        self.generate()

    def check(self, rc, what):
        if rc != 0:
            raise RuntimeError(f"hdon {what}: {self.lib.hdon_error_message(rc).decode()} (status {rc})")

    def generate(self):
        if self.batch == 1:
            rc = self.lib.hdon_generate(self.mp, self.sp[0], self.m, self.wp, self.ws_len, self.tp[0])
        else:
            rc = self.lib.hdon_generate_batch(
                self.mp, self.sp[0], self.batch, self.m, self.wp, self.ws_len, self.tp[0]
            )
        if rc:
            self.check(rc, "generate")

    def evaluate(self):
        if self.batch == 1:
            rc = self.lib.hdon_eval(self.tp[0], self.pp, self.n, self.op[0], self.n * self.d_out)
        else:
            # One call for the batch, as ORT runs one graph (64 ctypes calls cost ~50 us).
            rc = self.lib.hdon_eval_batch(
                self.tp[0], self.batch, self.pp, self.n, self.op[0], self.out.size
            )
        if rc:
            self.check(rc, "eval")

    def phase(self, ph):
        def total():
            self.generate()
            self.evaluate()
            return self.out

        return {"generate": self.generate, "eval": self.evaluate, "total": total}[ph]


def cmd_interleave(args):
    # 1 thread like ORT: hdon_generate_batch runs on rayon's global pool, sized on first use.
    os.environ["RAYON_NUM_THREADS"] = "1"
    if not os.path.isfile(args.lib):
        sys.exit(f"peers.py interleave: no such library: {args.lib} (cargo build --release -p hdon-capi)")
    # One byte per 64-byte line of the buffer is enough to take every line into the cache.
    evict = np.zeros(args.evict_mb << 20, dtype=np.uint8) if args.evict_mb > 0 else None

    def cold():
        if evict is not None:
            evict[::64] += 1

    lines = [
        "| workload | phase | hdon us | ort us | ort/hdon (medians) | per-pair ratio: median [p10-p90] | pairs | max abs diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for wdir in workload_dirs(args.dir, args.names):
        meta, arrays = load(wdir)
        ort = OrtPeer(wdir, meta, arrays, 1)
        h = HdonC(args.lib, wdir, meta, arrays)
        for ph in PHASES:
            fh, fo = h.phase(ph), ort.phase(ph)
            fh()
            fo()
            th, to, spent = [], [], 0.0
            most = 200 if evict is not None else 2000
            while len(th) < 5 or (spent < args.budget and len(th) < most):
                cold()
                t0 = time.perf_counter()
                fh()
                t1 = time.perf_counter()
                cold()
                t2 = time.perf_counter()
                fo()
                t3 = time.perf_counter()
                th.append(t1 - t0)
                to.append(t3 - t2)
                spent += (t1 - t0) + (t3 - t2)
            th, to = np.array(th), np.array(to)
            r = to / th
            diff = "-"
            if ph == "total":
                o = np.asarray(fo(), dtype=np.float32).reshape(-1)
                diff = f"{float(np.max(np.abs(o - h.phase('total')().reshape(-1)))):.2e}"
            row = (
                f"| {meta['name']} | {ph} | {np.median(th) * 1e6:.1f} | {np.median(to) * 1e6:.1f} | "
                f"{np.median(to) / np.median(th):.2f} | {np.median(r):.2f} "
                f"[{np.percentile(r, 10):.2f}-{np.percentile(r, 90):.2f}] | {len(r)} | {diff} |"
            )
            lines.append(row)
            print(row, flush=True)
    if evict is not None:
        lines.append("")
        lines.append(f"Cold caches: {args.evict_mb} MB written before every timed call of either runtime.")
    with open(os.path.join(args.dir, "interleaved.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


# ---------------------------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------------------------
def cmd_table(args):
    rows = []
    for path in sorted(glob.glob(os.path.join(args.dir, "results", "*.json"))):
        with open(path) as f:
            rows.extend(json.load(f))
    if not rows:
        sys.exit(f"no results in {args.dir}/results")
    order = {}
    for wdir in workload_dirs(args.dir, None):
        order[os.path.basename(wdir)] = load(wdir)[0]["order"]
    peer_rank = {"hdon": 0, "ort": 1, "numpy": 2, "tract": 3}
    key = lambda r: (order.get(r["workload"], 99), PHASES.index(r["phase"]), r["threads"],
                     peer_rank.get(r["peer"], 9), r["weights"] != "f32")
    rows.sort(key=key)

    def base(r):
        """hdon f32 at the same workload, phase and thread count."""
        for b in rows:
            if (b["peer"], b["weights"], b["workload"], b["phase"], b["threads"]) == (
                    "hdon", "f32", r["workload"], r["phase"], r["threads"]):
                return b
        return None

    outs = {}

    def out(r):
        p = os.path.join(args.dir, r["workload"], r["out"])
        if p not in outs:
            outs[p] = np.load(p) if os.path.exists(p) else None
        return outs[p]

    hdr = f"| {'workload':<18} | {'phase':<8} | {'thr':>3} | {'peer':<15} | {'median us':>11} | {'GFLOP/s':>8} | {'peer/hdon':>9} | {'max abs diff':>12} |"
    print(hdr)
    print("|" + "|".join("-" * (len(c)) for c in hdr.split("|")[1:-1]) + "|")
    for r in rows:
        b = base(r)
        ratio = f"{r['median_us'] / b['median_us']:9.2f}" if b else f"{'-':>9}"
        diff = "-"
        if r.get("out") and b and b.get("out") and r is not b:
            a, h = out(r), out(b)
            if a is None or h is None:
                diff = "missing!"  # was "-", as if there were nothing to compare
            else:
                diff = f"{float(np.max(np.abs(a.reshape(-1) - h.reshape(-1)))):.2e}" if a.size == h.size else "shape!"
        gflops = r["flops"] / (r["median_us"] * 1e3)
        name = r["peer"] if r["weights"] == "f32" else f"{r['peer']}-{r['weights']}"
        print(f"| {r['workload']:<18} | {r['phase']:<8} | {r['threads']:>3} | {name:<15} | {r['median_us']:>11.1f} | {gflops:>8.2f} | {ratio} | {diff:>12} |")
    print("\npeer/hdon = peer median / hdon f32 median at the same workload, phase and thread count "
          "(> 1: hdon is faster). max abs diff: the peer's `total` output vs hdon f32's.")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("onnx")
    a.add_argument("dir")
    a.add_argument("--names", nargs="*")
    a = sub.add_parser("run")
    a.add_argument("dir")
    a.add_argument("--peer", choices=["ort", "numpy"], required=True)
    a.add_argument("--threads", type=int, default=1)
    a.add_argument("--budget", type=float, default=1.0, help="seconds of timed calls per phase")
    a.add_argument("--names", nargs="*")
    a = sub.add_parser("table")
    a.add_argument("dir")
    a = sub.add_parser("interleave")
    a.add_argument("dir")
    a.add_argument("--lib", required=True, help="libhdon.so (cargo build --release -p hdon-capi)")
    a.add_argument("--budget", type=float, default=2.0, help="seconds of timed pairs per phase")
    a.add_argument(
        "--evict-mb",
        type=int,
        default=0,
        help="MB written (untimed) before every timed call of either runtime: both start cold (0: off)",
    )
    a.add_argument("--names", nargs="*")
    args = ap.parse_args()
    if not (0 < getattr(args, "budget", 1.0) < float("inf")):
        ap.error(f"--budget takes seconds > 0 (found {args.budget})")
    if getattr(args, "evict_mb", 0) < 0:
        ap.error(f"--evict-mb must be >= 0 (found {args.evict_mb})")
    if getattr(args, "threads", 1) < 1:
        ap.error(f"--threads must be >= 1 (found {args.threads})")
    # Every command writes into DIR (graphs, outputs, results, tables): check it before the
    # timing, which an unwritable folder used to end with a traceback.
    if os.path.isdir(args.dir) and not os.access(args.dir, os.W_OK):
        sys.exit(f"peers.py {args.cmd}: cannot write to {args.dir}")
    try:
        {"onnx": cmd_onnx, "run": cmd_run, "table": cmd_table, "interleave": cmd_interleave}[args.cmd](args)
    except OSError as e:
        # A file that cannot be read or written (permissions, a full disk): one line, status 1.
        where = f"{e.filename}: " if e.filename else ""
        sys.exit(f"peers.py {args.cmd}: {where}{e.strerror or e}")


if __name__ == "__main__":
    main()
