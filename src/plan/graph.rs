//! The pipeline graph: which nodes may run together, and the path of a cycle if any.

/// A node of the graph: a source (load) or a stage, by index in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeId {
    Source(usize),
    Stage(usize),
}

impl NodeId {
    /// Node `i` of the list sources ++ stages.
    pub fn new(i: usize, source_count: usize) -> Self {
        if i < source_count { NodeId::Source(i) } else { NodeId::Stage(i - source_count) }
    }

    fn flat(self, source_count: usize) -> usize {
        match self {
            NodeId::Source(i) => i,
            NodeId::Stage(i) => i + source_count,
        }
    }

    pub fn stage_index(self) -> usize {
        match self {
            NodeId::Stage(i) => i,
            NodeId::Source(_) => unreachable!("sources have no inputs, so never sit on a cycle"),
        }
    }
}

/// Kahn's algorithm by levels: each level holds nodes whose inputs all come from
/// earlier levels, so a level's nodes can run in parallel. On a cycle, returns its path.
pub fn levels(
    node_count: usize,
    source_count: usize,
    edges: &[(NodeId, NodeId)],
) -> Result<Vec<Vec<NodeId>>, Vec<NodeId>> {
    let mut indegree = vec![0usize; node_count];
    let mut next: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    for &(from, to) in edges {
        let (f, t) = (from.flat(source_count), to.flat(source_count));
        next[f].push(t);
        indegree[t] += 1;
    }
    let mut levels = Vec::new();
    let mut ready: Vec<usize> = (0..node_count).filter(|&n| indegree[n] == 0).collect();
    let mut done = 0;
    while !ready.is_empty() {
        done += ready.len();
        let mut following = Vec::new();
        for &n in &ready {
            for &t in &next[n] {
                indegree[t] -= 1;
                if indegree[t] == 0 {
                    following.push(t);
                }
            }
        }
        following.sort_unstable();
        levels.push(ready.iter().map(|&n| NodeId::new(n, source_count)).collect());
        ready = following;
    }
    if done == node_count {
        return Ok(levels);
    }
    // Every node left has an input left, so walking inputs backwards must revisit one.
    let mut prev = vec![usize::MAX; node_count];
    for &(from, to) in edges {
        let (f, t) = (from.flat(source_count), to.flat(source_count));
        if indegree[f] > 0 && indegree[t] > 0 {
            prev[t] = f;
        }
    }
    let start = (0..node_count).find(|&n| indegree[n] > 0).expect("a node is left");
    let mut seen = vec![false; node_count];
    let mut n = start;
    while !seen[n] {
        seen[n] = true;
        n = prev[n];
    }
    let mut cycle = vec![n];
    let mut m = prev[n];
    while m != n {
        cycle.push(m);
        m = prev[m];
    }
    cycle.reverse();
    Err(cycle.into_iter().map(|i| NodeId::new(i, source_count)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use NodeId::*;

    #[test]
    fn independent_nodes_share_a_level() {
        let edges = [(Source(0), Stage(0)), (Source(1), Stage(0)), (Stage(0), Stage(1)), (Stage(0), Stage(2))];
        let levels = levels(5, 2, &edges).unwrap();
        assert_eq!(levels, vec![vec![Source(0), Source(1)], vec![Stage(0)], vec![Stage(1), Stage(2)]]);
    }

    #[test]
    fn reports_the_cycle_path() {
        let edges = [(Source(0), Stage(0)), (Stage(2), Stage(0)), (Stage(0), Stage(1)), (Stage(1), Stage(2))];
        let cycle = levels(4, 1, &edges).unwrap_err();
        assert_eq!(cycle.len(), 3);
        for pair in [(Stage(0), Stage(1)), (Stage(1), Stage(2)), (Stage(2), Stage(0))] {
            let i = cycle.iter().position(|&n| n == pair.0).unwrap();
            assert_eq!(cycle[(i + 1) % 3], pair.1);
        }
    }
}
