use std::process::ExitCode;

/// Cleaning allocates many small strings from several threads; jemalloc handles that
/// far better than the system allocator (Polars ships it too).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc keeps the pages it freed, in one arena for every thread: a stream's next
/// batch (and the next stage) reuses them instead of having the kernel zero fresh
/// pages. At 1M customers × 20M invoices that cut system time 29 → 7 s and the run
/// 58 → 40 s, and the peak went 5.7 → 6.7 GB (BENCHMARKS.md). Buffers of 8 MiB and
/// more too (`oversize_threshold:0`): jemalloc otherwise serves them from an arena of
/// their own that hands them back to the kernel at once, so the next table's columns
/// took fresh pages; the customer-value chain's peak went 16.1 → 13.8 GB.
/// `_RJEM_MALLOC_CONF` still overrides it.
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"dirty_decay_ms:-1,muzzy_decay_ms:-1,narenas:1,oversize_threshold:0\0";

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
