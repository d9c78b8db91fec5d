//! Diagnostics: messages that point at a file, line and column, so editors can click
//! them, rendered with the line of the file and a caret under the place, as rustc does.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem found in a pipeline or schema file, or in an input file.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: u64,
    pub column: u64,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &Path, line: u64, column: u64, message: impl Into<String>) -> Self {
        Diagnostic { file: file.to_path_buf(), line, column, message: message.into(), help: None }
    }

    pub fn at(file: &Path, loc: &serde_saphyr::Location, message: impl Into<String>) -> Self {
        Self::new(file, loc.line(), loc.column(), message)
    }

    /// `file:line:col`, or the file alone when the problem concerns all of it.
    pub fn location(&self) -> String {
        if self.line > 0 {
            format!("{}:{}:{}", self.file.display(), self.line, self.column)
        } else {
            self.file.display().to_string()
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds "did you mean" when `word` is a near miss of one of `candidates`.
    pub fn suggest<'a>(self, word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Self {
        match did_you_mean(word, candidates) {
            Some(best) => self.with_help(format!("did you mean '{best}'?")),
            None => self,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: error: {}", self.location(), self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// The closest candidate by normalized Levenshtein similarity, if it is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (rapidfuzz::distance::levenshtein::normalized_similarity(word.chars(), c.chars()), c))
        .filter(|(score, _)| *score >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// What an identifier may be, for the help of a diagnostic that refuses one.
pub const IDENTIFIER_HELP: &str = "use letters, digits and '_', not starting with a digit, at most 128 bytes";

/// Whether a name may name a table, a source or a pipeline: letters (any script),
/// digits and `_`, not starting with a digit. Such a name never becomes a path
/// outside the folder it is joined to.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    let first = chars.next().is_some_and(|c| c == '_' || c.is_alphabetic());
    first && s.len() <= 128 && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// All diagnostics of one check, each with its source line and a caret.
pub fn render(diags: &[Diagnostic]) -> String {
    let mut sources: std::collections::HashMap<&Path, Option<String>> = Default::default();
    let rendered: Vec<String> = diags
        .iter()
        .map(|d| {
            let text = sources.entry(&d.file).or_insert_with(|| std::fs::read_to_string(&d.file).ok());
            d.render(text.as_deref())
        })
        .collect();
    rendered.join("\n")
}

impl Diagnostic {
    /// The message, and the file's line under it with the place marked when `text`
    /// (the file's content) has that line.
    pub fn render(&self, text: Option<&str>) -> String {
        use annotate_snippets::{AnnotationKind, Level, Origin, Renderer, Snippet};
        let title = Level::ERROR.primary_title(&self.message);
        let path = self.file.display().to_string();
        let span = text.and_then(|t| span_at(t, self.line, self.column));
        let group = match (text, span) {
            (Some(text), Some(span)) => title
                .element(Snippet::source(text).path(path).fold(true).annotation(AnnotationKind::Primary.span(span))),
            _ => title.element(Origin::path(self.location())),
        };
        let group = match &self.help {
            Some(help) => group.element(Level::HELP.message(help)),
            None => group,
        };
        Renderer::plain().render(&[group])
    }
}

/// The byte range of the token at a 1-based line and column (in characters): a quoted
/// scalar to its closing quote, else up to the next `:`, `,`, bracket or comment.
fn span_at(text: &str, line: u64, column: u64) -> Option<std::ops::Range<usize>> {
    let line_start: usize = text.split_inclusive('\n').take(line.checked_sub(1)? as usize).map(str::len).sum();
    let line_text = text[line_start..].lines().next()?;
    let at = line_text.char_indices().nth(column.checked_sub(1)? as usize).map_or(line_text.len(), |(i, _)| i);
    let rest = &line_text[at..];
    let len = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => rest[1..].find(q).map_or(rest.len(), |i| i + 2),
        _ => rest.find([':', ',', ']', '}', '#']).unwrap_or(rest.len()),
    };
    let start = line_start + at;
    // At least one character is marked, even at the end of a line.
    Some(start..(start + rest[..len].trim_end().len().max(1)).min(text.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["input", "output", "where"];
        assert_eq!(did_you_mean("ouptut", keys), Some("output"));
        assert_eq!(did_you_mean("wher", keys), Some("where"));
        assert_eq!(did_you_mean("banana", keys), None);
    }

    #[test]
    fn identifiers_cannot_be_paths() {
        for ok in ["customers", "golden_customers_map", "_x1", "客户"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", ".", "..", "../x", "a/b", "/tmp/x", "1st", "a b", "a.b", "a\\b", "a\0b"] {
            assert!(!is_identifier(bad), "{bad}");
        }
        // A file name holds 255 bytes; 100 Chinese characters are 300.
        assert!(is_identifier(&"长".repeat(42)) && !is_identifier(&"长".repeat(43)));
    }

    #[test]
    fn renders_the_line_with_a_caret_under_the_token() {
        let text = "name: p\nstagess:\n  - x\n";
        let d = Diagnostic::new(Path::new("p.yaml"), 2, 1, "unknown key 'stagess'").with_help("did you mean 'stages'?");
        let out = d.render(Some(text));
        assert!(out.starts_with("error: unknown key 'stagess'\n"), "{out}");
        assert!(out.contains("--> p.yaml:2:1"), "{out}");
        assert!(out.contains("2 | stagess:\n  | ^^^^^^^"), "{out}");
        assert!(out.contains("help: did you mean 'stages'?"), "{out}");
        let quoted = Diagnostic::new(Path::new("p.yaml"), 1, 8, "bad").render(Some("where: \"a = 'x'\" # c\n"));
        assert!(quoted.trim_end().ends_with("|        ^^^^^^^^^"), "the quoted value, not the comment: {quoted}");
    }

    #[test]
    fn renders_clickable_location() {
        let d = Diagnostic::new(Path::new("p.yaml"), 3, 7, "unknown key 'fitler'").with_help("did you mean 'filter'?");
        assert_eq!(d.to_string(), "p.yaml:3:7: error: unknown key 'fitler'\n  help: did you mean 'filter'?");
    }
}
