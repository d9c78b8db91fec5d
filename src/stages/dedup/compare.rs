//! Comparisons: how two records' values of one column agree, as a level. Level 0 is
//! "a value is missing" (no evidence either way), levels 1..=L are the configured
//! thresholds from the closest agreement down, and L+1 is "anything else".

use polars::prelude::*;
use rapidfuzz::distance::{jaro_winkler, levenshtein};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Equal values.
    Exact,
    /// Jaro–Winkler similarity on Unicode characters; levels are minimum similarities.
    JaroWinkler,
    /// Edit distance on Unicode characters; levels are maximum distances.
    Levenshtein,
    /// Jaccard similarity of word tokens (CJK text as character pairs); levels are minimum similarities.
    TokenJaccard,
    /// Absolute difference of numbers; levels are maximum differences.
    Numeric,
    /// Days between dates; levels are maximum days apart.
    Date,
}

impl Method {
    pub fn default_levels(self) -> Vec<f64> {
        match self {
            Method::Exact => vec![],
            Method::JaroWinkler => vec![1.0, 0.92, 0.85],
            Method::Levenshtein => vec![0.0, 1.0, 2.0],
            Method::TokenJaccard => vec![1.0, 0.8, 0.6],
            Method::Numeric => vec![0.0],
            Method::Date => vec![0.0, 31.0, 366.0],
        }
    }

    /// Whether a higher score is closer (similarities) rather than farther (distances).
    fn similarity(self) -> bool {
        matches!(self, Method::JaroWinkler | Method::TokenJaccard)
    }

    /// Whether the levels must descend (similarities) or ascend (distances).
    pub fn check_levels(self, levels: &[f64]) -> Result<(), String> {
        if self == Method::Exact && !levels.is_empty() {
            return Err("`exact` has no levels".into());
        }
        let ordered = levels.windows(2).all(|w| if self.similarity() { w[0] > w[1] } else { w[0] < w[1] });
        let in_range = levels.iter().all(|&l| if self.similarity() { (0.0..=1.0).contains(&l) } else { l >= 0.0 });
        match (ordered, in_range) {
            (true, true) => Ok(()),
            _ if self.similarity() => Err("levels are similarities between 0 and 1, from the highest down".into()),
            _ => Err("levels are distances of 0 or more, from the smallest up".into()),
        }
    }

    /// The label of each level, for pairs tables and the model file.
    pub fn labels(self, levels: &[f64]) -> Vec<String> {
        let mut labels = vec!["null".to_string()];
        if self == Method::Exact {
            labels.push("exact".into());
        }
        for &l in levels {
            labels.push(match self {
                _ if self.equality_level(l) => "exact".into(),
                Method::JaroWinkler => format!("jw>={l}"),
                Method::TokenJaccard => format!("jaccard>={l}"),
                Method::Levenshtein => format!("edits<={l}"),
                Method::Numeric => format!("diff<={l}"),
                Method::Date => format!("days<={l}"),
                Method::Exact => unreachable!(),
            });
        }
        labels.push("else".into());
        labels
    }

    /// Whether a threshold means "equal" (so term-frequency adjustment applies to it).
    fn equality_level(self, l: f64) -> bool {
        if self.similarity() { l >= 1.0 } else { l <= 0.0 }
    }

    /// Which of the non-null levels, counted from 0, is equality, if any.
    pub fn equality_index(self, levels: &[f64]) -> Option<usize> {
        if self == Method::Exact {
            return Some(0);
        }
        levels.iter().position(|&l| self.equality_level(l))
    }
}

/// The label of each level of a comparison, null first and `else` last.
pub fn labels(method: Method, thresholds: &[f64], contains: bool) -> Vec<String> {
    let mut labels = method.labels(thresholds);
    if contains {
        labels.insert(labels.len() - 1, "contained".into());
    }
    labels
}

/// One configured comparison, ready to compare records of a table.
pub struct Comparison {
    pub name: String,
    pub column: String,
    pub method: Method,
    pub thresholds: Vec<f64>,
    pub values: Values,
    /// Share of non-null records holding each record's value, for term-frequency adjustment.
    pub tf: Option<Vec<f32>>,
    /// A level between the thresholds and `else` for one value contained in the other.
    pub contains: bool,
    /// Another column's values, to compare the pair both ways (`swap_with`).
    pub swap: Option<Values>,
}

/// A column's values in the form its method compares fastest.
pub enum Values {
    /// For exact comparison: a 64-bit hash per value, 0 for null.
    Hash(Vec<u64>),
    /// For exact comparison of lists (a cell's several phones): each record's sorted
    /// hashes; two records agree when they share any value.
    HashLists(Vec<Box<[u64]>>),
    /// For edit distances: each value's characters, so lengths are known and every
    /// comparison works on Unicode characters, not UTF-8 bytes.
    Chars(Vec<Option<Vec<char>>>),
    Tokens(Vec<Option<Box<[u32]>>>),
    Number(Vec<Option<f64>>),
}

