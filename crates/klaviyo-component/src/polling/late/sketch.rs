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

    /// The keys of this difference, which must all be among the ids read
    /// (`read`, hashes) and number `new`: the ids read whose keys they
    /// are. `None` when the difference is larger than the capacity, or is
    /// not only of ids read (ids were deleted too), or does not number
    /// `new`: the caller then cannot tell the new ids apart.
    ///
    /// Never a wrong set: with at most `capacity` keys differing the
    /// polynomial's roots are exactly them; with more, its roots would
    /// have to be `new` of the ids read by chance (each about
    /// |read|/2^48), and the sketch of what was found must be this one.
    pub(crate) fn new_among(&self, read: &HashSet<u64>, new: usize) -> Option<HashSet<u64>> {
        if new > self.capacity() {
            return None;
        }
        if new == 0 {
            return self.sums.iter().all(|s| *s == 0).then(HashSet::new);
        }
        let locator = berlekamp_massey(&self.syndromes());
        let degree = locator.len() - 1;
        if degree != new {
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
        let again = Sketch::of_keys(self.capacity(), keys.iter().copied());
        (keys.len() == new && again == *self).then_some(found)
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

    #[test]
    fn a_difference_up_to_the_capacity_is_recovered_exactly() {
        for capacity in [1usize, 2, 5, 16, 64] {
            for new in 0..=capacity {
                let emitted = hashes(capacity as u64 * 1_000 + new as u64, 3_000);
                let extra = hashes(7 + new as u64, new);
                let read: HashSet<u64> = emitted.iter().chain(&extra).copied().collect();
                let stored = Sketch::of(capacity, emitted.iter().copied());
                let diff = Sketch::of(capacity, read.iter().copied()).add(&stored);
                let found = diff.new_among(&read, new).expect("within capacity");
                assert_eq!(found, extra.iter().copied().collect::<HashSet<_>>());
            }
        }
    }

    #[test]
    fn beyond_the_capacity_or_with_deletions_it_says_it_cannot() {
        let emitted = hashes(3, 2_000);
        let extra = hashes(4, 9);
        let read: HashSet<u64> = emitted.iter().chain(&extra).copied().collect();
        for capacity in [1usize, 4, 8] {
            let stored = Sketch::of(capacity, emitted.iter().copied());
            let diff = Sketch::of(capacity, read.iter().copied()).add(&stored);
            assert_eq!(diff.new_among(&read, 9), None, "capacity {capacity}");
        }
        // Three new and one emitted id deleted: the count says 2 new.
        let mut read: HashSet<u64> = emitted[1..].iter().chain(&extra[..3]).copied().collect();
        let stored = Sketch::of(8, emitted.iter().copied());
        let diff = Sketch::of(8, read.iter().copied()).add(&stored);
        assert_eq!(diff.new_among(&read, 2), None);
        // One new, one deleted: the count says none are new.
        read = emitted[1..].iter().chain(&extra[..1]).copied().collect();
        let diff = Sketch::of(8, read.iter().copied()).add(&stored);
        assert_eq!(diff.new_among(&read, 0), None);
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
        let found = diff.new_among(&read, 1).expect("decodes");
        assert_eq!(found, HashSet::from([emitted[0], twin]));
    }
}
