//! The docs' examples are real:
//! - every complete TOML block of docs/EXPORT.md parses, validates and exports from a checkpoint
//!   named as the page's "Tensor names" table says, and there is one per family;
//! - every `hdon` command line in the docs uses options the binary has, and docs/CLI.md's
//!   synopsis lists them all;
//! - docs/CLI.md's export, inspect, run and verify examples run as written and print the lines
//!   shown (figures aside: their last digits depend on the machine's kernel path).

use hdon_tools::checkpoint::Checkpoint;
use hdon_tools::export::{export_with, ThetaLayout};
use hdon_tools::npy::Array;
use hdon_tools::quantize::WeightDtype;
use hdon_tools::spec::Spec;
use std::collections::BTreeSet;

#[test]
fn every_complete_spec_example_in_export_md_validates_and_exports() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/EXPORT.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut families = BTreeSet::new();
    let mut blocks = text.split("```toml\n").skip(1);
    let mut checked = 0;
    for block in &mut blocks {
        let body = block.split("```").next().unwrap();
        if !body.contains("[sensors]") {
            continue; // the annotated [model] fragment
        }
        let spec = Spec::parse(body).unwrap_or_else(|e| panic!("{e}\n{body}"));
        let plan = spec.validate().unwrap_or_else(|e| panic!("{e}\n{body}"));
        // It exports from a checkpoint whose tensors are named and laid out as the page says.
        let ckpt = checkpoint_as_documented(&spec);
        let out = export_with(&plan, &ckpt, WeightDtype::F32, ThetaLayout::Rows)
            .unwrap_or_else(|e| panic!("{e:#}\n{body}"));
        assert!(out.unused.is_empty(), "unused {:?}\n{body}", out.unused);
        hdon_format::ModelFile::parse(&hdon_format::AlignedBytes::from_slice(&out.bytes)).unwrap();
        families.insert(plan.family.name());
        checked += 1;
    }
    assert_eq!(checked, 6);
    assert_eq!(families.len(), 6, "{families:?}");
}

/// The checkpoint name of layer `i`'s weight or bias in network `role`, as docs/EXPORT.md's
/// "Tensor names" table spells it for each preset.
fn documented_name(preset: &str, role: &str, i: usize, weight: bool) -> String {
    match (preset, weight) {
        ("hdon", true) => format!("{role}.{i}.weight"),
        ("hdon", false) => format!("{role}.{i}.bias"),
        ("torch_sequential", true) => format!("{role}_net.{}.weight", 2 * i),
        ("torch_sequential", false) => format!("{role}_net.{}.bias", 2 * i),
        ("flax", true) => format!("{role}/Dense_{i}/kernel"),
        ("flax", false) => format!("{role}/Dense_{i}/bias"),
        _ => panic!("preset {preset} is not in docs/EXPORT.md"),
    }
}

/// A checkpoint for `spec` with small arbitrary values: every layer of every network (weights
/// `[out, in]`, or `[in, out]` for layout `in_out`, the default of preset `flax`), `b0` and
/// `chunk_embeddings` where the spec has them, under the names of the spec's preset unless its
/// `[tensors]` table renames the slot.
fn checkpoint_as_documented(spec: &Spec) -> Checkpoint {
    let m = &spec.model;
    let default_layout = if m.preset == "flax" {
        "in_out"
    } else {
        "out_in"
    };
    let in_out = m.layout.as_deref().unwrap_or(default_layout) == "in_out";
    let mut seed = 1u32;
    let mut values = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 8) as f32 / (1u32 << 24) as f32 * 0.2 - 0.1
            })
            .collect()
    };
    let mut tensors = std::collections::BTreeMap::new();
    let mut put = |slot: String, name: String, shape: Vec<usize>, data: Vec<f32>| {
        let name = spec.tensors.get(&slot).cloned().unwrap_or(name);
        let a = Array {
            shape,
            data,
            stored_dtype: "float32",
        };
        assert!(tensors.insert(name.clone(), a).is_none(), "{name} twice");
    };
    for (role, net) in &spec.networks {
        for (i, w) in net.sizes.windows(2).enumerate() {
            let (n_in, n_out) = (w[0] as usize, w[1] as usize);
            let shape = if in_out {
                vec![n_in, n_out]
            } else {
                vec![n_out, n_in]
            };
            let weight = documented_name(&m.preset, role, i, true);
            put(
                format!("{role}.{i}.weight"),
                weight,
                shape,
                values(n_in * n_out),
            );
            let bias = documented_name(&m.preset, role, i, false);
            put(format!("{role}.{i}.bias"), bias, vec![n_out], values(n_out));
        }
    }
    if m.b0 {
        let d_out = m.d_out as usize;
        put("b0".into(), "b0".into(), vec![d_out], values(d_out));
    }
    if let Some(c) = &spec.chunks {
        let shape = vec![c.n_chunks as usize, c.d_z as usize];
        let n = shape[0] * shape[1];
        let name = "chunk_embeddings".to_string();
        put(name.clone(), name, shape, values(n));
    }
    Checkpoint {
        path: "docs/EXPORT.md example".into(),
        tensors,
    }
}

