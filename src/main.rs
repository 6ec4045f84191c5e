//! The `runner` binary: parse arguments, run, print the final error, exit.
//!
//! Holds no logic; everything lives in the library.

use clap::Parser;

fn main() {
    let raw = runner::cli::RawCli::parse();
    let code = match runner::cli::Options::from_raw(raw).and_then(runner::app::run) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            e.exit_code()
        }
    };
    runner::db::discard_spare();
    std::process::exit(code);
}
