//! YAML parsing that keeps line and column for every error, and reports every
//! item's errors at once.
//!
//! serde stops at the first error of a document. To report all mistakes of a file in
//! one run, a file is first parsed shallowly (each list item or map entry as a
//! `Node` that only records where it starts); each item is then parsed on its own from
//! a fragment of the text that keeps its original line and column, so errors in
//! several stages or columns are all found and all point at the right place.

use std::path::Path;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde_saphyr::{Error as YamlError, Location, Spanned};

use crate::diag::Diagnostic;

/// Reads a YAML file (`what` names it in messages): UTF-8, or UTF-16 by its byte order
/// mark. Other encodings (a GBK-saved file) are an error at the first line that is not
/// UTF-8, and an empty file is said to be one.
pub fn read_text(path: &Path, what: &str) -> Result<String, Diagnostic> {
    let bytes = std::fs::read(path).map_err(|e| Diagnostic::new(path, 0, 0, format!("cannot read {what}: {e}")))?;
    for (bom, charset) in [(b"\xFF\xFE", encoding_rs::UTF_16LE), (b"\xFE\xFF", encoding_rs::UTF_16BE)] {
        if let Some(body) = bytes.strip_prefix(bom) {
            return Ok(charset.decode_without_bom_handling(body).0.into_owned());
        }
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let before = &e.as_bytes()[..at];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
            let why = if e.as_bytes().contains(&0) {
                "it looks like UTF-16 without a byte order mark"
            } else {
                "GBK, perhaps"
            };
            let message = format!("{what} is not UTF-8 ({why}); save it as UTF-8");
            return Err(Diagnostic::new(path, line as u64, column as u64, message));
        }
    };
    if let Some(at) = text.find('\0') {
        let line = text[..at].matches('\n').count() + 1;
        let message =
            format!("{what} holds NUL bytes: it looks like UTF-16 without a byte order mark; save it as UTF-8");
        return Err(Diagnostic::new(path, line as u64, 0, message));
    }
    let text = text.strip_prefix('\u{FEFF}').map(str::to_string).unwrap_or(text);
    if text.trim().is_empty() {
        return Err(Diagnostic::new(path, 0, 0, format!("{what} is empty")));
    }
    Ok(text)
}

/// A YAML node whose content is parsed later, with [`Doc::parse_node`].
pub type Node = Spanned<IgnoredAny>;

/// The text of one YAML file and its path, for parsing and error locations.
pub struct Doc<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl<'a> Doc<'a> {
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        Doc { path, text }
    }

    /// Parses the whole document.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Diagnostic> {
        serde_saphyr::from_str(self.text).map_err(|e| self.diagnostic(&e))
    }

    /// Parses one block-style item that starts at `node`; errors keep their original position.
    pub fn parse_node<T: DeserializeOwned>(&self, node: &Node) -> Result<T, Diagnostic> {
        let fragment = fragment(self.text, &node.referenced);
        serde_saphyr::from_str(&fragment).map_err(|e| self.diagnostic(&e))
    }

    /// A diagnostic at a location of this document.
    pub fn at(&self, loc: &Location, message: impl Into<String>) -> Diagnostic {
        Diagnostic::at(self.path, loc, message)
    }

    fn diagnostic(&self, err: &YamlError) -> Diagnostic {
        let err = err.without_snippet();
        let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
        let diag = Diagnostic::new(self.path, line, column, message_of(err));
        match err {
            YamlError::SerdeUnknownField { field, expected, .. }
            | YamlError::SerdeUnknownVariant { variant: field, expected, .. } => {
                let known = expected.join(", ");
                diag.suggest(field, expected.iter().copied()).with_help_if_none(format!("expected one of: {known}"))
            }
            _ => diag,
        }
    }
}

impl Diagnostic {
    fn with_help_if_none(self, help: String) -> Self {
        if self.help.is_some() { self } else { self.with_help(help) }
    }
}

