//! Blocking: the candidate pairs are the records that share every key of at least one
//! rule. Keys are grouped with Polars; pairs are written out per block in parallel and
//! deduplicated across rules, each pair remembering the first rule that found it.

use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;

/// One `blocking:` entry: records agreeing on all of `keys` become candidate pairs.
pub struct Rule {
    pub label: String,
    pub keys: Vec<Key>,
    /// The keys that are plain columns: pairs of this rule always agree on them.
    pub columns: Vec<String>,
    /// Large blocks split by one more key, where the rule asks for it.
    pub split: Option<Split>,
}

/// `split_by`, `split_over`: a block of more than `over` records holds different
/// customers sharing the keys. It pairs only the records that also agree on `by`, and
/// each record without a value of `by` with the whole block, so its pairs grow with the
/// records rather than their square, and a record that says nothing is still compared.
pub struct Split {
    pub by: Expr,
    pub over: usize,
}

/// One key of a rule. A key whose values are lists (a cell's several phone numbers)
/// puts a record in the block of each of its values.
pub enum Key {
    /// A column or SQL expression.
    Expr(Expr),
    /// `DELETIONS(column)`: the value and each form of it with one character left out,
    /// so that values one typo apart (美智实业, 远智实业) share a block. Values shorter
    /// than [`MIN_DELETION_LEN`] characters block on themselves only.
    Deletions(String),
}

/// Shorter values would make deletion blocks of one or two characters, which hold
/// half the table.
pub const MIN_DELETION_LEN: usize = 4;

impl Key {
    /// `DELETIONS(name_key)` as a [`Key::Deletions`]; anything else is SQL.
    pub fn parse(text: &str) -> PolarsResult<Key> {
        let t = text.trim();
        let inner =
            t.get(..10).filter(|h| h.eq_ignore_ascii_case("DELETIONS(")).and_then(|_| t[10..].strip_suffix(')'));
        match inner {
            Some(column) => Ok(Key::Deletions(column.trim().trim_matches('"').to_string())),
            None => polars::sql::sql_expr(t).map(Key::Expr),
        }
    }
}

impl Rule {
    pub fn new(label: String, keys: Vec<Key>) -> Rule {
        let columns = keys
            .iter()
            .filter_map(|k| if let Key::Expr(Expr::Column(name)) = k { Some(name.to_string()) } else { None })
            .collect();
        Rule { label, keys, columns, split: None }
    }

    /// The same rule, its blocks of more than `over` records split by `by` (SQL).
    pub fn split_by(mut self, by: &str, over: usize) -> PolarsResult<Rule> {
        self.split = Some(Split { by: polars::sql::sql_expr(by)?, over });
        self.label = format!("{} (over {over}: by {})", self.label, by.trim());
        Ok(self)
    }

    /// Every column the rule's keys read.
    pub fn roots(&self) -> Vec<String> {
        let of = |e: &Expr| -> Vec<String> { e.clone().meta().root_names().iter().map(|n| n.to_string()).collect() };
        let keys = self.keys.iter().flat_map(|k| match k {
            Key::Deletions(c) => vec![c.clone()],
            Key::Expr(e) => of(e),
        });
        keys.chain(self.split.iter().flat_map(|s| of(&s.by))).collect()
    }
}

/// A value and its one-deletion forms, distinct, as hashes of their characters.
fn deletions(value: &str) -> Vec<u64> {
    use std::hash::{Hash, Hasher};
    let hash = |chars: &mut dyn Iterator<Item = char>| {
        let mut h = rustc_hash::FxHasher::default();
        chars.for_each(|c| c.hash(&mut h));
        h.finish()
    };
    let chars: Vec<char> = value.chars().collect();
    let mut out = vec![hash(&mut chars.iter().copied())];
    if chars.len() >= MIN_DELETION_LEN {
        out.extend((0..chars.len()).map(|i| hash(&mut chars[..i].iter().chain(&chars[i + 1..]).copied())));
        out.sort_unstable();
        out.dedup();
    }
    out
}

/// A block left out because it held more records than `max_block_size`.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedBlock {
    pub rule: String,
    pub value: String,
    pub records: usize,
}

