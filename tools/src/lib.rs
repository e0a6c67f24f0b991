//! hdon-tools: the library behind the `hdon` command. It reads checkpoints and model specs,
//! builds `.hdon` files through `hdon-format`'s writer, and runs them through `hdon-runtime`.
//! It contains no numeric kernel: every model evaluation goes through the runtime.
//!
//! Modules: [`spec`] (the TOML model spec), [`checkpoint`] (.safetensors / .npz weights),
//! [`npy`] and [`csv`] (arrays), [`preset`] (checkpoint tensor names), [`quantize`]
//! (f16/bf16/int8 weights), [`export`] (the stored layout transforms and the file build),
//! [`testset`] (test data and error statistics), [`model_file`] (loading and running models),
//! [`plot`] (PNG figures) and [`commands`] (one module per subcommand).

pub mod checkpoint;
pub mod commands;
pub mod csv;
pub mod export;
pub mod model_file;
pub mod npy;
pub mod plot;
pub mod preset;
pub mod quantize;
pub mod spec;
pub mod testset;
