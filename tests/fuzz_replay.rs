//! Replays the committed fuzz corpus through the same invariants as the fuzz target.

use crate::fuzz_input;

#[test]
fn committed_fuzz_corpus_keeps_invariants() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory") {
        let path = entry.expect("corpus entry").path();
        let data = std::fs::read(&path).expect("corpus file");
        if let Some((aliases, message)) = fuzz_input::split_input(&data) {
            fuzz_input::check_invariants(message, &aliases);
        }
        replayed += 1;
    }
    assert!(
        replayed >= 50,
        "expected a seed corpus of at least 50 files, found {replayed}"
    );
}
