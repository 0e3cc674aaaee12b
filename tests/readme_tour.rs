//! The README's tour runs as printed: the demo chat transcript is the real output, and each command of
//! the terminal tour works on a fresh state directory.

use assert_cmd::Command;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The first fenced block after `marker`.
fn block_after(text: &str, marker: &str) -> String {
    let rest = &text[text.find(marker).expect(marker)..];
    let start = rest.find("```text\n").unwrap() + "```text\n".len();
    rest[start..start + rest[start..].find("```").unwrap()].to_owned()
}

#[test]
fn the_demo_transcript_is_what_chat_demo_prints() {
    let block = block_after(&readme(), "The demo chat");
    let input: String = block
        .lines()
        .filter_map(|l| l.strip_prefix("> "))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = Command::cargo_bin("modelauth")
        .unwrap()
        .env_clear()
        .env("NO_COLOR", "1")
        .args(["chat", "--demo"])
        .write_stdin(input)
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    let mut at = 0;
    for expected in block
        .lines()
        .filter(|l| !l.starts_with("> ") && *l != "..." && !l.is_empty())
    {
        // Relative times ("exp 20h", "cooldown 4m") are the demo's own, made at start: stable.
        let found = printed[at..].find(expected).unwrap_or_else(|| {
            panic!("README line not printed (in order): {expected:?}\n{printed}")
        });
        at += found + expected.len();
    }
}

#[test]
fn the_terminal_tour_runs_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    let block = block_after(&readme(), "Credentials from a terminal");
    let commands: Vec<&str> = block
        .lines()
        .filter_map(|l| l.strip_prefix("$ modelauth "))
        .collect();
    assert!(commands.len() >= 6, "{block}");
    for line in commands {
        let line = line.split('#').next().unwrap().trim();
        let (line, echo) = match line.strip_suffix("; echo $?") {
            Some(l) => (l, true),
            None => (line, false),
        };
        let stdin = if line.contains("auth add") {
            "sk-ant-api03-TOURKEY000000\n"
        } else if line.contains("paste-token") {
            "sk-ant-oat01-TOURTOKEN00000\n"
        } else {
            ""
        };
        let out = Command::cargo_bin("modelauth")
            .unwrap()
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("NO_COLOR", "1")
            .arg("--state-dir")
            .arg(dir.path())
            .args(line.split_whitespace())
            .write_stdin(stdin)
            .output()
            .unwrap();
        let code = out.status.code();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if echo {
            // The README prints the exit code: a token expiring within 24 h makes it 2.
            assert_eq!(code, Some(2), "{line}: {stdout}");
            assert!(
                stdout.contains("[anthropic] (in use) next: profile anthropic:manual")
                    && stdout
                        .contains("Check: profile anthropic:manual expires within 24 hours (at "),
                "{stdout}"
            );
        } else {
            assert_eq!(
                code,
                Some(0),
                "{line}: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        if line.starts_with("resolve") {
            for l in block
                .lines()
                .skip_while(|l| !l.contains("$ modelauth resolve"))
                .skip(1)
            {
                if l.starts_with('$') {
                    break;
                }
                assert!(
                    stdout.contains(l),
                    "README says {l:?}, resolve printed:\n{stdout}"
                );
            }
        }
    }
}

#[test]
fn every_section_the_code_cites_is_in_the_rules_page() {
    let rules =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/rules.md")).unwrap();
    let mut cited = std::collections::BTreeSet::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for (i, _) in text.match_indices("SPEC §") {
                    let n: String = text[i + "SPEC §".len()..]
                        .chars()
                        .take_while(char::is_ascii_digit)
                        .collect();
                    cited.insert(n);
                }
            }
        }
    }
    assert!(!cited.is_empty());
    for n in cited {
        assert!(
            rules.contains(&format!("\n## §{n} ")),
            "SPEC §{n} is cited in the code but not in docs/rules.md"
        );
    }
}
