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

/// A header found among the top rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// 0-based index of its first row among the rows searched.
    pub index: usize,
    /// 1, or 2 for group titles (merged across their columns) over a row of names.
    pub rows: usize,
    /// One name per column; see [`two_row_names`].
    pub names: Vec<String>,
    pub map: HeaderMap,
}

/// The header among the first rows: declared (0-based `declared`, `declared_rows` rows),
/// or else the row that feeds the most schema columns, the earliest winning ties. Rows
/// above it are titles. A pair of rows is taken only where it feeds more columns than
/// any single row (a title above a header feeds no more). When no row matches at all,
/// the first row is taken, so the error lists its headers.
pub fn find_header(
    rows: &[Vec<String>],
    schema: &Schema,
    declared: Option<usize>,
    declared_rows: Option<usize>,
) -> Option<Header> {
    let header = |index: usize, n: usize| -> Option<Header> {
        let names = match n {
            1 => rows.get(index)?.clone(),
            _ => two_row_names(rows.get(index)?, rows.get(index + 1)?),
        };
        Some(Header { index, rows: n, map: map_headers(&names, schema), names })
    };
    if let Some(i) = declared {
        return header(i, declared_rows.unwrap_or(1));
    }
    let best = |n: usize| {
        (0..rows.len().min(HEADER_SEARCH_ROWS)).filter_map(|i| header(i, n)).fold(None, |best: Option<Header>, h| {
            match &best {
                Some(b) if b.map.matched() >= h.map.matched() => best,
                _ if h.map.matched() > 0 => Some(h),
                _ => best,
            }
        })
    };
    let matched = |h: &Option<Header>| h.as_ref().map_or(0, |h| h.map.matched());
    let single = if declared_rows == Some(2) { None } else { best(1) };
    let pair = if declared_rows == Some(1) { None } else { best(2) };
    let found = if matched(&pair) > matched(&single) { pair } else { single };
    found.or_else(|| header(0, 1))
}

/// Names of a two-row header: a column's name is its own below, else the title above
/// it (a title merged down over both rows). Group titles merged across columns are in
/// the first cell only; when one name repeats under several groups (本期/金额, 上期/金额)
/// each is named `group/name`, which aliases can refer to.
pub fn two_row_names(groups: &[String], names: &[String]) -> Vec<String> {
    let cell = |row: &[String], i: usize| row.get(i).map_or("", |s| s.trim()).to_string();
    let width = groups.len().max(names.len());
    let repeated = |name: &str| names.iter().filter(|n| n.trim() == name).count() > 1;
    let mut group = String::new();
    (0..width)
        .map(|i| {
            let (above, below) = (cell(groups, i), cell(names, i));
            if !above.is_empty() || below.is_empty() {
                group = above.clone();
            }
            match (above.is_empty(), below.is_empty()) {
                (_, true) => above,
                (_, false) if repeated(&below) && !group.is_empty() => format!("{group}/{below}"),
                (_, false) => below,
            }
        })
        .collect()
}

/// How many rows a reader must look at to reach a declared header (1-based, counted
/// from the first used row `first_row`), both its rows when it has two.
pub fn declared_index(config: &SourceConfig, first_row: usize) -> usize {
    let rows = config.header_rows.as_ref().map_or(1, |h| h.value);
    config.header_row.as_ref().map_or(0, |h| h.value.saturating_sub(first_row).saturating_add(rows - 1))
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
    let delimiter = [';', '\t', '|', ','].into_iter().find(|&d| {
        let split: Vec<String> = headers.iter().flat_map(|h| h.split(d)).map(str::to_string).collect();
        map_headers(&split, schema).matched() > map.matched()
    });
    let further = if let Some(d) = delimiter {
        format!(
            "; the headers split at '{}' name more columns: set `delimiter: \"{}\"`",
            d.escape_default(),
            d.escape_default()
        )
    } else if map.matched() == 0 {
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
            values: Default::default(),
            allowed: None,
            min: None,
            max: None,
            format: None,
            trim: true,
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
        let found = find_header(&rows, &schema(), None, None).unwrap();
        assert_eq!((found.index, found.rows, found.map.matched()), (2, 1, 2), "a title row above is no group row");
        assert_eq!(find_header(&rows, &schema(), Some(1), None).unwrap().index, 1, "a declared row is taken as is");
    }

    #[test]
    fn finds_a_two_row_header_with_merged_group_titles() {
        // 客户编码 and 客户名称 merged down over both rows; 联系方式 merged across two columns.
        let rows = vec![
            headers(&["客户档案", "", "", "", ""]),
            headers(&["客户编码", "客户名称", "联系方式", "", "备注"]),
            headers(&["", "", "联系电话", "邮箱", ""]),
            headers(&["C1", "甲公司", "13800138000", "a@b.cn", ""]),
        ];
        let found = find_header(&rows, &schema(), None, None).unwrap();
        assert_eq!((found.index, found.rows), (1, 2));
        assert_eq!(found.names, ["客户编码", "客户名称", "联系电话", "邮箱", "备注"]);
        assert_eq!(found.map.sources, [Some(0), Some(1), Some(2)]);
        let declared = find_header(&rows, &schema(), Some(1), Some(1)).unwrap();
        assert_eq!((declared.rows, declared.map.matched()), (1, 2), "header_rows: 1 is taken as declared");
    }

    #[test]
    fn a_name_repeated_under_two_groups_is_named_with_its_group() {
        let names = two_row_names(&headers(&["本期", "", "上期", ""]), &headers(&["数量", "金额", "数量", "金额"]));
        assert_eq!(names, ["本期/数量", "本期/金额", "上期/数量", "上期/金额"]);
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
