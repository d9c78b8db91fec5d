//! Which values repeat an earlier row's: the `unique:` check of a load. Polars'
//! `is_first_distinct` inserts every string into one hash set on one core; on 35
//! million document numbers that was a quarter of the load. Here each value is hashed
//! in parallel, the rows are split by hash into shards that share no value, and each
//! shard finds its repeats on its own core, comparing strings only on equal hashes.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use polars::prelude::*;
use rayon::prelude::*;
use rustc_hash::FxBuildHasher;

/// Expression: true where a text value equals an earlier row's; false for the first of
/// each value and for nulls. Over the whole column at once (`apply`, not the
/// elementwise `map`, which an engine may run batch by batch).
pub fn repeats_earlier(e: Expr) -> Expr {
    e.cast(DataType::String).apply(
        |c| {
            let values: Vec<Option<&str>> = c.str()?.iter().collect();
            let repeats = repeated_rows(&values);
            let mut mask = vec![false; values.len()];
            for row in repeats {
                mask[row as usize] = true;
            }
            Ok(BooleanChunked::from_slice(c.name().clone(), &mask).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
    )
}

/// The rows whose value equals an earlier row's, in no particular order.
fn repeated_rows(values: &[Option<&str>]) -> Vec<u32> {
    let hasher = FxBuildHasher;
    let hashes: Vec<u64> =
        values.par_iter().with_min_len(1 << 16).map(|v| v.map_or(0, |s| hasher.hash_one(s))).collect();
    let shards = (rayon::current_num_threads() * 4).next_power_of_two() as u64;
    // The top bits pick the shard; the table inside it uses the rest.
    let shard_of = |h: u64| (h >> 58) % shards;
    let mut rows: Vec<Vec<u32>> = vec![Vec::new(); shards as usize];
    for (row, (v, h)) in values.iter().zip(&hashes).enumerate() {
        if v.is_some() {
            rows[shard_of(*h) as usize].push(row as u32);
        }
    }
    rows.into_par_iter()
        .flat_map_iter(|shard| {
            let mut seen: HashTable<u32> = HashTable::with_capacity(shard.len());
            let mut repeats = Vec::new();
            for row in shard {
                let (h, value) = (hashes[row as usize], values[row as usize]);
                let same = |&earlier: &u32| values[earlier as usize] == value;
                if seen.find(h, same).is_some() {
                    repeats.push(row);
                } else {
                    seen.insert_unique(h, row, |&r| hashes[r as usize]);
                }
            }
            repeats
        })
        .collect()
}

/// The `unique:` check of a table read a batch at a time, in order. It holds a hash
/// per row only while it finds the hashes that two rows or more share; then, batch by
/// batch, it compares the values behind those hashes, keeping the values it has seen
/// of them alone.
pub struct BatchRepeats {
    twice: rustc_hash::FxHashSet<u64>,
    seen: rustc_hash::FxHashSet<String>,
}

impl BatchRepeats {
    /// From the keys of every batch (`keys(i)` for batch `i`), hashed.
    pub fn hashed(batches: usize, keys: impl Fn(usize) -> PolarsResult<Column>) -> PolarsResult<Self> {
        let mut hashes: Vec<u64> = Vec::new();
        for b in 0..batches {
            let keys = keys(b)?.cast(&DataType::String)?;
            let values: Vec<Option<&str>> = keys.str()?.iter().collect();
            hashes.par_extend(values.par_iter().with_min_len(1 << 16).map(text_hash));
        }
        hashes.par_sort_unstable();
        let twice = hashes.windows(2).filter(|w| w[0] == w[1] && w[0] != 0).map(|w| w[0]).collect();
        Ok(BatchRepeats { twice, seen: Default::default() })
    }

    /// The rows of the next batch, numbered from `first`, whose key an earlier row had.
    pub fn next_batch(&mut self, keys: &Column, first: u64) -> PolarsResult<Vec<u64>> {
        let keys = keys.cast(&DataType::String)?;
        let values: Vec<Option<&str>> = keys.str()?.iter().collect();
        let shared: Vec<bool> =
            values.par_iter().with_min_len(1 << 16).map(|v| self.twice.contains(&text_hash(v))).collect();
        let mut repeats = Vec::new();
        for (i, value) in values.iter().enumerate().filter(|(i, _)| shared[*i]) {
            let value = value.expect("a shared hash is a value's");
            if !self.seen.insert(value.to_string()) {
                repeats.push(first + i as u64);
            }
        }
        Ok(repeats)
    }
}

/// A text's hash for [`BatchRepeats`]: values hash to odd numbers; 0 is a null, which
/// repeats nothing.
fn text_hash(v: &Option<&str>) -> u64 {
    v.map_or(0, |s| FxBuildHasher.hash_one(s) | 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_of_each_value_is_kept_and_nulls_never_repeat() {
        let values = [Some("a"), Some("b"), Some("a"), None, None, Some("b"), Some("c"), Some("a")];
        let mut repeats = repeated_rows(&values);
        repeats.sort();
        assert_eq!(repeats, [2, 5, 7]);
    }

    #[test]
    fn agrees_with_polars_on_many_values() {
        let values: Vec<Option<String>> = (0..200_000u64)
            .map(|i| (i % 7 != 0).then(|| format!("D{}", i.wrapping_mul(2654435761) % 150_000)))
            .collect();
        let frame = df! { "v" => &values }.unwrap();
        let expected = frame.lazy().select([col("v").is_first_distinct()]).collect().unwrap();
        let expected = expected.column("v").unwrap().bool().unwrap().clone();
        let borrowed: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
        let mut mask = vec![false; values.len()];
        for row in repeated_rows(&borrowed) {
            mask[row as usize] = true;
        }
        for (i, (first, repeat)) in expected.iter().zip(mask).enumerate() {
            assert_eq!(repeat, values[i].is_some() && first == Some(false), "row {i}");
        }
    }

    #[test]
    fn batches_find_the_repeats_of_the_whole_column() {
        let values: Vec<Option<String>> = (0..50_000u64)
            .map(|i| (i % 11 != 0).then(|| format!("D{}", i.wrapping_mul(2654435761) % 40_000)))
            .collect();
        let borrowed: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
        let mut whole: Vec<u64> = repeated_rows(&borrowed).into_iter().map(|r| r as u64 + 1).collect();
        whole.sort();
        assert!(whole.len() > 5_000);
        // Uneven batches, one of them empty.
        let bounds = [0, 7, 7, 12_345, 30_000, 50_000];
        let column = Column::new("k".into(), &values);
        let keys = |b: usize| Ok(column.slice(bounds[b] as i64, bounds[b + 1] - bounds[b]));
        let mut repeats = BatchRepeats::hashed(bounds.len() - 1, keys).unwrap();
        let mut found = Vec::new();
        for (b, window) in bounds.windows(2).enumerate() {
            found.extend(repeats.next_batch(&keys(b).unwrap(), window[0] as u64 + 1).unwrap());
        }
        assert_eq!(found, whole);
    }
}
