//! PinSketch: a set's summary of `c` field elements from which any
//! difference of at most `c` elements is recovered exactly (Dodis,
//! Ostrovsky, Reyzin and Smith, "Fuzzy Extractors", 2004; the structure of
//! Bitcoin's minisketch, Naumenko et al., "Erlay", CCS 2019).
//!
//! Keys are ids' 64-bit hashes mapped to the nonzero elements of
//! GF(2^48). A set's sketch of capacity `c` is the odd power sums
//! `Σx, Σx³, …, Σx^(2c−1)` of its keys: the syndromes of a binary BCH
//! code of designed distance `2c + 1`. In characteristic 2 adding a key
//! twice removes it, so sketches are linear: the sketch of what a re-read
//! found plus the stored one is the sketch of the keys in one set only.
//! Berlekamp–Massey turns those syndromes into the polynomial whose roots
//! are exactly the differing keys when there are at most `c`; the roots
//! are then looked for among the ids read, since a new id is one of them.
//! The other roots are ids emitted and deleted since (a profile deleted
//! takes its events): they are found in the field itself, by Berlekamp's
//! trace algorithm, so that deletions and new ids together up to `c` are
//! told apart too, rather than the whole stretch emitted again.
//!
//! Against an invertible Bloom lookup table of the same bytes (Eppstein
//! et al., SIGCOMM 2011, which 1.2.0 used) this holds about three times
//! more: 6 bytes name one key for certain, where peeling needs about
//! 1.5 cells of 7 bytes and fails by chance below its capacity. A sketch
//! is shrunk by dropping its last sums (capacity one less) and
//! neighbours add sum by sum at the smaller capacity.
//!
//! Keys take 48 bits, so two ids of one stretch may share one (about
//! |stretch|²/2^49 of the time): both are counted and both emitted when
//! the key is new (one repeat, never a loss). A new id is lost only when
//! its key equals that of an id emitted from the same stretch *and
//! deleted since*: the two cancel. The chance per late record is at most
//! |stretch|/2^48, about 3·10^-10 for a stretch of 90,000 ids.

use std::collections::HashSet;

/// Bits of a key: the field is GF(2^48).
const BITS: u32 = 48;
const MASK: u64 = (1 << BITS) - 1;

/// The field's modulus x^48 + x^11 + x^5 + x + 1, irreducible over GF(2)
/// (the test checks it): its terms below x^48, which `reduce` multiplies
/// by with shifts.
#[cfg(test)]
const LOW: u64 = (1 << 11) | (1 << 5) | (1 << 1) | 1;

/// Bytes of one packed sum.
pub(crate) const ELEMENT_BYTES: usize = 6;

/// The largest capacity a sketch is built at: 384 bytes, a tenth of
/// what a snapshot holds.
pub(crate) const MAX_CAPACITY: usize = 64;

/// The key of an id's 64-bit hash: a nonzero element of the field (a
/// zero key would add nothing to any sum).
pub(crate) fn key_of(hash: u64) -> u64 {
    hash % MASK + 1
}

/// Multiplication by one fixed element, by 4-bit windows: sixteen
/// multiples once, then twelve look-ups per product.
struct Times([u64; 16]);

impl Times {
    fn of(a: u64) -> Times {
        let mut t = [0u64; 16];
        for i in 1..16 {
            t[i] = if i % 2 == 1 {
                t[i - 1] ^ a
            } else {
                t[i / 2] << 1
            };
        }
        Times(t)
    }

    fn mul(&self, b: u64) -> u64 {
        let mut r: u128 = 0;
        for k in (0..BITS / 4).rev() {
            r = (r << 4) ^ u128::from(self.0[((b >> (4 * k)) & 15) as usize]);
        }
        reduce(r)
    }
}

/// A product of degree up to 94 brought below 48 with
/// x^48 = x^11 + x^5 + x + 1.
fn reduce(mut r: u128) -> u64 {
    for _ in 0..2 {
        let hi = r >> BITS;
        r = (r & u128::from(MASK)) ^ hi ^ (hi << 1) ^ (hi << 5) ^ (hi << 11);
    }
    r as u64
}

fn mul(a: u64, b: u64) -> u64 {
    Times::of(a).mul(b)
}

