//! Circles in a directed graph of files: its strongly connected components
//! of two or more files (Tarjan's algorithm, without recursion so that a
//! deep graph cannot overflow the stack).

use std::collections::{BTreeMap, BTreeSet};

/// Files and who imports whom, with the names each import takes.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    /// From file → to file → the names the first takes from the second.
    pub edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

impl Graph {
    /// `from` imports `name` from `to`; an import of a file from itself
    /// is no edge.
    pub(crate) fn add(&mut self, from: &str, to: &str, name: &str) {
        if from == to {
            return;
        }
        self.edges
            .entry(from.to_owned())
            .or_default()
            .entry(to.to_owned())
            .or_default()
            .insert(name.to_owned());
    }

    /// Every circle: the files that import each other in a loop, each list
    /// sorted, the lists sorted.
    pub(crate) fn circles(&self) -> Vec<Vec<String>> {
        let mut nodes: BTreeSet<&str> = BTreeSet::new();
        for (from, tos) in &self.edges {
            nodes.insert(from);
            nodes.extend(tos.keys().map(String::as_str));
        }
        let nodes: Vec<&str> = nodes.into_iter().collect();
        let index: BTreeMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let succ: Vec<Vec<usize>> = nodes
            .iter()
            .map(|n| {
                self.edges
                    .get(*n)
                    .map(|tos| tos.keys().map(|t| index[t.as_str()]).collect())
                    .unwrap_or_default()
            })
            .collect();
        let mut out: Vec<Vec<String>> = strongly_connected(&succ)
            .into_iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let mut files: Vec<String> = c.iter().map(|&i| nodes[i].to_owned()).collect();
                files.sort();
                files
            })
            .collect();
        out.sort();
        out
    }

    /// The edges between files of `circle`, as `a -> b: names` lines.
    pub(crate) fn ties(&self, circle: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for from in circle {
            let Some(tos) = self.edges.get(from) else {
                continue;
            };
            for (to, names) in tos.iter().filter(|(t, _)| circle.contains(t)) {
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                out.push(format!("{from} -> {to}: {}", names.join(", ")));
            }
        }
        out
    }
}

/// Tarjan's strongly connected components of the graph `succ` (node →
/// successors), iteratively.
fn strongly_connected(succ: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let n = succ.len();
    let mut order = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut next = 0;
    let mut components = Vec::new();
    for root in 0..n {
        if order[root] != UNSEEN {
            continue;
        }
        // (node, how many of its successors are done)
        let mut work = vec![(root, 0)];
        order[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut i)) = work.last_mut() {
            if let Some(&w) = succ[v].get(*i) {
                *i += 1;
                if order[w] == UNSEEN {
                    order[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(order[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == order[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::default();
        for (a, b) in edges {
            g.add(a, b, "x");
        }
        g
    }

    #[test]
    fn a_tree_of_imports_has_no_circle() {
        let g = graph(&[("a", "b"), ("a", "c"), ("b", "c"), ("c", "d")]);
        assert!(g.circles().is_empty());
    }

    #[test]
    fn a_loop_is_one_circle_and_what_hangs_off_it_is_not() {
        let g = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("d", "a"), ("c", "e")]);
        assert_eq!(g.circles(), vec![vec!["a", "b", "c"]]);
        assert_eq!(g.ties(&g.circles()[0]).len(), 3);
    }

    #[test]
    fn two_loops_apart_are_two_circles_and_joined_are_one() {
        let apart = graph(&[("a", "b"), ("b", "a"), ("c", "d"), ("d", "c"), ("b", "c")]);
        assert_eq!(apart.circles(), vec![vec!["a", "b"], vec!["c", "d"]]);
        let joined = graph(&[
            ("a", "b"),
            ("b", "a"),
            ("c", "d"),
            ("d", "c"),
            ("b", "c"),
            ("d", "a"),
        ]);
        assert_eq!(joined.circles(), vec![vec!["a", "b", "c", "d"]]);
    }

    #[test]
    fn a_file_that_names_itself_is_no_circle() {
        let g = graph(&[("a", "a"), ("a", "b")]);
        assert!(g.circles().is_empty());
    }

    #[test]
    fn a_long_chain_does_not_overflow() {
        let names: Vec<String> = (0..50_000).map(|i| format!("f{i}")).collect();
        let mut g = Graph::default();
        for w in names.windows(2) {
            g.add(&w[0], &w[1], "x");
        }
        assert!(g.circles().is_empty());
        g.add(&names[names.len() - 1], &names[0], "x");
        assert_eq!(g.circles()[0].len(), 50_000);
    }
}
