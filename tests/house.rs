//! The house limits (issue 33), checked with every test run: no file in `src/` over 600 lines and
//! no function over 80, outside tests (`scripts/lengths.py` counts them), and no two files that
//! import from each other (`scripts/cycles.py`).

#[test]
fn files_and_functions_stay_within_the_limits() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts/lengths.py"))
        .arg(root.join("src"))
        .output()
        .expect("python3 runs scripts/lengths.py");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "over the limits:\n{text}");
    assert!(text.contains("within the limits"), "{text}");
}

/// No two files in `src/` import from each other (`scripts/cycles.py`).
#[test]
fn no_two_files_import_from_each_other() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts/cycles.py"))
        .output()
        .expect("python3 runs scripts/cycles.py");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "two-file cycles:\n{text}");
    assert!(text.contains("no two-file import cycles"), "{text}");
}