/// The repository root.
fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read_doc(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The bodies of the fenced code blocks of a markdown text, with the fence's info string.
fn code_blocks(text: &str) -> Vec<(String, Vec<String>)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, Vec<String>)> = None;
    for line in text.lines() {
        if let Some(info) = line.strip_prefix("```") {
            match open.take() {
                Some(b) => blocks.push(b),
                None => open = Some((info.trim().to_string(), Vec::new())),
            }
        } else if let Some((_, body)) = open.as_mut() {
            body.push(line.to_string());
        }
    }
    blocks
}

/// One `$ hdon ...` example: its arguments (continuation lines joined, `# comment` cut) and the
/// lines the doc shows as its output.
struct Example {
    args: Vec<String>,
    output: Vec<String>,
}

fn examples(text: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    for (_, body) in code_blocks(text) {
        let mut lines = body.iter().peekable();
        let mut current: Option<Example> = None;
        while let Some(line) = lines.next() {
            if let Some(cmd) = line.strip_prefix("$ ") {
                out.extend(current.take());
                let mut cmd = cmd.to_string();
                while cmd.ends_with('\\') {
                    cmd.pop();
                    cmd.push(' ');
                    cmd.push_str(lines.next().expect("continuation line"));
                }
                let cmd = cmd.split(" #").next().unwrap();
                let args: Vec<String> = cmd.split_whitespace().map(String::from).collect();
                assert_eq!(args[0], "hdon", "{cmd}");
                current = Some(Example {
                    args: args[1..].to_vec(),
                    output: Vec::new(),
                });
            } else if let Some(e) = current.as_mut() {
                e.output.push(line.clone());
            }
        }
        out.extend(current);
    }
    out
}

