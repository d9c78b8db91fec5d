//! The XLSX path: the zip container, the sheet XML, shared strings, header search.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::load_source("data.xlsx", data, "");
});
