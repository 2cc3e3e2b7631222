//! An invertible Bloom lookup table of 48-bit keys of id hashes (Eppstein,
//! Goodrich, Uyeda and Varghese, "What's the Difference? Efficient Set
//! Reconciliation without Prior Context", SIGCOMM 2011).
//!
//! A table summarises a set in a few cells however large the set is: each
//! key is added to one cell in each of [`K`] subtables, and a cell keeps
//! how many keys it holds and the XOR of the keys. Tables are linear: the table of a set minus the table
//! of another is the table of their difference, and when that difference
//! is small (about two thirds of the cells, see [`capacity`]) it can be
//! *peeled*: a cell holding exactly one key names it, removing that key
//! from its other cells frees more, until every cell is empty. Keys left
//! with a count of +1 are in the first set only, −1 in the second only.
//!
//! Each subtable has a power-of-two number of cells and a key's cell is its
//! hash modulo that number, so a table *folds* to half its size (cell `j`
//! plus cell `j + size/2`) and stays the table of the same set: neighbours
//! of different sizes can be added once the larger is folded, and a table
//! can be shrunk to fit the snapshot at the cost of capacity only.
//!
//! The subtables keep a key's [`K`] cells distinct, so a key is never
//! added twice to one cell. A cell is packed in 7 bytes: its count modulo
//! 2^8 and its key sum. There is no check sum: its 16 bits buy more cells
//! instead, since the caller knows the ids it read
//! ([`Iblt::decode_with`]): a key counted +1 is taken only when it is
//! among them and its cell is where its hash puts it, −1 only when it is
//! not among them, and a decode is exact only when the table of what it
//! found is the difference, cell for cell; anything else falls back to
//! emitting again (at least once), never to dropping a key.
//!
//! Keys are the low 48 bits of the 64-bit [`id_hash`] of ids, those
//! read included, which saves 2 bytes a cell. Two ids of one stretch
//! sharing a key are both counted, so the new one is still found (the
//! emitted one comes again: one repeat). A new id is lost only when its
//! key equals that of an id emitted from the same stretch *and deleted
//! since*: the two cancel. The chance per late record is at most
//! |stretch|/2^48, about 3·10^-10 for a stretch of 90,000 ids.
//!
//! [`id_hash`]: crate::polling::tracker::id_hash

use std::collections::HashSet;

/// Cells each key is added to: one per subtable.
pub(crate) const K: usize = 3;

/// The largest subtable, as a power of two: 2^6 = 64 cells each, 192 in
/// all, which a snapshot can hold only one of.
pub(crate) const MAX_LOG2: u8 = 6;

/// Bytes of one packed cell: count (1), key sum (6).
pub(crate) const CELL_BYTES: usize = 7;

/// Keys are ids' 64-bit hashes cut to their low 48 bits.
pub(crate) const KEY_BITS: u32 = 48;
const KEY_MASK: u64 = (1 << KEY_BITS) - 1;

const SEEDS: [u64; K] = [
    0x9e37_79b9_7f4a_7c15,
    0xc2b2_ae3d_27d4_eb4f,
    0x1656_67b1_9e37_79f9,
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cell {
    count: i8,
    key_sum: u64,
}

impl Cell {
    fn is_empty(&self) -> bool {
        self.count == 0 && self.key_sum == 0
    }

    fn toggle(&mut self, key: u64, sign: i8) {
        self.count = self.count.wrapping_add(sign);
        self.key_sum ^= key;
    }
}

/// A table of `K` subtables of `2^log2` cells each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Iblt {
    log2: u8,
    cells: Vec<Cell>,
}

/// What peeling a difference found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Difference {
    /// Keys in the first set only (count +1): new.
    pub added: Vec<u64>,
    /// Keys in the second set only (count −1): gone.
    pub removed: Vec<u64>,
}

/// Why a table could not be decoded or read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Undecodable {
    /// More keys differ than the cells can tell apart; the keys peeled
    /// before peeling stopped are given (all of them correct with the
    /// chance stated in the module's comment), and the table of the rest.
    Overfull(Difference, Iblt),
}

