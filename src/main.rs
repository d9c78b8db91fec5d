use std::process::ExitCode;

/// Cleaning allocates many small strings from several threads; jemalloc handles that
/// far better than the system allocator (Polars ships it too).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use clap::Parser;

fn main() -> ExitCode {
    let cli = tally::cli::Cli::parse();
    // Panics become errors with a message (see `catch_panic`), never a backtrace.
    std::panic::set_hook(Box::new(|_| {}));
    match std::panic::catch_unwind(|| tally::cli::run(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            eprintln!("{err}");
            ExitCode::from(err.exit_code())
        }
        Err(payload) => {
            eprintln!("internal error: {}", tally::error::panic_message(&*payload));
            ExitCode::from(1)
        }
    }
}
