//! Maps export headers (客户编码, Customer Code, KUNNR ...) to a schema's canonical columns.

use crate::config::{Schema, header_key};

/// Which header feeds which schema column.
#[derive(Debug, Clone, PartialEq)]
pub struct HeaderMap {
    /// For each schema column, the index of the header that feeds it, if any.
    pub sources: Vec<Option<usize>>,
    /// Headers that no schema column claims, kept in the manifest.
    pub unmapped: Vec<String>,
}

impl HeaderMap {
    /// How many schema columns a header row feeds; used to find the header row.
    pub fn matched(&self) -> usize {
        self.sources.iter().flatten().count()
    }
}

/// Matches headers to columns by name or alias, trimmed and width- and case-insensitive.
/// When two headers match one column the first wins and the second is listed as unmapped.
pub fn map_headers(headers: &[String], schema: &Schema) -> HeaderMap {
    let keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();
    let mut taken = vec![false; headers.len()];
    let sources = schema
        .columns
        .iter()
        .map(|c| {
            let names: Vec<String> = std::iter::once(&c.name).chain(&c.aliases).map(|a| header_key(a)).collect();
            let found = keys.iter().enumerate().find(|(i, k)| !taken[*i] && names.contains(k)).map(|(i, _)| i);
            if let Some(i) = found {
                taken[i] = true;
            }
            found
        })
        .collect();
    let unmapped =
        headers.iter().zip(&taken).filter(|(h, t)| !**t && !h.trim().is_empty()).map(|(h, _)| h.clone()).collect();
    HeaderMap { sources, unmapped }
}

/// An error message when a required column has no header, listing what was found.
pub fn check_required(map: &HeaderMap, schema: &Schema, headers: &[String]) -> Result<(), String> {
    let missing: Vec<String> = schema
        .columns
        .iter()
        .zip(&map.sources)
        .filter(|(c, s)| c.required && s.is_none())
        .map(|(c, _)| {
            if c.aliases.is_empty() {
                format!("'{}'", c.name)
            } else {
                format!("'{}' (aliases: {})", c.name, c.aliases.join(", "))
            }
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let found: Vec<&str> = headers.iter().map(|h| h.trim()).filter(|h| !h.is_empty()).collect();
    Err(format!("no header maps to required column {}; headers found: {}", missing.join(", "), found.join(", ")))
}