/// The error message without serde-saphyr's own location suffix and snippet.
fn message_of(err: &YamlError) -> String {
    match err {
        YamlError::SerdeUnknownField { field, .. } => format!("unknown key '{field}'"),
        YamlError::SerdeUnknownVariant { variant, expected, .. } if expected.contains(&"union") => {
            format!("unknown stage kind '{variant}'")
        }
        YamlError::SerdeUnknownVariant { variant, .. } => format!("unknown value '{variant}'"),
        YamlError::SerdeMissingField { field, .. } => format!("missing key '{field}'"),
        other => {
            let text = other.to_string();
            let first = text.lines().next().unwrap_or_default();
            let first = first.rfind(" at line ").map_or(first, |i| &first[..i]);
            // The parser's advice names an option of its own, not one of the file's.
            if let Some(rest) = first.strip_prefix("duplicate mapping key: ") {
                let key = rest.split(',').next().unwrap_or_default();
                return format!("duplicate key '{key}': a key may appear once in a mapping");
            }
            // A budget breach (an alias bomb, deep nesting) is worded in Rust's debug form.
            let breach =
                first.strip_prefix("budget breached: ").or(first.contains("recursion limit").then_some("Depth"));
            if let Some(breach) = breach {
                let what = breach.split([' ', '{']).next().unwrap_or_default().to_lowercase();
                return format!(
                    "the file is larger or deeper than a pipeline ever needs (limit on {what} reached); \
                     tally stops reading it there"
                );
            }
            // The parser's words for a value of the wrong form, in the file's terms.
            const PLAIN: [(&str, &str); 6] = [
                ("expected sequence start", "expected a list here"),
                ("expected mapping start", "expected a mapping (key: value lines) here"),
                ("invalid floating point", "expected a number here"),
                ("non-finite float", "expected a number here, not NaN or infinity"),
                ("invalid char", "expected one ASCII character here"),
                ("untagged enum Sheet", "expected a sheet name, or a 0-based sheet index"),
            ];
            match PLAIN.iter().find(|(parser, _)| first.contains(parser)) {
                Some((_, plain)) => plain.to_string(),
                None => first.to_string(),
            }
        }
    }
}

/// The text of the block node starting at `loc`, with everything before it blanked so
/// that line and column numbers stay those of the whole file. The node ends at the
/// first non-blank line indented less than its first character.
fn fragment(text: &str, loc: &Location) -> String {
    let (line, column) = (loc.line() as usize, loc.column() as usize);
    let mut lines = text.lines().skip(line.saturating_sub(1));
    let Some(first) = lines.next() else { return String::new() };
    let indent = column.saturating_sub(1);
    let mut out = "\n".repeat(line.saturating_sub(1));
    out.extend(std::iter::repeat_n(' ', indent));
    out.extend(first.chars().skip(indent));
    out.push('\n');
    for l in lines {
        let trimmed = l.trim_start();
        let blank = trimmed.is_empty() || trimmed.starts_with('#');
        if !blank && l.len() - trimmed.len() < indent {
            break;
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[allow(dead_code)]
        name: String,
        size: u32,
    }

    #[derive(Deserialize)]
    struct Top {
        items: Vec<Node>,
    }

    const TEXT: &str =
        "items:\n  - name: a\n    size: 1\n  - name: b\n    sise: 2\n  - name: c\n    size: lots\nafter: 1\n";

    #[test]
    fn each_item_reports_its_own_error_at_its_position() {
        let doc = Doc::new(Path::new("x.yaml"), TEXT);
        let top: Top = serde_saphyr::from_str(
            "items:\n  - name: a\n    size: 1\n  - name: b\n    sise: 2\n  - name: c\n    size: lots\n",
        )
        .unwrap();
        let results: Vec<Result<Item, Diagnostic>> = top.items.iter().map(|n| doc.parse_node(n)).collect();
        assert_eq!(results[0].as_ref().unwrap().size, 1);
        let typo = results[1].as_ref().unwrap_err();
        assert_eq!((typo.line, typo.column), (5, 5), "{typo}");
        assert_eq!(typo.help.as_deref(), Some("did you mean 'size'?"));
        let wrong_type = results[2].as_ref().unwrap_err();
        assert_eq!(wrong_type.line, 7, "{wrong_type}");
    }

    #[test]
    fn fragment_stops_at_dedent() {
        let loc = serde_saphyr::from_str::<Top>(TEXT.trim_end_matches("after: 1\n")).unwrap().items[2].referenced;
        let f = fragment(TEXT, &loc);
        assert!(f.ends_with("    name: c\n    size: lots\n"), "{f:?}");
        assert!(!f.contains("after"));
    }
}
