//! The house limits (issue 33), checked with every test run: no file in `src/` over 600 lines and
//! no function over 80, outside tests (`scripts/lengths.py` counts them), and no two files that
//! import from each other (`scripts/cycles.py`).

/// Runs `scripts/<script>` over the repository's `src/` and asserts it passed, saying `verdict`.
fn script_passes(script: &str, verdict: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(root.join("scripts").join(script))
        .output()
        .unwrap_or_else(|e| panic!("python3 runs scripts/{script}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "scripts/{script}:\n{text}");
    assert!(text.contains(verdict), "{text}");
}

#[test]
fn files_and_functions_stay_within_the_limits() {
    script_passes("lengths.py", "within the limits");
}

#[test]
fn no_two_files_import_from_each_other() {
    script_passes("cycles.py", "no two-file import cycles");
}
