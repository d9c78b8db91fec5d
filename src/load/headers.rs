//! Maps export headers (客户编码, Customer Code, KUNNR ...) to a schema's canonical columns.

use crate::config::{Schema, SourceConfig, header_key};
use crate::diag::did_you_mean;

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

/// How many rows from the top are searched for the header when it is not declared.
pub const HEADER_SEARCH_ROWS: usize = 30;

/// The header row among the first rows: declared (0-based `declared`), or else the
/// first row that feeds the most schema columns. Rows above it are titles. When no
/// row matches at all, the first row is taken, so the error lists its headers.
pub fn find_header(rows: &[Vec<String>], schema: &Schema, declared: Option<usize>) -> Option<(usize, HeaderMap)> {
    if let Some(i) = declared {
        return rows.get(i).map(|r| (i, map_headers(r, schema)));
    }
    let mut best: Option<(usize, HeaderMap)> = None;
    for (i, row) in rows.iter().take(HEADER_SEARCH_ROWS).enumerate() {
        let map = map_headers(row, schema);
        if map.matched() > best.as_ref().map_or(0, |(_, b)| b.matched()) {
            best = Some((i, map));
        }
    }
    best.or_else(|| rows.first().map(|r| (0, map_headers(r, schema))))
}

/// How many rows a reader must look at to reach a declared header row (1-based,
/// counted from the first used row `first_row`).
pub fn declared_index(config: &SourceConfig, first_row: usize) -> usize {
    config.header_row.as_ref().map_or(0, |h| h.value.saturating_sub(first_row))
}

/// Why no header was found: the declared one is past the end, or there are no rows.
pub fn header_not_found(config: &SourceConfig) -> String {
    match &config.header_row {
        Some(h) => format!("header_row {} is past the end of the file", h.value),
        None => "no header row: the file has no rows".to_string(),
    }
}

/// An error message when a required column has no header, listing what was found and
/// the header that is likely a typo of a missing column.
pub fn check_required(map: &HeaderMap, schema: &Schema, headers: &[String]) -> Result<(), String> {
    let missing: Vec<_> =
        schema.columns.iter().zip(&map.sources).filter(|(c, s)| c.required && s.is_none()).map(|(c, _)| c).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let named: Vec<String> = missing
        .iter()
        .map(|c| {
            if c.aliases.is_empty() {
                format!("'{}'", c.name)
            } else {
                format!("'{}' (aliases: {})", c.name, c.aliases.join(", "))
            }
        })
        .collect();
    let near: Vec<String> = missing
        .iter()
        .filter_map(|c| {
            let names = std::iter::once(&c.name).chain(&c.aliases);
            let best = names.filter_map(|n| did_you_mean(n, map.unmapped.iter().map(String::as_str))).next()?;
            Some(format!("; did you mean '{best}' for '{}'?", c.name))
        })
        .collect();
    let found: Vec<&str> = headers.iter().map(|h| h.trim()).filter(|h| !h.is_empty()).collect();
    let further = if map.matched() == 0 {
        format!(
            "; no row among the first {HEADER_SEARCH_ROWS} names a column: if the header is further down, set `header_row:`"
        )
    } else {
        String::new()
    };
    Err(format!(
        "no header maps to required column {}; headers found: {}{}{further}",
        named.join(", "),
        found.join(", "),
        near.concat()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ColumnSpec, ColumnType};

    fn schema() -> Schema {
        let column = |name: &str, required: bool, aliases: &[&str]| ColumnSpec {
            name: name.into(),
            kind: ColumnType::String,
            required,
            unique: false,
            allowed: None,
            min: None,
            max: None,
            format: None,
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            description: None,
        };
        Schema {
            name: "t".into(),
            columns: vec![
                column("customer_id", true, &["客户编码", "Customer Code"]),
                column("name", true, &["客户名称"]),
                column("phone", false, &["联系电话", "Phone"]),
            ],
        }
    }

    fn headers(h: &[&str]) -> Vec<String> {
        h.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn maps_aliases_across_width_case_and_space() {
        let h = headers(&["ＣＵＳＴＯＭＥＲ　ＣＯＤＥ", " 客户名称 ", "备注", "phone"]);
        let map = map_headers(&h, &schema());
        assert_eq!(map.sources, [Some(0), Some(1), Some(3)]);
        assert_eq!(map.unmapped, ["备注"]);
    }

    #[test]
    fn the_first_of_two_matching_headers_wins() {
        let map = map_headers(&headers(&["客户编码", "Customer Code", "客户名称"]), &schema());
        assert_eq!(map.sources, [Some(0), Some(2), None]);
        assert_eq!(map.unmapped, ["Customer Code"]);
    }

    #[test]
    fn finds_the_header_below_title_rows() {
        let rows = vec![
            headers(&["客户档案", "", ""]),
            headers(&["导出日期", "2024-12-31", ""]),
            headers(&["客户编码", "客户名称", "电话"]),
        ];
        let (i, map) = find_header(&rows, &schema(), None).unwrap();
        assert_eq!((i, map.matched()), (2, 2));
        assert_eq!(find_header(&rows, &schema(), Some(1)).unwrap().0, 1, "a declared row is taken as is");
    }

    #[test]
    fn missing_required_columns_name_their_aliases_and_the_headers_found() {
        let h = headers(&["编号", "电话"]);
        let err = check_required(&map_headers(&h, &schema()), &schema(), &h).unwrap_err();
        assert_eq!(
            err,
            "no header maps to required column 'customer_id' (aliases: 客户编码, Customer Code), 'name' (aliases: 客户名称); headers found: 编号, 电话; no row among the first 30 names a column: if the header is further down, set `header_row:`"
        );
        let h = headers(&["编号", "客户名称"]);
        let err = check_required(&map_headers(&h, &schema()), &schema(), &h).unwrap_err();
        assert!(!err.contains("header_row"), "a row that names a column is a header: {err}");
    }
}
