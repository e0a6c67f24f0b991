//! `hdon`: export, inspect, run, bench, verify and demo for operator-network models.
//! The subcommands live in `hdon_tools::commands`; this file is the command line.

use clap::{Parser, Subcommand};
use hdon_tools::commands;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hdon",
    version,
    about = "Convert, inspect, run and measure HyperDeepONet-family operator networks (.hdon files)",
    long_about = "Convert, inspect, run and measure HyperDeepONet-family operator networks.\n\n\
        A trained checkpoint (.safetensors or .npz) plus a model spec (TOML, docs/EXPORT.md) becomes one \
        .hdon file with `hdon export`; every other command reads .hdon files. Commands that print \
        figures take --json. Errors name the file, the tensor or field, expected vs found.",
    after_help = "Start with `hdon demo` (no arguments). Documentation: docs/CLI.md, docs/EXPORT.md.\n\
        Exit status: 0 on success, 1 on an error (printed as `error: ...`), 2 on a command-line \
        usage error (unknown option, missing or malformed value)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Convert a checkpoint + model spec into a .hdon file (validated, permuted, optionally quantized).
    #[command(
        after_help = "Example:\n  hdon export --spec model.toml --weights checkpoint.safetensors --dtype int8 \\\n      --check test.npz -o model-int8.hdon\n\n\
        The output must not be one of the inputs; it is written only when every check passed."
    )]
    Export(commands::export::Args),
    /// Show what is in a .hdon file: networks, parameters, FLOPs, workspace, metadata.
    #[command(after_help = "Example:\n  hdon inspect models/burgers/hyper/model-f32.hdon --json")]
    Inspect(commands::inspect::Args),
    /// Evaluate a model on input functions (rows) at query points; write .npy or .csv, optionally a plot.
    #[command(
        after_help = "Example:\n  hdon run model.hdon --sensors u.npy --points y.csv -o out.npy --truth t.npy --plot fig.png\n\n\
        Inputs are checked before the model runs; -o and --plot must not name an input file."
    )]
    Run(commands::run::Args),
    /// Measure generate and eval latency on this device (percentiles, points/s, GFLOP/s).
    #[command(
        after_help = "Example:\n  hdon bench model.hdon --points 10000 --iters 2000\n\n\
        Times are microseconds per call; use a release build (cargo build --release -p hdon-tools)."
    )]
    Bench(commands::bench::Args),
    /// Relative L2 error over a test set (.npz), or the difference between two models.
    #[command(
        after_help = "Example:\n  hdon verify model-int8.hdon --data test.npz --against model-f32.hdon"
    )]
    Verify(commands::verify::Args),
    /// Run every shipped model under models/ on its test set and print accuracy and latency.
    #[command(
        after_help = "Example:\n  hdon demo                      # models/ of this directory or of the source tree\n  \
        hdon demo --models my-models --plot my-demo.png --json"
    )]
    Demo(commands::demo::Args),
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`hdon inspect m.hdon | head`)
    // panicked with "failed printing to stdout". The default action ends the process quietly,
    // as for any command-line tool.
    #[cfg(unix)]
    // SAFETY: sets the disposition of one signal at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Export(a) => commands::export::run(a),
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Run(a) => commands::run::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Verify(a) => commands::verify::run(a),
        Command::Demo(a) => commands::demo::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