/// A line with every number replaced by `#` and runs of blanks by one blank: what must agree
/// between the doc and the program (the figures depend on the machine and its kernel path).
fn skeleton(line: &str) -> String {
    let numeric = |c: char| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-');
    let mut out = String::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if numeric(chars[i]) {
            let start = i;
            while i < chars.len() && numeric(chars[i]) {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            if run.chars().any(|c| c.is_ascii_digit()) {
                out.push('#');
            } else {
                out.push_str(&run);
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a program line matches a doc line (`...` in the doc stands for any text).
fn matches_doc(doc: &str, got: &str) -> bool {
    let (doc, got) = (skeleton(doc), skeleton(got));
    let parts: Vec<&str> = doc.split("...").collect();
    if parts.len() == 1 {
        return doc == got;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !got.starts_with(first) || !got.ends_with(last) || got.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &got[first.len()..got.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(k) => rest = &rest[k + part.len()..],
            None => return false,
        }
    }
    true
}

/// The `--help` text of `hdon <command>`.
fn help_of(command: &str) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hdon"))
        .args([command, "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "hdon {command} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// The options (`--name`, `-o`) a documented command line uses.
fn options_in(args: &str) -> Vec<String> {
    args.split(|c: char| c.is_whitespace() || c == '[' || c == ']')
        .map(|t| t.trim_end_matches([',', '.', ')', ':']))
        .filter(|t| {
            t.starts_with('-') && t.len() > 1 && !t[1..].starts_with(|c: char| c.is_ascii_digit())
        })
        .map(|t| t.split('=').next().unwrap().to_string())
        .collect()
}

fn has_option(help: &str, option: &str) -> bool {
    help.match_indices(option).any(|(k, _)| {
        let next = help[k + option.len()..].chars().next();
        let prev = help[..k].chars().last();
        !next.is_some_and(|c| c.is_alphanumeric() || c == '-')
            && !prev.is_some_and(|c| c.is_alphanumeric() || c == '-')
    })
}

/// Every `hdon <command> ...` line of the docs' shell examples and of the synopsis in
/// docs/CLI.md uses options that `hdon <command> --help` lists, and the synopsis lists every
/// option of every command.
#[test]
fn documented_command_lines_use_existing_options() {
    const COMMANDS: [&str; 6] = ["export", "inspect", "run", "bench", "verify", "demo"];
    let helps: Vec<(&str, String)> = COMMANDS.iter().map(|&c| (c, help_of(c))).collect();
    let help = |c: &str| &helps.iter().find(|(n, _)| *n == c).unwrap().1;
    let mut lines: Vec<(String, String)> = Vec::new(); // (where, "hdon <command> ...")
    for doc in [
        "README.md",
        "docs/CLI.md",
        "docs/EXPORT.md",
        "docs/TRAINING.md",
        "docs/REPRODUCTION.md",
    ] {
        for (info, body) in code_blocks(&read_doc(doc)) {
            // In a block with `$ ` prompts only those lines are commands (the rest is output).
            let prompts = body.iter().any(|l| l.starts_with("$ "));
            let mut i = 0;
            while i < body.len() {
                let line = match body[i].strip_prefix("$ ") {
                    Some(l) => l,
                    None if prompts => "",
                    None => body[i].as_str(),
                };
                if let Some(rest) = line.strip_prefix("hdon ") {
                    let mut cmd = format!("hdon {rest}");
                    // Shell continuations, and the synopsis' indented continuation lines.
                    while i + 1 < body.len()
                        && (cmd.ends_with('\\')
                            || (info.is_empty() && body[i + 1].starts_with("    ")))
                    {
                        i += 1;
                        cmd = format!("{} {}", cmd.trim_end_matches('\\'), body[i].trim());
                    }
                    lines.push((doc.to_string(), cmd.split(" #").next().unwrap().to_string()));
                }
                i += 1;
            }
        }
    }
    let mut synopsis: Vec<(String, String)> = Vec::new();
    for (doc, cmd) in &lines {
        let mut words = cmd.split_whitespace().skip(1);
        let command = words.next().unwrap_or("");
        assert!(
            COMMANDS.contains(&command),
            "{doc}: unknown command in `{cmd}`"
        );
        let rest: Vec<&str> = words.collect();
        for option in options_in(&rest.join(" ")) {
            assert!(
                has_option(help(command), &option),
                "{doc}: `{cmd}` uses {option}, which `hdon {command} --help` does not list"
            );
        }
        synopsis.push((command.to_string(), cmd.clone()));
    }
    assert!(
        lines.len() >= 20,
        "found only {} command lines",
        lines.len()
    );
    // The synopsis block (the first block of docs/CLI.md) names every option.
    let cli = read_doc("docs/CLI.md");
    let (_, first) = &code_blocks(&cli)[0];
    let first = first.join("\n");
    for (command, help) in &helps {
        let block: String = first
            .split("\nhdon ")
            .find(|s| s.trim_start_matches("hdon ").starts_with(command))
            .unwrap_or_else(|| panic!("docs/CLI.md synopsis has no `hdon {command}`"))
            .to_string();
        for option in options_in(help) {
            if option == "--help" || option == "-h" || !help.contains(&format!("  {option}")) {
                continue;
            }
            assert!(
                has_option(&block, &option),
                "docs/CLI.md synopsis of `hdon {command}` lacks {option}"
            );
        }
    }
}

/// docs/CLI.md's examples of export, inspect, run and verify (on the hyper fixture) run as
/// written, in order, from a directory that looks like the repository root, and print the
/// lines the doc shows, figures aside.
#[cfg(unix)]
#[test]
fn cli_md_examples_print_what_the_doc_shows() {
    use hdon_tools::npy;
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root().join("tests"), dir.path().join("tests")).unwrap();
    // The arrays docs/CLI.md writes with numpy before its `hdon run` example.
    let golden = npy::read_npz(&root().join("tests/fixtures/hyper/golden.npz")).unwrap();
    let (u, y, t) = (&golden["sensors"], &golden["points"], &golden["outputs"]);
    std::fs::write(dir.path().join("u.npy"), npy::encode_npy(&u.shape, &u.data)).unwrap();
    let csv: String = y.data.iter().map(|v| format!("{v:e}\n")).collect();
    std::fs::write(dir.path().join("y.csv"), csv).unwrap();
    std::fs::write(dir.path().join("t.npy"), npy::encode_npy(&t.shape, &t.data)).unwrap();

    let cli = read_doc("docs/CLI.md");
    let mut ran = BTreeSet::new();
    for e in examples(&cli) {
        let command = e.args[0].as_str();
        if !["export", "inspect", "run", "verify"].contains(&command) {
            continue; // bench and demo: timings (their options are checked above)
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hdon"))
            .args(&e.args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let shown = format!("hdon {}", e.args.join(" "));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "`{shown}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            got.len(),
            e.output.len(),
            "`{shown}` printed {} lines, docs/CLI.md shows {}:\n{stdout}",
            got.len(),
            e.output.len()
        );
        for (d, g) in e.output.iter().zip(&got) {
            assert!(
                matches_doc(d, g),
                "`{shown}`:\n doc: {d}\n got: {g}\n (compared as:\n doc: {}\n got: {})",
                skeleton(d),
                skeleton(g)
            );
        }
        ran.insert(command.to_string());
    }
    assert_eq!(ran.len(), 4, "ran examples of {ran:?}");
}

#[test]
fn skeletons_hide_figures_but_not_words() {
    assert_eq!(
        skeleton("hyper.hdon   mean 5.5400e-7  std 1.9187e-7 (function 0)"),
        "hyper.hdon mean # std # (function #)"
    );
    assert_eq!(skeleton("hdon -0.05339125 vs"), "hdon # vs");
    assert!(matches_doc(
        "dataset '...', test #",
        "dataset 'x y', test 0.4"
    ));
    assert!(!matches_doc(
        "dataset '...', test #",
        "dataset 'x y', train 0.4"
    ));
    assert!(!matches_doc("worst 1 (function 0)", "worst 1 (point 0)"));
}