/// a^(2^48 − 2), the inverse of a nonzero `a`.
fn inverse(a: u64) -> u64 {
    let mut result = 1;
    let mut square = a;
    // 2^48 − 2 is 47 ones followed by a zero.
    for bit in 0..BITS {
        if bit > 0 {
            result = mul(result, square);
        }
        square = mul(square, square);
    }
    result
}

/// The odd power sums `Σx, Σx³, …` of a set of keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sketch {
    sums: Vec<u64>,
}

impl Sketch {
    /// An empty sketch that tells `capacity` differing keys apart.
    pub(crate) fn new(capacity: usize) -> Sketch {
        Sketch {
            sums: vec![0; capacity.min(MAX_CAPACITY)],
        }
    }

    /// The sketch of the ids whose hashes are `hashes`.
    pub(crate) fn of(capacity: usize, hashes: impl IntoIterator<Item = u64>) -> Sketch {
        Sketch::of_keys(capacity, hashes.into_iter().map(key_of))
    }

    fn of_keys(capacity: usize, keys: impl IntoIterator<Item = u64>) -> Sketch {
        let mut sketch = Sketch::new(capacity);
        for key in keys {
            sketch.toggle(key);
        }
        sketch
    }

    pub(crate) fn capacity(&self) -> usize {
        self.sums.len()
    }

    /// Add the id whose hash is `hash` (a second time removes it).
    pub(crate) fn insert(&mut self, hash: u64) {
        self.toggle(key_of(hash));
    }

    fn toggle(&mut self, key: u64) {
        let square = Times::of(mul(key, key));
        let mut power = key;
        for sum in &mut self.sums {
            *sum ^= power;
            power = square.mul(power);
        }
    }

    /// The same set's sketch at `capacity` (never grown).
    pub(crate) fn truncated(&self, capacity: usize) -> Sketch {
        Sketch {
            sums: self.sums[..capacity.min(self.sums.len())].to_vec(),
        }
    }

    /// The sketch of the keys in one of the two sets only (of the union,
    /// when they are apart), at the smaller capacity.
    pub(crate) fn add(&self, other: &Sketch) -> Sketch {
        let mut out = self.truncated(other.capacity());
        for (a, b) in out.sums.iter_mut().zip(&other.sums) {
            *a ^= b;
        }
        out
    }

    /// What this difference between the ids read (`read`, hashes) and
    /// those emitted is made of, when `read_less_emitted` is how many more
    /// were read than emitted: the ids read that are new, and how many
    /// emitted ones Klaviyo no longer lists (deleted). `None` when more
    /// keys differ than the capacity, or they do not add up: the caller
    /// then cannot tell the new ids apart.
    ///
    /// With `k` keys differing, `new − deleted` is the count given and
    /// `new + deleted` is `k`. The new keys are the polynomial's roots
    /// among the ids read; the deleted ones are its other roots, found in
    /// the field (an emitted id is not kept, only its key in the sums).
    ///
    /// Never a wrong set: with at most `capacity` keys differing the
    /// polynomial's roots are exactly them. With more, it would have to
    /// split into distinct roots of which just `new` are keys of ids read,
    /// and the sketch of all its roots be this one, every sum of them: the
    /// chance is about 2^-48 for each sum.
    pub(crate) fn decode(&self, read: &HashSet<u64>, read_less_emitted: i64) -> Option<Decoded> {
        if self.sums.iter().all(|s| *s == 0) {
            return (read_less_emitted == 0).then(Decoded::default);
        }
        let locator = berlekamp_massey(&self.syndromes());
        let degree = locator.len() - 1;
        let (new, deleted) = split_count(degree, read_less_emitted)?;
        if degree > self.capacity() {
            return None;
        }
        // The locator is Π(1 − x·z): its reverse, Π(z − x), vanishes at
        // each differing key.
        let mut found = HashSet::new();
        let mut keys = HashSet::new();
        for &hash in read {
            let key = key_of(hash);
            if keys.contains(&key) || evaluate_reverse(&locator, key) == 0 {
                keys.insert(key);
                found.insert(hash);
            }
        }
        if keys.len() != new {
            return None;
        }
        let mut rest: Vec<u64> = locator.iter().rev().copied().collect();
        for &key in &keys {
            rest = divided_by_root(&rest, key);
        }
        let gone = roots(&rest)?;
        let again = Sketch::of_keys(self.capacity(), keys.iter().chain(&gone).copied());
        (gone.len() == deleted && again == *self).then_some(Decoded {
            new: found,
            deleted,
        })
    }

