//! `modelauth` command-line entry point; everything lives in `modelauth::cli`.

fn main() -> std::process::ExitCode {
    modelauth::cli::main()
}
