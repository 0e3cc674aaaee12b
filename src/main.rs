//! `modelauth` command-line entry point: a client of the library's `Gateway` API (see `cli/`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
