//! The CSV path: encoding detection, header search and mapping, splitting, casting.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the options, so that the declared and detected paths both run.
    let (options, body) = match data.split_first() {
        Some((b, rest)) if b % 3 == 0 => ("    encoding: gbk\n", rest),
        Some((b, rest)) if b % 3 == 1 => ("    delimiter: \";\"\n    header_row: 2\n", rest),
        _ => ("", data),
    };
    common::load_source("data.csv", body, options);
});