    /// `S_1 … S_2c`: the odd sums as kept, the even ones their squares
    /// (in characteristic 2, `S_2k = S_k²`).
    fn syndromes(&self) -> Vec<u64> {
        let n = 2 * self.capacity();
        let mut s = vec![0u64; n + 1];
        for k in 1..=n {
            s[k] = if k % 2 == 1 {
                self.sums[k / 2]
            } else {
                mul(s[k / 2], s[k / 2])
            };
        }
        s.remove(0);
        s
    }

    /// The sums, 6 bytes each, little-endian.
    pub(crate) fn pack(&self, out: &mut Vec<u8>) {
        for sum in &self.sums {
            out.extend_from_slice(&sum.to_le_bytes()[..ELEMENT_BYTES]);
        }
    }

    /// A sketch of `capacity` sums read from the front of `bytes`, and the
    /// rest; `None` when there are too few bytes or a sum is not in the
    /// field.
    pub(crate) fn unpack(capacity: usize, bytes: &[u8]) -> Option<(Sketch, &[u8])> {
        if capacity > MAX_CAPACITY || bytes.len() < capacity * ELEMENT_BYTES {
            return None;
        }
        let (mine, rest) = bytes.split_at(capacity * ELEMENT_BYTES);
        let sums = mine
            .chunks(ELEMENT_BYTES)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..ELEMENT_BYTES].copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect();
        Some((Sketch { sums }, rest))
    }
}

/// What a difference is made of (see [`Sketch::decode`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// Hashes of the ids read that were not emitted.
    pub new: HashSet<u64>,
    /// Emitted ids no longer listed.
    pub deleted: usize,
}

/// `k` keys differing, `net` more read than emitted: `(new, deleted)`
/// with `new + deleted = k` and `new − deleted = net`, when they exist.
fn split_count(k: usize, net: i64) -> Option<(usize, usize)> {
    let k = i64::try_from(k).ok()?;
    if net.abs() > k || (k + net) % 2 != 0 {
        return None;
    }
    Some((((k + net) / 2) as usize, ((k - net) / 2) as usize))
}

/// The shortest linear recurrence `C(z) = 1 + C_1 z + … + C_L z^L`
/// generating `s` (Massey, 1969), as `[1, C_1, …, C_L]`.
fn berlekamp_massey(s: &[u64]) -> Vec<u64> {
    let mut c = vec![1u64];
    let mut b = vec![1u64];
    let mut length = 0usize;
    let mut shift = 1usize;
    let mut last = 1u64;
    for n in 0..s.len() {
        let mut d = s[n];
        for i in 1..=length.min(c.len() - 1) {
            d ^= mul(c[i], s[n - i]);
        }
        if d == 0 {
            shift += 1;
            continue;
        }
        let factor = mul(d, inverse(last));
        let before = c.clone();
        if c.len() < b.len() + shift {
            c.resize(b.len() + shift, 0);
        }
        for (i, bi) in b.iter().enumerate() {
            c[i + shift] ^= mul(factor, *bi);
        }
        if 2 * length <= n {
            length = n + 1 - length;
            b = before;
            last = d;
            shift = 1;
        } else {
            shift += 1;
        }
    }
    c.truncate(length + 1);
    c
}

/// `z^L + C_1 z^(L−1) + … + C_L` at `x`, by Horner's rule.
fn evaluate_reverse(c: &[u64], x: u64) -> u64 {
    let times = Times::of(x);
    c.iter().skip(1).fold(1u64, |acc, ci| times.mul(acc) ^ ci)
}

// Polynomials over the field, lowest coefficient first, for the roots of
// what remains of a locator once the new keys are divided out: at most
// the capacity, 64.

/// `p` divided by `z − root`, where `root` is one of its roots
/// (synthetic division; in characteristic 2, `z − r` is `z + r`).
fn divided_by_root(p: &[u64], root: u64) -> Vec<u64> {
    let times = Times::of(root);
    let mut out = vec![0u64; p.len().saturating_sub(1)];
    let mut carry = 0u64;
    for i in (1..p.len()).rev() {
        carry = p[i] ^ times.mul(carry);
        out[i - 1] = carry;
    }
    out
}

