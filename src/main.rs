use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tally::cli::Cli::parse();
    match tally::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(err.exit_code())
        }
    }
}
