//! docs/EXPORT.md's examples are real: every complete TOML block parses and validates, and
//! there is one per family.

use hdon_tools::spec::Spec;
use std::collections::BTreeSet;

#[test]
fn every_complete_spec_example_in_export_md_validates() {
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
        let plan = Spec::parse(body)
            .and_then(|s| s.validate())
            .unwrap_or_else(|e| panic!("{e}\n{body}"));
        families.insert(plan.family.name());
        checked += 1;
    }
    assert_eq!(checked, 6);
    assert_eq!(families.len(), 6, "{families:?}");
}