fn trimmed(mut p: Vec<u64>) -> Vec<u64> {
    while p.len() > 1 && p.last() == Some(&0) {
        p.pop();
    }
    p
}

/// The quotient and remainder of `a` by a nonzero `m`.
fn divide(a: &[u64], m: &[u64]) -> (Vec<u64>, Vec<u64>) {
    let m = trimmed(m.to_vec());
    let mut r = trimmed(a.to_vec());
    if r.len() < m.len() {
        return (vec![0], r);
    }
    let lead = Times::of(inverse(m[m.len() - 1]));
    let mut q = vec![0u64; r.len() - m.len() + 1];
    for shift in (0..q.len()).rev() {
        let top = r[shift + m.len() - 1];
        if top == 0 {
            continue;
        }
        let factor = lead.mul(top);
        q[shift] = factor;
        let times = Times::of(factor);
        for (i, mi) in m.iter().enumerate() {
            r[shift + i] ^= times.mul(*mi);
        }
    }
    r.truncate(m.len() - 1);
    (q, trimmed(if r.is_empty() { vec![0] } else { r }))
}

/// `a²` modulo `m`: in characteristic 2 the square of a sum is the sum of
/// the squares.
fn square_mod(a: &[u64], m: &[u64]) -> Vec<u64> {
    let mut sq = vec![0u64; 2 * a.len()];
    for (i, ai) in a.iter().enumerate() {
        sq[2 * i] = mul(*ai, *ai);
    }
    divide(&sq, m).1
}

fn gcd(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut a, mut b) = (trimmed(a.to_vec()), trimmed(b.to_vec()));
    while b != [0] {
        let r = divide(&a, &b).1;
        a = b;
        b = r;
    }
    a
}

fn is_zero(p: &[u64]) -> bool {
    p.iter().all(|c| *c == 0)
}

/// The roots of `p`, all distinct and nonzero, when it splits into as
/// many as its degree; `None` otherwise.
fn roots(p: &[u64]) -> Option<Vec<u64>> {
    let p = trimmed(p.to_vec());
    if is_zero(&p) || p[0] == 0 {
        // Zero, or a root at 0, which no key is.
        return None;
    }
    let degree = p.len() - 1;
    if degree == 0 {
        return Some(Vec::new());
    }
    // It splits into distinct roots exactly when it divides z^(2^48) − z,
    // whose roots are the field's elements, each once.
    let z = divide(&[0, 1], &p).1;
    let mut power = z.clone();
    for _ in 0..BITS {
        power = square_mod(&power, &p);
    }
    if power != z {
        return None;
    }
    let mut out = Vec::with_capacity(degree);
    split(&p, 0, &mut out)?;
    Some(out)
}

