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
}