/// A rule's blocks, counted before any pair is made: what a run reports per rule,
/// and what `tally check --pairs` prints without running the dedup.
#[derive(Debug, Clone, Serialize)]
pub struct Census {
    pub rule: String,
    /// Records with a key (a record with several values counts once per value).
    pub records: usize,
    /// Blocks of two records or more, within `max_block_size`.
    pub blocks: usize,
    /// Pairs within its blocks; a run's report gives the pairs it made (a record in a
    /// block twice, or in link mode two records of one side, make none).
    pub pairs: u64,
    /// Pairs from blocks larger than any group of one customer's records.
    pub pairs_in_large_blocks: u64,
    /// How many times its pairs would grow were the records twice as many (see
    /// [`growth`]).
    pub growth: f64,
    /// Blocks over `max_block_size`, left out of the figures above.
    pub skipped_blocks: usize,
}

/// A rule's figures in a run: its census, and the pairs no earlier rule found.
#[derive(Debug, Clone, Serialize)]
pub struct RuleReport {
    #[serde(flatten)]
    pub census: Census,
    pub new_pairs: usize,
}

/// More records than one customer is entered as: a block this large holds different
/// customers that share a key.
pub const LARGE_BLOCK: usize = 8;

/// Above this estimated growth of pairs when records double (2 is linear, 4 quadratic),
/// a rule that makes many pairs is reported.
pub const QUADRATIC_GROWTH: f64 = 3.0;

/// Fewer pairs cost nothing to compare, however they grow.
const NOTABLE_PAIRS: u64 = 10_000;

impl Census {
    /// Whether the rule's pairs grow nearly with the square of the records while
    /// already numerous (half a pair per record or more): the rule that makes a run
    /// slow next year.
    pub fn grows_quadratically(&self) -> bool {
        self.growth >= QUADRATIC_GROWTH && self.pairs >= NOTABLE_PAIRS.max(self.records as u64 / 2)
    }

    /// Its pairs were the records `times` as many: pairs in a customer's own block
    /// grow with the records, pairs in large blocks with their square.
    pub fn pairs_at(&self, times: f64) -> f64 {
        let large = self.pairs_in_large_blocks as f64;
        (self.pairs as f64 - large) * times + large * times * times
    }

    /// The warning for a rule that [grows quadratically](Self::grows_quadratically).
    pub fn growth_warning(&self) -> String {
        format!(
            "blocking rule {} makes {} pairs from {} records, {:.0}% of them in blocks of more than {LARGE_BLOCK} \
             records (different customers sharing a key): its pairs would grow about {:.1}x when the records double \
             (2x is linear); add a key to the rule, or use a key with more distinct values",
            self.rule,
            self.pairs,
            self.records,
            self.pairs_in_large_blocks as f64 / self.pairs as f64 * 100.0,
            self.growth
        )
    }
}

/// Estimated pairs(2N) / pairs(N) of a rule, from the sizes of its blocks. A block of a
/// few records is one customer's: more records bring more such blocks, so their pairs
/// grow with the records (×2). A large block holds different customers sharing a key
/// (a city, a two-character prefix): more records make it larger, so its pairs grow
/// with their square (×4).
pub fn growth(pairs: u64, pairs_in_large_blocks: u64) -> f64 {
    if pairs == 0 {
        return 2.0;
    }
    2.0 + 2.0 * pairs_in_large_blocks as f64 / pairs as f64
}

/// Candidate pairs (`left < right`), sorted, each with the index of the first rule that
/// found it. Pairs number the records by their place in `order`, not by input row.
pub struct Candidates {
    /// The input row of each record, in the order the pairs number them: block by
    /// block of the rule that makes the most pairs, so comparing a block's pairs reads
    /// neighbouring memory instead of memory all over the table.
    pub order: Vec<IdxSize>,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    pub rule: Vec<u8>,
    pub rules: Vec<RuleReport>,
    pub skipped: Vec<SkippedBlock>,
}