/// How many differing keys a table of `K × 2^log2` cells tells apart
/// by peeling with a chance of 99% or more, as the tests measure it:
/// 1 key up to 12 cells, 2 in 24, 8 in 48, 20 in 96, 60 in 192. Small
/// tables fail mostly on keys that share every cell, which
/// [`Iblt::decode_with`] splits given the ids read ([`guided_capacity`]).
#[cfg(test)]
pub(crate) fn capacity(log2: u8) -> usize {
    [1, 1, 1, 2, 8, 20, 60][usize::from(log2.min(MAX_LOG2))]
}

/// How many new ids among those read a table of `K × 2^log2` cells
/// tells apart by [`Iblt::decode_with`] with a chance of 99% or more, as
/// the tests measure it with up to 3,000 ids read.
#[cfg(test)]
pub(crate) fn guided_capacity(log2: u8) -> usize {
    [3, 3, 4, 8, 16, 32, 64][usize::from(log2.min(MAX_LOG2))]
}

/// The key of an id's 64-bit hash.
pub(crate) fn key_of(hash: u64) -> u64 {
    hash & KEY_MASK
}

/// SplitMix64's finaliser: every bit of the key moves every bit out.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Iblt {
    /// An empty table of `K × 2^log2` cells (`log2` at most [`MAX_LOG2`]).
    pub(crate) fn new(log2: u8) -> Iblt {
        let log2 = log2.min(MAX_LOG2);
        Iblt {
            log2,
            cells: vec![Cell::default(); K << log2],
        }
    }

    /// The table of `keys` at this size.
    pub(crate) fn of(log2: u8, keys: impl IntoIterator<Item = u64>) -> Iblt {
        let mut table = Iblt::new(log2);
        for key in keys {
            table.insert(key);
        }
        table
    }

    pub(crate) fn log2(&self) -> u8 {
        self.log2
    }

    /// Cells in all.
    pub(crate) fn cells(&self) -> usize {
        self.cells.len()
    }

    fn width(&self) -> usize {
        1 << self.log2
    }

    /// Where `key` lies in subtable `i`.
    fn index(&self, i: usize, key: u64) -> usize {
        i * self.width() + (mix((key & KEY_MASK) ^ SEEDS[i]) as usize & (self.width() - 1))
    }

    fn toggle(&mut self, key: u64, sign: i8) {
        let key = key & KEY_MASK;
        for i in 0..K {
            let at = self.index(i, key);
            self.cells[at].toggle(key, sign);
        }
    }

    pub(crate) fn insert(&mut self, key: u64) {
        self.toggle(key, 1);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.cells.iter().all(Cell::is_empty)
    }

    /// The same set's table at half the size (nothing when it has one cell
    /// per subtable already).
    pub(crate) fn fold(&self) -> Iblt {
        if self.log2 == 0 {
            return self.clone();
        }
        let half = self.width() / 2;
        let mut out = Iblt::new(self.log2 - 1);
        for i in 0..K {
            for j in 0..half {
                let a = self.cells[i * self.width() + j];
                let b = self.cells[i * self.width() + j + half];
                out.cells[i * half + j] = Cell {
                    count: a.count.wrapping_add(b.count),
                    key_sum: a.key_sum ^ b.key_sum,
                };
            }
        }
        out
    }

    /// Folded down to `2^log2` cells per subtable (never grown).
    pub(crate) fn folded_to(&self, log2: u8) -> Iblt {
        let mut out = self.clone();
        while out.log2 > log2 {
            out = out.fold();
        }
        out
    }

    /// The table of the union of two disjoint sets (of the sum, for
    /// multisets), at the smaller of the two sizes.
    pub(crate) fn add(&self, other: &Iblt) -> Iblt {
        self.combine(other, 1)
    }

    /// The table of `self`'s set less `other`'s: peel it for their
    /// difference.
    pub(crate) fn subtract(&self, other: &Iblt) -> Iblt {
        self.combine(other, -1)
    }

    fn combine(&self, other: &Iblt, sign: i8) -> Iblt {
        let log2 = self.log2.min(other.log2);
        let mut out = self.folded_to(log2);
        let other = other.folded_to(log2);
        for (a, b) in out.cells.iter_mut().zip(&other.cells) {
            a.count = a.count.wrapping_add(sign.wrapping_mul(b.count));
            a.key_sum ^= b.key_sum;
        }
        out
    }

    /// The keys of a difference table: those counted once (added) and
    /// those counted minus once (removed). Exact when keys were only
    /// added (a count of 1 is then one key); with keys removed too, a
    /// cell of several can look pure, which [`Iblt::decode_with`] guards.
    #[cfg(test)]
    pub(crate) fn peel(&self) -> Result<Difference, Undecodable> {
        self.peel_among(None)
    }

    /// Peeling, taking a key at +1 only when it is among `read` (when
    /// given): a cell of several keys whose count wrapped to 1 (256 + 1
    /// keys) or that holds deleted keys too names a key that is not.
    fn peel_among(&self, read: Option<&HashSet<u64>>) -> Result<Difference, Undecodable> {
        let mut table = self.clone();
        let mut found = Difference::default();
        let mut pending: Vec<usize> = (0..table.cells.len()).collect();
        // A key named twice was named wrongly once (a cell of several keys
        // that looked pure): peeling stops rather than going round.
        let mut named = HashSet::new();
        while let Some(at) = pending.pop() {
            let cell = table.cells[at];
            let sign = match cell.count {
                1 => 1,
                -1 => -1,
                _ => continue,
            };
            let key = cell.key_sum;
            if table.index(at / table.width(), key) != at
                || (sign == 1 && read.is_some_and(|r| !r.contains(&key)))
            {
                continue;
            }
            if !named.insert(key) {
                break;
            }
            if sign == 1 {
                found.added.push(key);
            } else {
                found.removed.push(key);
            }
            table.toggle(key, -sign);
            for i in 0..K {
                pending.push(table.index(i, key));
            }
        }
        if table.is_empty() {
            Ok(found)
        } else {
            Err(Undecodable::Overfull(found, table))
        }
    }

    /// The keys of a difference table whose added keys are among `read`
    /// (the ids a re-read found, when ids are only ever added): plain
    /// peeling first, then *guided* decoding of what it leaves. A cell
    /// holding `c` added keys (1 ≤ c ≤ 3) holds them among the ids read
    /// that lie in it and whose every cell is still taken; their XOR is
    /// the cell's key sum, so they are found by enumeration (one key: the
    /// sum itself; two: a partner for each; three: a third for each pair),
    /// and the cell is taken only when exactly one such set exists and
    /// removing it empties the cell and leaves no count below zero. Keys
    /// at −1 (deleted, not among the ids read) peel as before. At the end
    /// the table of what was found must be this table exactly, or the
    /// decode failed: it never returns a wrong set as exact.
    pub(crate) fn decode_with(&self, read: &HashSet<u64>) -> Result<Difference, Undecodable> {
        let read: HashSet<u64> = read.iter().map(|k| k & KEY_MASK).collect();
        let (mut found, mut table) = match self.peel_among(Some(&read)) {
            // Emptied, so the table of what was found is this table.
            Ok(diff) if diff.removed.is_empty() => return Ok(diff),
            Ok(diff) => (diff, Iblt::new(self.log2)),
            Err(Undecodable::Overfull(found, rest)) => (found, rest),
        };
        if table.is_empty() || !found.removed.is_empty() {
            found.removed.clear();
            return Err(Undecodable::Overfull(found, self.clone()));
        }
        // What a failure leaves to rule ids out with: the residual of
        // peeling, whose keys are each the one key of a cell and among
        // those read. Not the enumeration's, which can take a wrong set
        // where counts wrapped (256 + 3 keys look like 3): a wrong key
        // could empty a cell and rule a new id out.
        let peeled = table.clone();
        let named: HashSet<u64> = found.added.iter().copied().collect();
        // The ids read that may still be in the residual, by cell.
        let mut bucket: Vec<Vec<u64>> = vec![Vec::new(); table.cells.len()];
        for &key in &read {
            if !named.contains(&key) && table.may_hold(key) {
                for i in 0..K {
                    bucket[table.index(i, key)].push(key);
                }
            }
        }
        let mut taken: HashSet<u64> = HashSet::new();
        let mut progress = true;
        while progress && !table.is_empty() {
            progress = false;
            for (at, lying_here) in bucket.iter().enumerate() {
                let cell = table.cells[at];
                if cell.is_empty() {
                    continue;
                }
                if cell.count == -1 {
                    let key = cell.key_sum;
                    if !read.contains(&key)
                        && table.index(at / table.width(), key) == at
                        && taken.insert(key)
                    {
                        found.removed.push(key);
                        table.toggle(key, 1);
                        progress = true;
                    }
                    continue;
                }
                let Ok(c) = usize::try_from(cell.count) else {
                    continue;
                };
                if !(1..=3).contains(&c) {
                    continue;
                }
                let candidates: Vec<u64> = lying_here
                    .iter()
                    .copied()
                    .filter(|k| !taken.contains(k) && table.may_hold(*k))
                    .collect();
                if let Some(keys) = table.solve(at, c, &candidates) {
                    for key in keys {
                        table.toggle(key, -1);
                        taken.insert(key);
                        found.added.push(key);
                    }
                    progress = true;
                }
            }
        }
        // A key at −1 is taken on its cell's word alone, which a cell of
        // several keys can give (one added and two deleted): with ids
        // deleted, nothing decoded is exact, and what may be new is read
        // off the whole difference, not off a residual a wrong key made.
        if !found.removed.is_empty() {
            found.removed.clear();
            return Err(Undecodable::Overfull(found, self.clone()));
        }
        let exact = table.is_empty() && found.added.iter().all(|k| read.contains(k)) && {
            let mut again = Iblt::of(self.log2, found.added.iter().copied());
            for &key in &found.removed {
                again.toggle(key, -1);
            }
            again == *self
        };
        if exact {
            Ok(found)
        } else {
            Err(Undecodable::Overfull(found, peeled))
        }
    }

    /// The one set of `c` keys of `candidates` that cell `at` can hold:
    /// removing them empties it and leaves every count they touch at zero
    /// or more. `None` when there is none or more than one.
    fn solve(&self, at: usize, c: usize, candidates: &[u64]) -> Option<Vec<u64>> {
        // Pairs of candidates are tried for three keys: bounded, so a
        // stretch of a hundred thousand ids costs milliseconds.
        const MOST_FOR_THREE: usize = 3_000;
        let x = self.cells[at].key_sum;
        let set: HashSet<u64> = candidates.iter().copied().collect();
        let mut solution: Option<Vec<u64>> = None;
        let mut consider = |keys: Vec<u64>| -> bool {
            if !self.fits(at, &keys) {
                return true;
            }
            if solution.is_some() {
                return false;
            }
            solution = Some(keys);
            true
        };
        match c {
            1 => {
                if set.contains(&x) && !consider(vec![x]) {
                    return None;
                }
            }
            2 => {
                for &a in candidates {
                    let b = a ^ x;
                    if a < b && set.contains(&b) && !consider(vec![a, b]) {
                        return None;
                    }
                }
            }
            _ => {
                if candidates.len() > MOST_FOR_THREE {
                    return None;
                }
                let mut sorted = candidates.to_vec();
                sorted.sort_unstable();
                for (i, &a) in sorted.iter().enumerate() {
                    for &b in &sorted[i + 1..] {
                        let z = x ^ a ^ b;
                        if z > b && set.contains(&z) && !consider(vec![a, b, z]) {
                            return None;
                        }
                    }
                }
            }
        }
        solution
    }

    /// Whether removing `keys` (added ones) empties cell `at` and leaves
    /// no count they touch below zero.
    fn fits(&self, at: usize, keys: &[u64]) -> bool {
        let mut after = self.clone();
        for &key in keys {
            after.toggle(key, -1);
        }
        after.cells[at].is_empty()
            && keys
                .iter()
                .flat_map(|&k| (0..K).map(move |i| (i, k)))
                .all(|(i, k)| after.cells[after.index(i, k)].count >= 0)
    }

    /// Whether `key` may be among the keys of this table: false when one
    /// of its cells is empty, which a key in the table never leaves (its
    /// cell would hold it, or a sum of keys that cancels it, a chance of
    /// 2^-64). What peeling could not name is among the keys that may be.
    pub(crate) fn may_hold(&self, key: u64) -> bool {
        (0..K).all(|i| !self.cells[self.index(i, key)].is_empty())
    }

    /// Append the packed cells: the count's byte, the key sum's six
    /// bytes little-endian.
    pub(crate) fn pack(&self, out: &mut Vec<u8>) {
        for cell in &self.cells {
            out.extend_from_slice(&cell.count.to_le_bytes());
            out.extend_from_slice(&cell.key_sum.to_le_bytes()[..6]);
        }
    }

    /// Read a table of `2^log2` cells per subtable from the front of
    /// `bytes`, and what follows it; `None` when there are too few bytes.
    pub(crate) fn unpack(log2: u8, bytes: &[u8]) -> Option<(Iblt, &[u8])> {
        if log2 > MAX_LOG2 {
            return None;
        }
        let n = K << log2;
        let body = bytes.get(..n * CELL_BYTES)?;
        let cells = body
            .chunks_exact(CELL_BYTES)
            .map(|c| Cell {
                count: i8::from_le_bytes([c[0]]),
                key_sum: u64::from_le_bytes([c[1], c[2], c[3], c[4], c[5], c[6], 0, 0]),
            })
            .collect();
        Some((Iblt { log2, cells }, &bytes[n * CELL_BYTES..]))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashSet};

    use proptest::prelude::*;

    use super::*;

    /// A key from a number.
    fn key(n: u64) -> u64 {
        key_of(mix(n))
    }

    fn sorted(mut keys: Vec<u64>) -> Vec<u64> {
        keys.sort_unstable();
        keys
    }

    /// Two sets with a common part and `only_a`/`only_b` keys of their own.
    fn sets(common: &BTreeSet<u64>, only_a: &[u64], only_b: &[u64]) -> (Vec<u64>, Vec<u64>) {
        let a = common.iter().chain(only_a).copied().collect();
        let b = common.iter().chain(only_b).copied().collect();
        (a, b)
    }

    fn distinct(keys: Vec<u64>) -> Vec<u64> {
        keys.into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    proptest! {
        /// Guided decoding of new ids among those read is exact or says
        /// it failed, and succeeds at the stated capacity.
        #[test]
        fn guided_decodes_exactly_or_says_so(
            read in proptest::collection::btree_set(0u64..1 << KEY_BITS, 1..3_000),
            share in 0usize..=100,
            log2 in 0u8..=MAX_LOG2,
        ) {
            let read: Vec<u64> = read.into_iter().collect();
            // Up to twice the capacity, where failures happen.
            let d = (2 * guided_capacity(log2) * share / 100).min(read.len());
            let (new, old) = read.split_at(d);
            let table = Iblt::of(log2, read.iter().copied()).subtract(&Iblt::of(log2, old.iter().copied()));
            let set: HashSet<u64> = read.iter().copied().collect();
            match table.decode_with(&set) {
                Ok(diff) => {
                    prop_assert_eq!(sorted(diff.added), sorted(new.to_vec()));
                    prop_assert!(diff.removed.is_empty());
                }
                Err(_) => prop_assert!(d > 1, "one key always decodes"),
            }
        }

        /// A decode is exact or says it failed. (Sizes here are small
        /// enough that failures happen.) Without a check sum the keys
        /// named before a failure may be wrong where keys were removed
        /// too; callers treat them as candidates only.
        #[test]
        fn decodes_exactly_or_says_so(
            common in proptest::collection::btree_set(0u64..1 << KEY_BITS, 0..500),
            diff in proptest::collection::vec(0u64..1 << KEY_BITS, 0..40),
            log2 in 0u8..=MAX_LOG2,
        ) {
            let diff: Vec<u64> = distinct(diff).into_iter().filter(|k| !common.contains(k)).collect();
            // Keys only added: with keys removed too a cell of several
            // keys can look pure (decode_with then falls back).
            let (only_a, only_b) = diff.split_at(diff.len());
            let (a, b) = sets(&common, only_a, only_b);
            let table = Iblt::of(log2, a).subtract(&Iblt::of(log2, b));
            match table.peel() {
                Ok(d) => {
                    prop_assert_eq!(sorted(d.added), sorted(only_a.to_vec()));
                    prop_assert_eq!(sorted(d.removed), sorted(only_b.to_vec()));
                }
                Err(Undecodable::Overfull(partial, _)) => {
                    prop_assert!(diff.len() > 1, "one key always decodes");
                    if only_b.is_empty() {
                        for k in &partial.added { prop_assert!(only_a.contains(k)); }
                    }
                }
            }
        }

        /// Folding and adding give the table of the same set, however
        /// they are combined.
        #[test]
        fn fold_and_add_are_linear(
            a in proptest::collection::btree_set(0u64..1 << KEY_BITS, 0..200),
            b in proptest::collection::btree_set(0u64..1 << KEY_BITS, 0..200),
            big in 1u8..=MAX_LOG2,
            small in 0u8..=MAX_LOG2,
        ) {
            let small = small.min(big);
            prop_assert_eq!(Iblt::of(big, a.iter().copied()).folded_to(small), Iblt::of(small, a.iter().copied()));
            let both: Vec<u64> = a.iter().chain(&b).copied().collect();
            prop_assert_eq!(
                Iblt::of(big, a.iter().copied()).add(&Iblt::of(small, b.iter().copied())),
                Iblt::of(small, both.iter().copied())
            );
            let table = Iblt::of(big, both.iter().copied()).subtract(&Iblt::of(big, b.iter().copied()));
            // Subtracting a part leaves the other part's table, as for
            // multisets: keys in both sets are counted twice, then once.
            prop_assert_eq!(table, Iblt::of(big, a.iter().copied()));
        }

        #[test]
        fn packs_and_unpacks(keys in proptest::collection::vec(0u64..1 << KEY_BITS, 0..300), log2 in 0u8..=MAX_LOG2) {
            let table = Iblt::of(log2, keys);
            let mut bytes = Vec::new();
            table.pack(&mut bytes);
            bytes.push(7);
            prop_assert_eq!(bytes.len(), table.cells() * CELL_BYTES + 1);
            let (back, rest) = Iblt::unpack(log2, &bytes).expect("enough bytes");
            prop_assert_eq!(back, table);
            prop_assert_eq!(rest, &[7u8][..]);
            prop_assert!(Iblt::unpack(log2, &bytes[..bytes.len() - 2]).is_none());
        }
    }

    /// What [`capacity`] promises: differences of that many keys decode
    /// in at least 99 of 100 tries, at every size, whatever the size of
    /// the sets (counts wrap; the difference is what matters).
    #[test]
    fn capacity_holds_in_99_of_100() {
        let mut seed = 1u64;
        let mut next = move || {
            seed = mix(seed.wrapping_add(0x9e37_79b9_7f4a_7c15));
            key_of(seed)
        };
        for log2 in 0..=MAX_LOG2 {
            let d = capacity(log2);
            let tries = 1_000;
            let mut ok = 0;
            for _ in 0..tries {
                let common: Vec<u64> = (0..70).map(|_| next()).collect();
                let extra: Vec<u64> = (0..d).map(|_| next()).collect();
                let (added, removed) = extra.split_at(d);
                let a: Vec<u64> = common.iter().chain(added).copied().collect();
                let b: Vec<u64> = common.iter().chain(removed).copied().collect();
                if let Ok(diff) = Iblt::of(log2, a).subtract(&Iblt::of(log2, b)).peel() {
                    assert_eq!(sorted(diff.added), sorted(added.to_vec()));
                    assert_eq!(sorted(diff.removed), sorted(removed.to_vec()));
                    ok += 1;
                }
            }
            assert!(
                ok * 100 >= tries * 99,
                "{} cells, {d} keys: {ok} of {tries} decoded",
                K << log2
            );
        }
    }

    #[test]
    fn two_keys_in_the_same_cells_are_split_given_the_ids_read() {
        // With one cell per subtable every pair shares every cell.
        let read: HashSet<u64> = (0..1_000u64).map(key).collect();
        let (a, b) = (key(17), key(923));
        let emitted = Iblt::of(0, read.iter().copied().filter(|k| *k != a && *k != b));
        let table = Iblt::of(0, read.iter().copied()).subtract(&emitted);
        let Err(Undecodable::Overfull(found, rest)) = table.peel() else {
            panic!("two keys in three cells do not peel");
        };
        assert!(found.added.is_empty());
        assert!(rest.may_hold(a) && rest.may_hold(b));
        let diff = table.decode_with(&read).expect("guided");
        assert_eq!(sorted(diff.added), sorted(vec![a, b]));
        let mut without_b = read.clone();
        without_b.remove(&b);
        assert!(table.decode_with(&without_b).is_err());
    }

    /// Where plain peeling cannot start (three new keys in the one cell of
    /// each subtable), the ids read name them.
    #[test]
    fn three_keys_in_the_same_cells_are_found_among_the_ids_read() {
        let read: HashSet<u64> = (0..2_000u64).map(key).collect();
        let new = [key(5), key(700), key(1_999)];
        let emitted = Iblt::of(0, read.iter().copied().filter(|k| !new.contains(k)));
        let table = Iblt::of(0, read.iter().copied()).subtract(&emitted);
        assert!(
            table.peel().is_err(),
            "three keys in three cells do not peel"
        );
        let diff = table.decode_with(&read).expect("guided");
        assert_eq!(sorted(diff.added), sorted(new.to_vec()));
        assert!(diff.removed.is_empty());
    }

    /// Guided decoding's capacity: `new` of the ids read, at every size,
    /// found exactly in at least 99 of 100 tries, and never a wrong set.
    #[test]
    fn guided_capacity_holds_in_99_of_100() {
        let mut seed = 11u64;
        let mut next = move || {
            seed = mix(seed.wrapping_add(0x9e37_79b9_7f4a_7c15));
            key_of(seed)
        };
        for log2 in 0..=MAX_LOG2 {
            let d = guided_capacity(log2);
            let tries = 300;
            let mut ok = 0;
            for t in 0..tries {
                let n = [50, 500, 3_000][t % 3];
                let read: Vec<u64> = (0..n).map(|_| next()).collect();
                let new = &read[..d.min(n)];
                let emitted = Iblt::of(log2, read[d.min(n)..].iter().copied());
                let table = Iblt::of(log2, read.iter().copied()).subtract(&emitted);
                let set: HashSet<u64> = read.iter().copied().collect();
                if let Ok(diff) = table.decode_with(&set) {
                    assert_eq!(sorted(diff.added), sorted(new.to_vec()), "a wrong set");
                    ok += 1;
                }
            }
            assert!(
                ok * 100 >= tries * 99,
                "{} cells, {d} keys: {ok} of {tries} decoded",
                K << log2
            );
        }
    }

    /// More new ids than a count tells apart (259 look like 3 modulo
    /// 256): the decode fails, and what it leaves still holds every new
    /// id, however the enumeration went.
    #[test]
    fn counts_that_wrap_never_rule_a_new_id_out() {
        for (log2, seed) in [(0u8, 1u64), (0, 2), (1, 3), (2, 4)] {
            let read: Vec<u64> = (0..3_000u64).map(|n| key(n ^ (seed << 32))).collect();
            let (new, old) = read.split_at(259);
            let table =
                Iblt::of(log2, read.iter().copied()).subtract(&Iblt::of(log2, old.iter().copied()));
            let set: HashSet<u64> = read.iter().copied().collect();
            match table.decode_with(&set) {
                Ok(diff) => assert_eq!(sorted(diff.added), sorted(new.to_vec())),
                Err(Undecodable::Overfull(found, rest)) => {
                    for k in new {
                        assert!(
                            found.added.contains(k) || rest.may_hold(*k),
                            "{k} ruled out"
                        );
                    }
                }
            }
        }
    }

    /// Keys a difference holds always may be held; of the others, those
    /// with an empty cell are ruled out.
    #[test]
    fn what_peeling_leaves_is_among_the_keys_that_may_be_held() {
        let keys: Vec<u64> = (0..40u64).map(key).collect();
        let table = Iblt::of(4, keys.iter().copied());
        assert!(table.peel().is_err(), "40 keys in 48 cells do not peel");
        assert!(keys.iter().all(|k| table.may_hold(*k)));
        let others = (1_000..11_000u64)
            .map(key)
            .filter(|k| table.may_hold(*k))
            .count();
        assert!(others < 10_000, "{others} of 10,000 others may be held");
        assert!(!Iblt::new(4).may_hold(keys[0]));
    }

    #[test]
    fn a_large_set_against_itself_plus_a_few() {
        let common: Vec<u64> = (0..1_000_000u64).map(key).collect();
        let late = [key(u64::MAX), key(u64::MAX - 1), key(u64::MAX - 2)];
        let emitted = Iblt::of(3, common.iter().copied());
        let read = Iblt::of(3, common.iter().chain(&late).copied());
        let diff = read
            .subtract(&emitted)
            .peel()
            .expect("three keys in 24 cells");
        assert_eq!(sorted(diff.added), sorted(late.to_vec()));
        assert!(diff.removed.is_empty());
    }
}
