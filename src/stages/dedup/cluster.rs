//! Clustering: connected components over the links, with cannot-link constraints. A
//! component that would hold a cannot-link pair is rebuilt from its strongest links
//! down, refusing each link that would join the two sides of such a pair, so it splits
//! at its weakest links.

use polars::prelude::PolarsResult;
use rustc_hash::{FxHashMap, FxHashSet};

/// Components larger than this are checked on their own links only: checking every
/// pair inside grows with the square of the size.
const MAX_CHECKED_COMPONENT: usize = 1000;

/// Union–find whose roots are the smallest member, so labels do not depend on the
/// order links arrive in.
pub struct Components {
    parent: Vec<u32>,
}

impl Components {
    pub fn new(n: usize) -> Components {
        Components { parent: (0..n as u32).collect() }
    }

    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let grand = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = grand;
            x = grand;
        }
        x
    }

    pub fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        let (low, high) = (ra.min(rb), ra.max(rb));
        self.parent[high as usize] = low;
    }

    /// Each record's component, named by its smallest member.
    pub fn labels(mut self) -> Vec<u32> {
        (0..self.parent.len() as u32).map(|x| self.find(x)).collect()
    }
}

/// What happened to each link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkFate {
    Kept,
    /// The link's own two records must not be linked.
    CannotLink,
    /// Dropped to keep a cannot-link pair elsewhere in its component apart.
    Split,
}

pub struct Clustering {
    /// Per record, the smallest record number of its cluster.
    pub labels: Vec<u32>,
    pub fates: Vec<LinkFate>,
    /// Components too large to check pair by pair (their own links were checked).
    pub unchecked_components: usize,
}

/// `links` are (a, b, weight); `forbidden(a, b)` evaluates the cannot-link rules on
/// pairs of records and says which must stay apart.
pub fn cluster(
    records: usize,
    links: &[(u32, u32, f64)],
    forbidden: impl Fn(&[u32], &[u32]) -> PolarsResult<Vec<bool>>,
) -> PolarsResult<Clustering> {
    let mut components = Components::new(records);
    for &(a, b, _) in links {
        components.union(a, b);
    }
    let labels = components.labels();
    let mut members: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for &(a, _, _) in links {
        members.entry(labels[a as usize]).or_default();
    }
    for (record, &label) in labels.iter().enumerate() {
        if let Some(m) = members.get_mut(&label) {
            m.push(record as u32);
        }
    }

    // Every pair inside each component (its own links when it is too large).
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let mut unchecked = 0;
    for m in members.values() {
        if m.len() > MAX_CHECKED_COMPONENT {
            unchecked += 1;
            continue;
        }
        for (i, &a) in m.iter().enumerate() {
            for &b in &m[i + 1..] {
                left.push(a);
                right.push(b);
            }
        }
    }
    for &(a, b, _) in links {
        if members[&labels[a as usize]].len() > MAX_CHECKED_COMPONENT {
            left.push(a.min(b));
            right.push(a.max(b));
        }
    }
    let verdict = forbidden(&left, &right)?;
    let mut conflicts: FxHashMap<u32, Vec<(u32, u32)>> = FxHashMap::default();
    for ((&a, &b), bad) in left.iter().zip(&right).zip(verdict) {
        if bad {
            conflicts.entry(labels[a as usize]).or_default().push((a, b));
        }
    }

    let mut fates = vec![LinkFate::Kept; links.len()];
    if conflicts.is_empty() {
        return Ok(Clustering { labels, fates, unchecked_components: unchecked });
    }
    // Rebuild each conflicted component from its strongest links down. Each partial
    // cluster keeps the cannot-link pairs it is part of; two may join when none of the
    // smaller one's pairs reaches into the other. Lists merge smaller into larger, so a
    // component of any size is rebuilt in about (links + pairs) × log steps.
    let direct: FxHashSet<(u32, u32)> = conflicts.values().flatten().copied().collect();
    let mut apart: FxHashMap<u32, Vec<(u32, u32)>> = FxHashMap::default();
    for &(x, y) in &direct {
        apart.entry(x).or_default().push((x, y));
        apart.entry(y).or_default().push((x, y));
    }
    let mut rebuilt = Components::new(records);
    let mut order: Vec<usize> =
        (0..links.len()).filter(|&i| conflicts.contains_key(&labels[links[i].0 as usize])).collect();
    order.sort_by(|&i, &j| {
        links[j].2.total_cmp(&links[i].2).then((links[i].0, links[i].1).cmp(&(links[j].0, links[j].1)))
    });
    for &i in &order {
        let (a, b, _) = links[i];
        let (ra, rb) = (rebuilt.find(a), rebuilt.find(b));
        if ra == rb {
            continue;
        }
        if direct.contains(&(a.min(b), a.max(b))) {
            fates[i] = LinkFate::CannotLink;
            continue;
        }
        let (small, large) = match (apart.get(&ra).map_or(0, Vec::len), apart.get(&rb).map_or(0, Vec::len)) {
            (na, nb) if na <= nb => (ra, rb),
            _ => (rb, ra),
        };
        let pairs = apart.remove(&small).unwrap_or_default();
        let joins_apart = pairs.iter().any(|&(x, y)| {
            let (rx, ry) = (rebuilt.find(x), rebuilt.find(y));
            (rx == small && ry == large) || (rx == large && ry == small)
        });
        if joins_apart {
            fates[i] = LinkFate::Split;
            apart.insert(small, pairs);
            continue;
        }
        rebuilt.union(a, b);
        let root = rebuilt.find(a);
        let mut merged = apart.remove(&large).unwrap_or_default();
        merged.extend(pairs);
        if !merged.is_empty() {
            apart.insert(root, merged);
        }
    }
    let mut all = Components::new(records);
    for (i, &(a, b, _)) in links.iter().enumerate() {
        if fates[i] == LinkFate::Kept {
            all.union(a, b);
        }
    }
    Ok(Clustering { labels: all.labels(), fates, unchecked_components: unchecked })
}