/// `link_split`: in link mode, rows before it are the left table's and pairs must cross it.
pub fn candidates(
    records: &DataFrame,
    rules: &[Rule],
    max_block_size: usize,
    link_split: Option<u32>,
) -> PolarsResult<Candidates> {
    let mut kept = Vec::with_capacity(rules.len());
    let mut skipped = Vec::new();
    let mut censuses = Vec::with_capacity(rules.len());
    for rule in rules {
        let counted = rule_blocks(records, rule, max_block_size)?;
        kept.push(counted.kept);
        skipped.extend(counted.skipped);
        censuses.push(counted.census);
    }
    let biggest = (0..kept.len()).max_by_key(|&r| (censuses[r].pairs, std::cmp::Reverse(r)));
    let order = layout(records.height(), biggest.map(|r| &kept[r]), link_split)?;
    let mut place = vec![0 as IdxSize; order.len()];
    for (i, &row) in order.iter().enumerate() {
        place[row as usize] = i as IdxSize;
    }

    let mut all: Vec<(u64, u8)> = Vec::new();
    let mut reports = Vec::new();
    for (r, (blocks, mut census)) in kept.iter().zip(censuses).enumerate() {
        let pairs = block_pairs(blocks, &place, link_split)?;
        all.extend(pairs.iter().map(|&p| (p, r as u8)));
        census.pairs = pairs.len() as u64;
        reports.push(RuleReport { census, new_pairs: 0 });
    }
    all.par_sort_unstable();
    all.dedup_by_key(|(pair, _)| *pair);
    for &(_, r) in &all {
        reports[r as usize].new_pairs += 1;
    }
    let (left, right) = all.par_iter().map(|&(p, _)| ((p >> 32) as u32, p as u32)).unzip();
    let rule = all.iter().map(|&(_, r)| r).collect();
    Ok(Candidates { order, left, right, rule, rules: reports, skipped })
}

/// Each rule's census, without making its pairs: a group-by per rule.
pub fn census(records: &DataFrame, rules: &[Rule], max_block_size: usize) -> PolarsResult<Vec<Census>> {
    rules.iter().map(|rule| Ok(rule_blocks(records, rule, max_block_size)?.census)).collect()
}

/// A rule's blocks within `max_block_size`, the ones over it, and their census.
struct RuleBlocks {
    kept: DataFrame,
    skipped: Vec<SkippedBlock>,
    census: Census,
}

fn rule_blocks(records: &DataFrame, rule: &Rule, max_block_size: usize) -> PolarsResult<RuleBlocks> {
    let (blocks, keyed) = blocks(records, rule)?;
    let too_big = blocks.column("__n")?.idx()?.gt(max_block_size as IdxSize);
    let skipped = skipped_blocks(&blocks.filter(&too_big)?, rule)?;
    let kept = blocks.filter(&!&too_big)?;
    let (mut pairs, mut pairs_in_large_blocks) = (0, 0);
    let sizes = kept.column("__n")?.idx()?.into_no_null_iter();
    for (n, wild) in sizes.zip(kept.column("__wild")?.idx()?.into_no_null_iter()) {
        let block = pair_count(n.into(), wild.into());
        pairs += block;
        // A block of records without a split value grows with its large block.
        if wild > 0 || n as usize > LARGE_BLOCK {
            pairs_in_large_blocks += block;
        }
    }
    let census = Census {
        rule: rule.label.clone(),
        records: keyed,
        blocks: kept.height(),
        pairs,
        pairs_in_large_blocks,
        growth: growth(pairs, pairs_in_large_blocks),
        skipped_blocks: skipped.len(),
    };
    Ok(RuleBlocks { kept, skipped, census })
}

/// The pairs a block makes: every pair of its `n` records, or, in a block of records
/// without a split value (`wild` of them, listed first), each of those with any other.
fn pair_count(n: u64, wild: u64) -> u64 {
    let first = leading(n, wild);
    first * (first - 1) / 2 + first * (n - first)
}

/// How many of a block's records its pairs start from: all `n`, or the `wild` records
/// without a split value that it lists first (each is in no other block of the rule).
fn leading<T: Copy + Default + PartialEq>(n: T, wild: T) -> T {
    if wild == T::default() { n } else { wild }
}

/// Input rows block by block of `blocks` (blocks in key order, so the layout does not
/// depend on hashing), then the rows in none of them; in link mode the left table's
/// rows stay first.
fn layout(records: usize, blocks: Option<&DataFrame>, link_split: Option<u32>) -> PolarsResult<Vec<IdxSize>> {
    let mut order = Vec::with_capacity(records);
    let mut placed = vec![false; records];
    if let Some(blocks) = blocks {
        let keys: Vec<PlSmallStr> =
            blocks.get_column_names().into_iter().filter(|c| c.starts_with("__k")).cloned().collect();
        let sorted = blocks.sort(keys, SortMultipleOptions::default())?;
        let rows = sorted.column("__rows")?.explode(ExplodeOptions { empty_as_null: false, keep_nulls: false })?;
        for row in rows.idx()?.into_no_null_iter() {
            if !std::mem::replace(&mut placed[row as usize], true) {
                order.push(row);
            }
        }
    }
    order.extend((0..records as IdxSize).filter(|&r| !placed[r as usize]));
    if let Some(split) = link_split {
        order.sort_by_key(|&row| row >= split);
    }
    Ok(order)
}

