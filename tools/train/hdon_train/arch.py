"""Architectures: which networks a family has, their sizes, and the paper's tables.

A model is a dict of arrays keyed by the "hdon" slot names of CONTRACTS.md:
`<role>.<i>.weight` [out, in] and `<role>.<i>.bias` [out] for layer i of each network, plus
`b0` [d_out] (deeponet/shift with b0) and `chunk_embeddings` [n_chunks, d_z] (chunked_hyper).
The target net of hyper / chunked_hyper has no slots: its parameters theta are generated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

FAMILIES = ("deeponet", "shift", "flex", "nomad", "hyper", "chunked_hyper")

# Roles each family needs (besides the target table of hyper / chunked_hyper).
ROLES = {
    "deeponet": ("branch", "trunk"),
    "shift": ("branch", "trunk", "scale", "shift"),
    "flex": ("branch", "trunk", "pre"),
    "nomad": ("branch", "decoder"),
    "hyper": ("hyper",),
    "chunked_hyper": ("hyper",),
}


@dataclass(frozen=True)
class Net:
    """An MLP: sizes = [input, hidden..., output]; `activation` on hidden layers,
    `output_activation` on the last one."""

    sizes: tuple[int, ...]
    activation: str = "tanh"
    output_activation: str = "identity"
    prelu_slope: float = 0.25

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    def param_count(self) -> int:
        return sum(o * (i + 1) for i, o in zip(self.sizes[:-1], self.sizes[1:]))


def theta_len(sizes) -> int:
    """Parameter count of a target MLP with layer sizes [d_y, n_1, ..., d_out]."""
    return sum(o * (i + 1) for i, o in zip(sizes[:-1], sizes[1:]))


@dataclass(frozen=True)
class ModelConfig:
    family: str
    m: int  # sensors
    d_y: int
    d_out: int
    networks: dict  # role -> Net
    p: int = 0  # basis size (deeponet, shift, flex, nomad)
    b0: bool = False  # deeponet/shift: constant output bias tensor "b0" [d_out]
    target: Net | None = None  # hyper / chunked_hyper
    n_chunks: int = 0
    chunk_size: int = 0
    d_z: int = 0
    name: str = ""

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"unknown family {self.family!r}; expected one of {FAMILIES}")
        need = set(ROLES[self.family])
        have = set(self.networks)
        if need != have:
            raise ValueError(f"family {self.family}: networks {sorted(have)}, expected {sorted(need)}")
        self.check()

    @property
    def n_theta(self) -> int:
        return theta_len(self.target.sizes) if self.target is not None else 0

    def check(self) -> None:
        """Cross-check the sizes the way the export tool will."""
        f, nets = self.family, self.networks

        def expect(what, found, expected):
            if found != expected:
                raise ValueError(f"{self.family}: {what} is {found}, expected {expected}")

        for role, net in nets.items():
            gen_side = role in ("branch", "hyper", "scale", "shift", "pre")
            if gen_side:
                extra = self.d_z if f == "chunked_hyper" else 0
                expect(f"{role} input", net.sizes[0], self.m + extra)
        if f in ("deeponet", "shift", "flex"):
            expect("trunk input", nets["trunk"].sizes[0], self.d_y)
            expect("trunk output", nets["trunk"].sizes[-1], self.p)
            per = self.p + 1 if f == "flex" else self.p
            expect("branch output", nets["branch"].sizes[-1], self.d_out * per)
        if f == "shift":
            expect("scale output", nets["scale"].sizes[-1], self.d_y)
            expect("shift output", nets["shift"].sizes[-1], self.d_y)
        if f == "flex":
            expect("pre output", nets["pre"].sizes[-1], nets["trunk"].sizes[1])
        if f == "nomad":
            expect("branch output", nets["branch"].sizes[-1], self.p)
            expect("decoder input", nets["decoder"].sizes[0], self.p + self.d_y)
            expect("decoder output", nets["decoder"].sizes[-1], self.d_out)
        if f in ("hyper", "chunked_hyper"):
            if self.target is None:
                raise ValueError(f"{f}: needs a target net")
            expect("target input", self.target.sizes[0], self.d_y)
            expect("target output", self.target.sizes[-1], self.d_out)
        if f == "hyper":
            expect("hyper output", nets["hyper"].sizes[-1], self.n_theta)
        if f == "chunked_hyper":
            expect("hyper output", nets["hyper"].sizes[-1], self.chunk_size)
            if self.n_chunks * self.chunk_size < self.n_theta:
                raise ValueError(
                    f"chunked_hyper: n_chunks*chunk_size = {self.n_chunks * self.chunk_size} < N_theta = {self.n_theta}"
                )

    def with_activation(self, act: str) -> "ModelConfig":
        """The same sizes with every hidden activation set to `act` (and the DeepONet-style
        activated trunk output too); identity output layers stay identity."""
        nets = {r: replace(n, activation=act,
                           output_activation="identity" if n.output_activation == "identity" else act)
                for r, n in self.networks.items()}
        target = replace(self.target, activation=act) if self.target is not None else None
        return replace(self, networks=nets, target=target)

    def param_count(self) -> int:
        n = sum(net.param_count() for net in self.networks.values())
        if self.b0 and self.family in ("deeponet", "shift"):
            n += self.d_out
        if self.family == "chunked_hyper":
            n += self.n_chunks * self.d_z
        return n


def mlp(sizes, activation="tanh", output_activation="identity") -> Net:
    return Net(tuple(int(s) for s in sizes), activation, output_activation)


def build(family: str, *, m: int, d_y: int = 1, d_out: int = 1, target_hidden=(20, 20, 10),
          gen_hidden=(100, 100, 100), aux_hidden=(50, 50), p: int | None = None,
          chunk_size: int = 100, d_z: int = 8, activation="tanh", name="") -> ModelConfig:
    """A model of `family` whose target net (DeepONet: trunk + combination; NOMAD: decoder) is
    d_y-target_hidden-d_out and whose u-side networks have hidden widths `gen_hidden`.

    For DeepONet/Shift/Flex the last target width is the basis size p: the trunk is
    d_y-target_hidden (its last layer activated) and the sum over p is the final layer.
    For NOMAD the decoder is (p + d_y)-target_hidden-d_out, p = latent size (default: the last
    target width).
    """
    th = tuple(target_hidden)
    gh = tuple(gen_hidden)
    act = activation
    if family in ("deeponet", "shift", "flex"):
        p = th[-1] if p is None else p
        trunk = mlp((d_y, *th[:-1], p), act, act)
        per = p + 1 if family == "flex" else p
        nets = {"branch": mlp((m, *gh, d_out * per), act), "trunk": trunk}
        if family == "shift":
            nets["scale"] = mlp((m, *aux_hidden, d_y), act)
            nets["shift"] = mlp((m, *aux_hidden, d_y), act)
        if family == "flex":
            nets["pre"] = mlp((m, *aux_hidden, th[0]), act)
        return ModelConfig(family, m, d_y, d_out, nets, p=p, b0=family != "flex", name=name)
    if family == "nomad":
        p = th[-1] if p is None else p
        nets = {"branch": mlp((m, *gh, p), act), "decoder": mlp((p + d_y, *th, d_out), act)}
        return ModelConfig(family, m, d_y, d_out, nets, p=p, name=name)
    target = mlp((d_y, *th, d_out), act)
    n_theta = target.param_count()
    if family == "hyper":
        return ModelConfig(family, m, d_y, d_out, {"hyper": mlp((m, *gh, n_theta), act)},
                           target=target, name=name)
    if family == "chunked_hyper":
        n_chunks = -(-n_theta // chunk_size)
        return ModelConfig(family, m, d_y, d_out, {"hyper": mlp((m + d_z, *gh, chunk_size), act)},
                           target=target, n_chunks=n_chunks, chunk_size=chunk_size, d_z=d_z,
                           name=name)
    raise ValueError(f"unknown family {family!r}")


# ---------------------------------------------------------------------------------------------
# The paper's sizes (PAPER.md). `PAPER_PARAMS` holds the counts printed in the paper, to check
# ours against; `PAPER_ERROR` the published relative L2 test errors (mean, std over 5 runs).

PAPER_PARAMS = {
    ("burgers", "deeponet"): 115_000,
    ("burgers", "hyper"): 114_000,
    ("advection", "deeponet"): 274_000,
    ("advection", "hyper"): 268_000,
}

PAPER_ERROR = {
    ("identity", "deeponet"): (0.578, 0.003),
    ("identity", "shift"): (0.777, 0.018),
    ("identity", "flex"): (0.678, 0.062),
    ("identity", "nomad"): (0.578, 0.020),
    ("identity", "hyper"): (0.036, 0.005),
    ("differentiation", "deeponet"): (0.559, 0.001),
    ("differentiation", "shift"): (0.624, 0.015),
    ("differentiation", "flex"): (0.562, 0.016),
    ("differentiation", "nomad"): (0.558, 0.003),
    ("differentiation", "hyper"): (0.127, 0.043),
    ("burgers", "deeponet"): (0.0391, 0.0040),
    ("burgers", "hyper"): (0.0196, 0.0044),
    ("advection", "deeponet"): (0.0046, 0.0017),
    ("advection", "hyper"): (0.0048, 0.0009),
}


PAPER_PROBLEMS = ("identity", "differentiation", "burgers", "advection")


def paper(problem: str, family: str, m: int) -> ModelConfig:
    """The paper-size model of `family` for `problem` with m sensors.

    Table 1 (identity, differentiation): target d_y-20-20-10-1 for every family; the paper's
    summary does not print the branch/hypernetwork sizes, ours are m-100-100-100-out (documented
    in docs/TRAINING.md). Table 2 (burgers, advection): the printed sizes; chunked_hyper keeps
    the HyperDeepONet target and sizes its shared hypernetwork to the same parameter budget.
    """
    name = f"{problem}-{family}"
    if problem in ("identity", "differentiation"):
        return build(family, m=m, target_hidden=(20, 20, 10), gen_hidden=(100, 100, 100),
                     aux_hidden=(50, 50), name=name)
    if problem == "burgers":
        if family == "deeponet":
            # branch m-128x4 (last = p = 128), trunk d_y-128x4 (last activated), b0: 115,841
            return build("deeponet", m=m, target_hidden=(128, 128, 128, 128),
                         gen_hidden=(128, 128, 128), name=name)
        if family == "hyper":
            # hypernet m-66x5-N_theta, target d_y-20x4-1 (N_theta = 1321): 114,709
            return build("hyper", m=m, target_hidden=(20, 20, 20, 20), gen_hidden=(66,) * 5,
                         name=name)
        if family == "chunked_hyper":
            # same target; shared hypernet (m+8)-141x5-100 over 14 chunks: 113,717
            return build("chunked_hyper", m=m, target_hidden=(20, 20, 20, 20),
                         gen_hidden=(141,) * 5, chunk_size=100, d_z=8, name=name)
    if problem == "advection":
        if family == "deeponet":
            # branch m-256-256 (p = 256), trunk d_y-256x4: 274,177
            return build("deeponet", m=m, target_hidden=(256, 256, 256, 256), gen_hidden=(256,),
                         name=name)
        if family == "hyper":
            # hypernet m-70x5-N_theta, target d_y-33x4-1 (N_theta = 3466): 268,836
            return build("hyper", m=m, target_hidden=(33, 33, 33, 33), gen_hidden=(70,) * 5,
                         name=name)
        if family == "chunked_hyper":
            # same target; shared hypernet (m+8)-229x5-200 over 18 chunks: 268,045
            return build("chunked_hyper", m=m, target_hidden=(33, 33, 33, 33),
                         gen_hidden=(229,) * 5, chunk_size=200, d_z=8, name=name)
    if problem in ("burgers", "advection"):
        # Table 2 has only DeepONet and HyperDeepONet; the other families get the DeepONet
        # budget's shapes scaled to the HyperDeepONet target (not in the paper).
        return build(family, m=m, target_hidden=(20, 20, 20, 20), gen_hidden=(66,) * 5, name=name)
    raise ValueError(f"unknown problem {problem!r}")


def tiny(family: str, m: int, d_y: int = 1, d_out: int = 1, name: str = "") -> ModelConfig:
    """A tiny model (widths <= 16) for fixtures and smoke tests."""
    return build(family, m=m, d_y=d_y, d_out=d_out, target_hidden=(12, 8), gen_hidden=(16, 16),
                 aux_hidden=(8,), chunk_size=24, d_z=3, name=name or f"tiny-{family}")
