//! Integration tests: whole pipelines run through the `tally` binary on fixtures.

mod check;
mod clean;
mod dedup;
mod malformed;
mod pipelines;
mod util;