/// Record numbers per block of one rule: columns `__k0..`, `__rows` (list), `__n` and
/// `__wild` (see [`pair_count`]); and how many records have a key.
fn blocks(records: &DataFrame, rule: &Rule) -> PolarsResult<(DataFrame, usize)> {
    let names: Vec<String> = (0..rule.keys.len()).map(|i| format!("__k{i}")).collect();
    let keys: Vec<Expr> = rule
        .keys
        .iter()
        .zip(&names)
        .map(|(k, n)| match k {
            Key::Expr(e) => e.clone().alias(n.as_str()),
            Key::Deletions(c) => col(c.as_str()).cast(DataType::String).alias(n.as_str()),
        })
        .collect();
    let mut keyed = records
        .clone()
        .lazy()
        .with_row_index("__position", None)
        .select(
            std::iter::once(col("__position"))
                .chain(keys)
                .chain(rule.split.iter().map(|s| s.by.clone().cast(DataType::String).alias("__split")))
                .collect::<Vec<_>>(),
        )
        .collect()?;
    // Keys as text, or lists of text.
    for name in &names {
        let column = keyed.column(name)?;
        let text = match column.dtype() {
            DataType::List(_) => DataType::List(Box::new(DataType::String)),
            _ => DataType::String,
        };
        keyed.with_column(column.cast(&text)?)?;
    }
    // A missing or blank key puts a record in no block: it says nothing about identity.
    // Records without a value are dropped first, before any list is built (a deletion
    // key's forms are made only for records that have the rule's other keys), and
    // blank list items after the lists are exploded.
    let has_value = |n: &str| col(n).is_not_null().and(col(n).str().len_bytes().gt(lit(0)));
    let present = names.iter().map(|n| match keyed.schema().get(n.as_str()) {
        Some(DataType::List(_)) => col(n.as_str()).is_not_null(),
        _ => has_value(n),
    });
    let present = present.reduce(Expr::and).unwrap_or(lit(true));
    let mut keyed = keyed.lazy().filter(present).collect()?;
    let mut lists: Vec<&str> = names
        .iter()
        .filter(|n| matches!(keyed.schema().get(n.as_str()), Some(DataType::List(_))))
        .map(String::as_str)
        .collect();
    let strings = lists.clone();
    for (key, name) in rule.keys.iter().zip(&names) {
        if let Key::Deletions(_) = key {
            // Forms are grouped by a 64-bit hash of their characters: millions of
            // short strings group several times faster as numbers.
            let values: Vec<Option<&str>> = keyed.column(name)?.str()?.iter().collect();
            let forms: Vec<Option<Vec<u64>>> = values.par_iter().map(|v| v.map(deletions)).collect();
            let total = forms.iter().flatten().map(Vec::len).sum();
            let mut list = ListPrimitiveChunkedBuilder::<UInt64Type>::new(
                name.as_str().into(),
                forms.len(),
                total,
                DataType::UInt64,
            );
            for f in &forms {
                match f {
                    Some(f) => list.append_slice(f),
                    None => list.append_null(),
                }
            }
            keyed.with_column(list.finish().into_column())?;
            lists.push(name.as_str());
        }
    }
    let mut lf = keyed.lazy();
    // A record is in each of its values' blocks; two list keys, in every combination of
    // their values (exploded one after the other). A value listed twice puts a record
    // in a block twice: `block_pairs` drops the pair of a record with itself.
    for list in &lists {
        lf = lf.explode(cols([*list]), ExplodeOptions { empty_as_null: false, keep_nulls: false });
    }
    let items = strings.iter().map(|n| has_value(n)).reduce(Expr::and).unwrap_or(lit(true));
    let keys: Vec<Expr> = names.iter().map(|n| col(n.as_str())).collect();
    let blocks = |lf: LazyFrame, by: Vec<Expr>| {
        lf.group_by(by)
            .agg([col("__position").alias("__rows"), len().alias("__n")])
            .with_column(lit(0).cast(IDX_DTYPE).alias("__wild"))
    };
    let lf = lf.filter(items);
    let keyed = match &rule.split {
        None => blocks(lf, keys),
        Some(split) => {
            let lf = lf.with_column(len().over(keys.clone())?.alias("__size"));
            let large = col("__size").gt(lit(split.over as IdxSize));
            // Small blocks whole, large ones by their split values; then each large
            // block's records without a value, first, before the rest of the block.
            let part = when(large.clone()).then(col("__split")).otherwise(lit(NULL).cast(DataType::String));
            let parts = blocks(
                lf.clone().filter(large.clone().not().or(col("__split").is_not_null())),
                keys.iter().cloned().chain([part.alias("__part")]).collect(),
            )
            .drop(cols(["__part"]));
            let wild = lf
                .filter(large)
                .group_by(keys)
                .agg([
                    col("__position")
                        .sort_by(
                            [col("__split").is_not_null()],
                            SortMultipleOptions::default().with_maintain_order(true),
                        )
                        .alias("__rows"),
                    len().alias("__n"),
                    col("__split").is_null().sum().cast(IDX_DTYPE).alias("__wild"),
                ])
                .filter(col("__wild").gt(lit(0)));
            concat([parts, wild], UnionArgs::default())?
        }
    }
    .collect()?;
    // Each keyed record is in one block of its value, or, without a split value in a
    // large block, among that block's first `__wild` records.
    let sizes = keyed.column("__n")?.idx()?.into_no_null_iter();
    let wild = keyed.column("__wild")?.idx()?.into_no_null_iter();
    let with_key = sizes.zip(wild).map(|(n, wild)| leading(n, wild) as usize).sum();
    Ok((keyed.lazy().filter(col("__n").gt(lit(1))).collect()?, with_key))
}