impl Comparison {
    pub fn new(
        name: &str,
        column: &Column,
        method: Method,
        thresholds: Vec<f64>,
        tf_adjust: bool,
    ) -> PolarsResult<Comparison> {
        let text = || -> PolarsResult<StringChunked> {
            let s = column.cast(&DataType::String)?;
            let s = s.str()?.rechunk().into_owned();
            // An empty string says as little as a null.
            Ok(s.apply(|v| v.filter(|v| !v.trim().is_empty()).map(std::borrow::Cow::Borrowed)))
        };
        let values = match method {
            Method::Exact if matches!(column.dtype(), DataType::List(_)) => {
                let lists = column.cast(&DataType::List(Box::new(DataType::String)))?;
                let hashes = lists.list()?.amortized_iter().map(|l| -> PolarsResult<Box<[u64]>> {
                    let Some(l) = l else { return Ok(Box::default()) };
                    let mut h: Vec<u64> =
                        l.as_ref().str()?.iter().flatten().filter(|v| !v.trim().is_empty()).map(hash_text).collect();
                    h.sort_unstable();
                    h.dedup();
                    Ok(h.into_boxed_slice())
                });
                Values::HashLists(hashes.collect::<PolarsResult<_>>()?)
            }
            Method::Exact => {
                let s = text()?;
                let strings: Vec<Option<&str>> = s.iter().collect();
                Values::Hash(strings.par_iter().map(|v| v.map_or(0, hash_text)).collect())
            }
            Method::JaroWinkler | Method::Levenshtein => {
                let s = text()?;
                let strings: Vec<Option<&str>> = s.iter().collect();
                Values::Chars(strings.par_iter().map(|v| v.map(|v| v.chars().collect())).collect())
            }
            Method::TokenJaccard => {
                let s = text()?;
                let strings: Vec<Option<&str>> = s.iter().collect();
                Values::Tokens(strings.par_iter().map(|v| v.map(tokens)).collect())
            }
            Method::Numeric => {
                let f = column.cast(&DataType::Float64)?;
                Values::Number(f.f64()?.iter().collect())
            }
            Method::Date => {
                let d = column.cast(&DataType::Date)?.cast(&DataType::Int32)?;
                Values::Number(d.i32()?.iter().map(|v| v.map(f64::from)).collect())
            }
        };
        let tf = if tf_adjust { Some(term_frequencies(column)?) } else { None };
        Ok(Comparison {
            name: name.to_string(),
            column: column.name().to_string(),
            method,
            thresholds,
            values,
            tf,
            contains: false,
            swap: None,
        })
    }

    /// Number of levels, null and else included.
    pub fn level_count(&self) -> usize {
        self.thresholds.len() + 2 + usize::from(self.method == Method::Exact) + usize::from(self.contains)
    }

    /// The label of each level, null first.
    pub fn labels(&self) -> Vec<String> {
        labels(self.method, &self.thresholds, self.contains)
    }

    /// Whether the shorter value (two characters or more) lies within the longer one:
    /// 中新 in 中新网络科技, an abbreviation in a full name.
    fn contained(&self, (vx, a): (&Values, usize), (vy, b): (&Values, usize)) -> bool {
        let (Values::Chars(cx), Values::Chars(cy)) = (vx, vy) else { return false };
        let (Some(x), Some(y)) = (&cx[a], &cy[b]) else { return false };
        let (short, long) = if x.len() <= y.len() { (x, y) } else { (y, x) };
        short.len() >= 2 && long.windows(short.len()).any(|w| w == short.as_slice())
    }

    /// The level whose agreement is equality, if any: term-frequency adjustment applies there.
    pub fn equality_level(&self) -> Option<u8> {
        self.method.equality_index(&self.thresholds).map(|i| i as u8 + 1)
    }

    /// The level at which records `a` and `b` agree.
    pub fn level(&self, a: usize, b: usize) -> u8 {
        let own = &self.values;
        let Some(other) = &self.swap else { return self.leveled((own, a), (own, b)) };
        // Compared both ways: crossed when both columns agree better crossed, so a given
        // name and surname written the other way round still agree, but one name
        // matching the other column does not.
        let else_level = (self.level_count() - 1) as u8;
        let closeness = |l: u8| if l == 0 { else_level } else { l };
        let straight = self.leveled((own, a), (own, b));
        let crossed = self.leveled((own, a), (other, b));
        let other_straight = self.leveled((other, a), (other, b));
        let other_crossed = self.leveled((other, a), (own, b));
        let swapped = closeness(crossed) < closeness(straight) && closeness(other_crossed) < closeness(other_straight);
        if swapped { crossed } else { straight }
    }

