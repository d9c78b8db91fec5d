//! Configuration: pipeline and schema files, parsed and validated before any data is read.

mod pipeline;
mod schema;
mod source;
pub mod yaml;

pub use pipeline::{Pipeline, REJECTS_TABLE, Source, WorkbookConfig, load_pipeline};
pub use schema::{ColumnSpec, ColumnType, Scalar, Schema, load_schema};
pub use source::{Encoding, Format, Sheet, SourceConfig};

/// The form of a header or alias used for matching: trimmed, full-width folded to
/// half-width, inner whitespace collapsed, lower-cased.
pub fn header_key(s: &str) -> String {
    let folded: String = s
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| !matches!(c, '\u{FEFF}' | '\u{200B}'..='\u{200D}'))
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_key_folds_width_case_and_space() {
        assert_eq!(super::header_key(" Customer  Code "), "customer code");
        assert_eq!(super::header_key("ＣＵＳＴＯＭＥＲ　ＣＯＤＥ"), "customer code");
        assert_eq!(super::header_key("\u{FEFF}客户编码"), "客户编码");
    }
}