fn skipped_blocks(blocks: &DataFrame, rule: &Rule) -> PolarsResult<Vec<SkippedBlock>> {
    let names: Vec<String> = (0..rule.keys.len()).map(|i| format!("__k{i}")).collect();
    let value = blocks
        .clone()
        .lazy()
        .select([
            concat_str(names.iter().map(|n| col(n.as_str()).cast(DataType::String)).collect::<Vec<_>>(), " | ", false)
                .alias("value"),
            col("__n"),
        ])
        .sort(["__n"], SortMultipleOptions::default().with_order_descending(true))
        .collect()?;
    let values = value.column("value")?.str()?.clone();
    let sizes = value.column("__n")?.idx()?.clone();
    Ok(values
        .iter()
        .zip(sizes.iter())
        .map(|(v, n)| SkippedBlock {
            rule: rule.label.clone(),
            value: v.unwrap_or_default().to_string(),
            records: n.unwrap_or(0) as usize,
        })
        .collect())
}

/// Each block's pairs (see [`pair_count`]), as `left << 32 | right` with `left < right`,
/// records numbered by their `place` in the layout.
fn block_pairs(blocks: &DataFrame, place: &[IdxSize], link_split: Option<u32>) -> PolarsResult<Vec<u64>> {
    let sizes: Vec<usize> = blocks.column("__n")?.idx()?.into_no_null_iter().map(|n| n as usize).collect();
    let wild: Vec<usize> = blocks.column("__wild")?.idx()?.into_no_null_iter().map(|n| n as usize).collect();
    let rows = blocks.column("__rows")?.explode(ExplodeOptions { empty_as_null: false, keep_nulls: false })?;
    let rows: Vec<IdxSize> = rows.idx()?.into_no_null_iter().map(|r| place[r as usize]).collect();
    let mut starts = Vec::with_capacity(sizes.len());
    let mut offset = 0;
    for n in &sizes {
        starts.push(offset);
        offset += n;
    }
    Ok(starts
        .into_par_iter()
        .zip(sizes)
        .zip(wild)
        .flat_map_iter(|((start, n), wild)| {
            let block = &rows[start..start + n];
            (0..leading(n, wild))
                .flat_map(move |i| (i + 1..n).map(move |j| (block[i].min(block[j]), block[i].max(block[j]))))
        })
        .filter(|&(a, b)| a != b && link_split.is_none_or(|split| a < split && b >= split))
        .map(|(a, b)| (u64::from(a) << 32) | u64::from(b))
        .collect())
}