    /// The level of value `x` of record `a` against value `y` of record `b`.
    fn leveled(&self, x: (&Values, usize), y: (&Values, usize)) -> u8 {
        let else_level = (self.level_count() - 1) as u8;
        match self.graded(x, y, else_level) {
            l if l == else_level && self.contains && self.contained(x, y) => else_level - 1,
            l => l,
        }
    }

    /// The level by the configured thresholds alone.
    fn graded(&self, (vx, a): (&Values, usize), (vy, b): (&Values, usize), else_level: u8) -> u8 {
        let score = match (vx, vy) {
            (Values::Hash(hx), Values::Hash(hy)) => {
                let (x, y) = (hx[a], hy[b]);
                return if x == 0 || y == 0 {
                    0
                } else if x == y {
                    1
                } else {
                    else_level
                };
            }
            (Values::HashLists(hx), Values::HashLists(hy)) => {
                let (x, y) = (&hx[a], &hy[b]);
                return if x.is_empty() || y.is_empty() {
                    0
                } else if x.iter().any(|v| y.binary_search(v).is_ok()) {
                    1
                } else {
                    else_level
                };
            }
            (Values::Chars(cx), Values::Chars(cy)) => {
                let (Some(x), Some(y)) = (&cx[a], &cy[b]) else { return 0 };
                match self.method {
                    Method::JaroWinkler => jaro_winkler::similarity(x.iter().copied(), y.iter().copied()),
                    _ => {
                        // Counting stops past the last level: "more than that" is all it needs.
                        let most = self.thresholds.last().copied().unwrap_or(0.0) as usize;
                        let args = levenshtein::Args::default().score_cutoff(most);
                        match levenshtein::distance_with_args(x.iter().copied(), y.iter().copied(), &args) {
                            Some(edits) => edits as f64,
                            None => return else_level,
                        }
                    }
                }
            }
            (Values::Tokens(tx), Values::Tokens(ty)) => {
                let (Some(x), Some(y)) = (&tx[a], &ty[b]) else { return 0 };
                jaccard(x, y)
            }
            (Values::Number(nx), Values::Number(ny)) => {
                let (Some(x), Some(y)) = (nx[a], ny[b]) else { return 0 };
                (x - y).abs()
            }
            // Two columns of one comparison are read alike; this cannot happen.
            _ => return else_level,
        };
        let hit = if self.method.similarity() {
            self.thresholds.iter().position(|&l| score >= l)
        } else {
            self.thresholds.iter().position(|&l| score <= l)
        };
        hit.map_or(else_level, |p| p as u8 + 1)
    }
}

/// Word tokens of a text, as sorted distinct hashes; runs of CJK characters are split
/// into overlapping character pairs, since Chinese has no spaces between words.
pub fn tokens(text: &str) -> Box<[u32]> {
    use std::hash::{Hash, Hasher};
    let hash = |s: &[char]| {
        let mut h = rustc_hash::FxHasher::default();
        s.hash(&mut h);
        h.finish() as u32
    };
    let mut out = Vec::new();
    let mut word: Vec<char> = Vec::new();
    let flush = |word: &mut Vec<char>, out: &mut Vec<u32>| {
        let cjk = word.first().is_some_and(|c| is_cjk(*c));
        match word.len() {
            0 => {}
            1 => out.push(hash(word)),
            _ if cjk => out.extend(word.windows(2).map(hash)),
            _ => out.push(hash(word)),
        }
        word.clear();
    };
    for c in text.chars() {
        let boundary = !c.is_alphanumeric() || word.first().is_some_and(|w| is_cjk(*w) != is_cjk(c));
        if boundary {
            flush(&mut word, &mut out);
        }
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        }
    }
    flush(&mut word, &mut out);
    out.sort_unstable();
    out.dedup();
    out.into_boxed_slice()
}

/// A value's 64-bit SipHash, never 0 (which stands for null): two different values
/// collide with odds of about one in 10^19 per pair.
fn hash_text(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    text.hash(&mut h);
    h.finish() | 1
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3134F)
}

/// Jaccard similarity of two sorted, distinct token lists.
pub fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f64 / (a.len() + b.len() - common) as f64
}

/// Each record's value frequency among the non-null values of its column.
fn term_frequencies(column: &Column) -> PolarsResult<Vec<f32>> {
    let name = column.name().clone();
    // A list's first value stands for it.
    let column = &match column.dtype() {
        DataType::List(_) => column.as_materialized_series().list()?.lst_get(0, true)?.into_column(),
        _ => column.clone(),
    };
    let df = DataFrame::new(column.len(), vec![column.clone()])?;
    let out = df
        .lazy()
        .select([(len().over([col(name.clone())])?.cast(DataType::Float64)
            / col(name.clone()).is_not_null().sum().cast(DataType::Float64))
        .cast(DataType::Float32)
        .alias("tf")])
        .collect()?;
    Ok(out.column("tf")?.f32()?.iter().map(|v| v.unwrap_or(1.0)).collect())
}
