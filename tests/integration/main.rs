//! Integration tests: whole pipelines run through the `tally` binary on fixtures.

mod check;
mod clean;
mod contract;
mod corpus;
mod dedup;
mod golden;
mod hostile;
mod ledger;
mod malformed;
mod pipelines;
mod stream;
mod util;