/// Berlekamp's trace algorithm: for `β` through the field's basis, the
/// roots `x` of `p` fall apart by the trace of `βx` (0 or 1), and
/// `gcd(p, Tr(βz))` is the factor of those where it is 0. Two distinct
/// roots differ in the trace of some basis element, so the basis
/// separates them all.
fn split(p: &[u64], from: u32, out: &mut Vec<u64>) -> Option<()> {
    let degree = p.len() - 1;
    if degree == 1 {
        // z + r, made monic.
        out.push(mul(p[0], inverse(p[1])));
        return Some(());
    }
    for bit in from..BITS {
        let mut term = divide(&[0, 1u64 << bit], p).1;
        let mut trace = term.clone();
        for _ in 1..BITS {
            term = square_mod(&term, p);
            trace.resize(trace.len().max(term.len()), 0);
            for (t, c) in trace.iter_mut().zip(&term) {
                *t ^= c;
            }
        }
        let factor = gcd(p, &trace);
        let found = factor.len() - 1;
        if found > 0 && found < degree {
            split(&factor, bit + 1, out)?;
            return split(&divide(p, &factor).0, bit + 1, out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::sim::Numbers;
    use super::*;

    fn hashes(seed: u64, n: usize) -> Vec<u64> {
        let mut numbers = Numbers(seed);
        (0..n).map(|_| numbers.draw()).collect()
    }

    /// x^(2^k) modulo the field's polynomial, as an element.
    fn x_to_two_to(k: u32) -> u64 {
        (0..k).fold(2u64, |x, _| mul(x, x))
    }

    fn gcd_is_one_with_modulus(a: u64) -> bool {
        // gcd(a, f) over GF(2)[x], f of degree 48 given as LOW + x^48.
        let (mut p, mut q) = ((1u128 << BITS) | u128::from(LOW), u128::from(a));
        while q != 0 {
            while p != 0 && 128 - p.leading_zeros() >= 128 - q.leading_zeros() {
                p ^= q << ((128 - p.leading_zeros()) - (128 - q.leading_zeros()));
            }
            std::mem::swap(&mut p, &mut q);
        }
        p == 1
    }

    #[test]
    fn the_modulus_is_irreducible() {
        // Rabin's test: x^(2^48) = x, and gcd(x^(2^(48/p)) − x, f) = 1 for
        // the primes 2 and 3 dividing 48.
        assert_eq!(x_to_two_to(48), 2);
        assert!(gcd_is_one_with_modulus(x_to_two_to(24) ^ 2));
        assert!(gcd_is_one_with_modulus(x_to_two_to(16) ^ 2));
    }

    #[test]
    fn field_arithmetic_agrees_with_its_laws() {
        let xs = hashes(1, 50).into_iter().map(key_of).collect::<Vec<_>>();
        for w in xs.windows(3) {
            let (a, b, c) = (w[0], w[1], w[2]);
            assert_eq!(mul(a, b), mul(b, a));
            assert_eq!(mul(mul(a, b), c), mul(a, mul(b, c)));
            assert_eq!(mul(a, b ^ c), mul(a, b) ^ mul(a, c));
            assert_eq!(mul(a, inverse(a)), 1);
            assert!(mul(a, b) <= MASK);
        }
    }

    /// The difference of `emitted` and `read` at `capacity`, decoded.
    fn decoded(capacity: usize, emitted: &[u64], read: &HashSet<u64>) -> Option<Decoded> {
        let stored = Sketch::of(capacity, emitted.iter().copied());
        let diff = Sketch::of(capacity, read.iter().copied()).add(&stored);
        diff.decode(read, read.len() as i64 - emitted.len() as i64)
    }

    #[test]
    fn a_difference_up_to_the_capacity_is_recovered_exactly() {
        for capacity in [1usize, 2, 5, 16, 64] {
            for new in 0..=capacity {
                let emitted = hashes(capacity as u64 * 1_000 + new as u64, 3_000);
                let extra = hashes(7 + new as u64, new);
                let read: HashSet<u64> = emitted.iter().chain(&extra).copied().collect();
                let found = decoded(capacity, &emitted, &read).expect("within capacity");
                assert_eq!(found.new, extra.iter().copied().collect::<HashSet<_>>());
                assert_eq!(found.deleted, 0);
            }
        }
    }

    #[test]
    fn new_and_deleted_ids_together_up_to_the_capacity_are_told_apart() {
        for capacity in [1usize, 2, 3, 6, 16, 64] {
            for deleted in 0..=capacity {
                for new in [0, 1, capacity / 2, capacity - deleted] {
                    if new + deleted > capacity {
                        continue;
                    }
                    let seed = (capacity * 10_000 + deleted * 100 + new) as u64;
                    let emitted = hashes(seed, 2_000);
                    let extra = hashes(seed + 1, new);
                    let read: HashSet<u64> =
                        emitted[deleted..].iter().chain(&extra).copied().collect();
                    let found = decoded(capacity, &emitted, &read)
                        .unwrap_or_else(|| panic!("{new} new, {deleted} deleted in {capacity}"));
                    assert_eq!(found.new, extra.iter().copied().collect::<HashSet<_>>());
                    assert_eq!(found.deleted, deleted);
                }
            }
        }
    }

    #[test]
    fn beyond_the_capacity_it_says_it_cannot() {
        let emitted = hashes(3, 2_000);
        let extra = hashes(4, 9);
        let read: HashSet<u64> = emitted.iter().chain(&extra).copied().collect();
        for capacity in [1usize, 4, 8] {
            assert_eq!(
                decoded(capacity, &emitted, &read),
                None,
                "capacity {capacity}"
            );
        }
        // New and deleted together beyond the capacity, in every mix, and
        // many seeds: never a wrong set, always `None`.
        for seed in 0..200u64 {
            let capacity = 1 + (seed % 8) as usize;
            let over = capacity + 1 + (seed % 3) as usize;
            let deleted = (seed as usize / 3) % (over + 1);
            let emitted = hashes(seed * 7 + 11, 300);
            let extra = hashes(seed * 7 + 12, over - deleted);
            let read: HashSet<u64> = emitted[deleted..].iter().chain(&extra).copied().collect();
            assert_eq!(
                decoded(capacity, &emitted, &read),
                None,
                "{} new, {deleted} deleted in {capacity}",
                over - deleted
            );
        }
    }

    #[test]
    fn a_count_that_does_not_add_up_is_refused() {
        let emitted = hashes(13, 500);
        let extra = hashes(14, 2);
        let read: HashSet<u64> = emitted.iter().chain(&extra).copied().collect();
        let stored = Sketch::of(8, emitted.iter().copied());
        let diff = Sketch::of(8, read.iter().copied()).add(&stored);
        assert!(diff.decode(&read, 2).is_some());
        // Two keys differ: 1 more read is odd, 4 more is too many, and 0
        // more would make both deleted, though both are among the ids read.
        for net in [1, 3, 4, 0, -2] {
            assert_eq!(diff.decode(&read, net), None, "{net}");
        }
        assert_eq!(Sketch::new(4).decode(&read, 1), None);
        assert_eq!(Sketch::new(4).decode(&read, 0), Some(Decoded::default()));
    }

    #[test]
    fn roots_are_found_only_where_a_polynomial_splits_into_distinct_ones() {
        let keys: Vec<u64> = hashes(21, 12).into_iter().map(key_of).collect();
        for n in 1..=keys.len() {
            // Π(z + k), lowest coefficient first.
            let mut p = vec![1u64];
            for k in &keys[..n] {
                let mut next = vec![0u64; p.len() + 1];
                for (i, c) in p.iter().enumerate() {
                    next[i + 1] ^= c;
                    next[i] ^= mul(*c, *k);
                }
                p = next;
            }
            let mut found = roots(&p).expect("splits");
            found.sort_unstable();
            let mut want = keys[..n].to_vec();
            want.sort_unstable();
            assert_eq!(found, want);
            if n >= 2 {
                // A square factor: not distinct.
                let twice: Vec<u64> = {
                    let mut q = vec![0u64; p.len() + 1];
                    for (i, c) in p.iter().enumerate() {
                        q[i + 1] ^= c;
                        q[i] ^= mul(*c, keys[0]);
                    }
                    q
                };
                assert_eq!(roots(&twice), None);
            }
        }
        // z² + 2 is (z + √2)²: one root, twice. z² + z has a root at 0,
        // which no key is. A constant has no roots and splits.
        assert_eq!(roots(&[2, 0, 1]), None);
        assert_eq!(roots(&[0, 1, 1]), None);
        assert_eq!(roots(&[5]), Some(Vec::new()));
    }

    #[test]
    fn sketches_add_truncate_and_pack() {
        let a = hashes(5, 100);
        let b = hashes(6, 80);
        let both = Sketch::of(10, a.iter().chain(&b).copied());
        assert_eq!(
            Sketch::of(10, a.clone()).add(&Sketch::of(6, b.clone())),
            both.truncated(6)
        );
        assert_eq!(
            Sketch::of(10, a.clone()).truncated(3),
            Sketch::of(3, a.clone())
        );
        let mut bytes = Vec::new();
        both.pack(&mut bytes);
        bytes.push(9);
        let (back, rest) = Sketch::unpack(10, &bytes).expect("reads");
        assert_eq!((back, rest), (both, &[9u8][..]));
        assert!(Sketch::unpack(11, &bytes[..60]).is_none());
    }

    #[test]
    fn two_ids_sharing_a_key_are_both_new_when_the_key_is() {
        let emitted = hashes(8, 500);
        // A new id with the key of an emitted one: both count, one repeat.
        let twin = emitted[0] % MASK + MASK;
        assert_eq!(key_of(twin), key_of(emitted[0]));
        let read: HashSet<u64> = emitted.iter().copied().chain([twin]).collect();
        let stored = Sketch::of(4, emitted.iter().copied());
        let diff = Sketch::of(4, read.iter().copied()).add(&stored);
        // The twins cancel in the read, leaving the key once: one new key.
        let found = diff.decode(&read, 1).expect("decodes");
        assert_eq!(found.new, HashSet::from([emitted[0], twin]));
    }
}
