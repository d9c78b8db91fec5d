//! Diagnostics: messages that point at a file, line and column, so editors can click them.

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
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        write!(f, ": error: {}", self.message)?;
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

/// All diagnostics of one check, rendered one per line.
pub fn render(diags: &[Diagnostic]) -> String {
    diags.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n")
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
    fn renders_clickable_location() {
        let d = Diagnostic::new(Path::new("p.yaml"), 3, 7, "unknown key 'fitler'").with_help("did you mean 'filter'?");
        assert_eq!(d.to_string(), "p.yaml:3:7: error: unknown key 'fitler'\n  help: did you mean 'filter'?");
    }
}
