//! Plain numeric CSV: one row per line, values separated by commas (or blanks). Lines starting
//! with `#` and blank lines are skipped; a first line that is not numeric is taken as a header
//! and skipped. Every row must have the same number of values.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// Parses CSV text into `(rows, cols, row-major values)`. `what` names the source in errors.
pub fn parse_csv(text: &str, what: &str) -> Result<(usize, usize, Vec<f32>)> {
    let mut data = Vec::new();
    let mut cols = None;
    let mut rows = 0;
    let mut first = true;
    for (lineno, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect();
        let parsed: Result<Vec<f32>, _> = fields.iter().map(|s| s.parse::<f32>()).collect();
        let values = match parsed {
            Ok(v) => v,
            Err(_) if first => {
                first = false;
                continue;
            }
            Err(_) => {
                let bad = fields
                    .iter()
                    .find(|s| s.parse::<f32>().is_err())
                    .unwrap_or(&"");
                bail!("{what}: line {}: '{bad}' is not a number", lineno + 1);
            }
        };
        first = false;
        match cols {
            None => cols = Some(values.len()),
            Some(c) if c != values.len() => {
                bail!(
                    "{what}: line {}: expected {c} values (as in the first row), found {}",
                    lineno + 1,
                    values.len()
                )
            }
            Some(_) => {}
        }
        data.extend_from_slice(&values);
        rows += 1;
    }
    match cols {
        Some(c) => Ok((rows, c, data)),
        None => bail!("{what}: no numeric rows"),
    }
}

/// Reads a CSV file (see [`parse_csv`]).
pub fn read_csv(path: &Path) -> Result<(usize, usize, Vec<f32>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_csv(&text, &path.display().to_string())
}

/// Formats `rows x cols` row-major values as CSV (shortest round-trip decimal per value).
pub fn format_csv(cols: usize, data: &[f32]) -> String {
    let mut out = String::with_capacity(data.len() * 12);
    for row in data.chunks(cols.max(1)) {
        let line: Vec<String> = row.iter().map(|x| x.to_string()).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_comments_and_separators() {
        let (r, c, d) = parse_csv("# comment\nx,y\n1,2\n3 4\n\n5;6\n", "t").unwrap();
        assert_eq!((r, c), (3, 2));
        assert_eq!(d, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn ragged_rows_and_bad_values_are_errors() {
        let e = parse_csv("1,2\n3\n", "u.csv").unwrap_err().to_string();
        assert!(
            e.contains("u.csv") && e.contains("expected 2 values") && e.contains("found 1"),
            "{e}"
        );
        let e = parse_csv("1,2\n3,x\n", "u.csv").unwrap_err().to_string();
        assert!(e.contains("'x'"), "{e}");
        assert!(parse_csv("# only\n", "u.csv").is_err());
    }

    #[test]
    fn format_round_trips() {
        let d = [0.1f32, -2.0, 1e-9, 3.5];
        let (r, c, back) = parse_csv(&format_csv(2, &d), "t").unwrap();
        assert_eq!((r, c), (2, 2));
        assert_eq!(back, d);
    }
}
