//! Deterministic randomness: record timelines (with ChaCha8, whose stream is
//! stable across crate versions) and per-field values (a hash of the record's
//! slot and the field's path, so one field can be computed without the
//! others and without storing it).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::time::{MICROS_PER_SEC, Micros};

/// SplitMix64's finaliser: a cheap, well-mixed, version-stable hash step.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a of a string, for salts and path hashes.
pub(crate) fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The hash of a child path segment under `parent`.
pub(crate) fn child(parent: u64, name: &str) -> u64 {
    mix(parent ^ fnv(name))
}

/// `h` reduced to `0..n` (n > 0).
pub(crate) fn pick(h: u64, n: usize) -> usize {
    ((u128::from(h) * n as u128) >> 64) as usize
}

/// `h` as a probability in [0, 1).
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A ChaCha8 stream for one purpose of one collection.
pub(crate) fn rng(seed: u64, salt: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(salt);
    r
}

fn next_unit(r: &mut ChaCha8Rng) -> f64 {
    unit(r.next_u64())
}

/// Creation and update instants of `n` records, oldest first, spread over
/// `span` before `anchor`.
///
/// Like a real account: records arrive one by one, but bulk imports create
/// hundreds in the same second; some records are never updated, most are
/// updated later, and bulk updates give hundreds of records the very same
/// `updated` second. Whole seconds are served without a fraction, other
/// instants with one (see [`crate::time::Style`]).
pub(crate) fn timeline(
    r: &mut ChaCha8Rng,
    n: usize,
    anchor: Micros,
    span: Micros,
    mutable: bool,
    bulk: bool,
) -> Vec<(Micros, Micros)> {
    if n == 0 {
        return Vec::new();
    }
    // Cumulative arrival "times" in arbitrary units, then scaled onto the span.
    let mut raw = Vec::with_capacity(n);
    let mut in_cluster = Vec::with_capacity(n);
    let mut t = 0.0f64;
    let mut cluster_left = 0usize;
    let max_cluster = (n / 20).clamp(1, 500);
    for _ in 0..n {
        if cluster_left > 0 {
            cluster_left -= 1;
            raw.push(t);
            in_cluster.push(true);
            continue;
        }
        t += -(1.0 - next_unit(r)).ln();
        if bulk && n >= 200 && next_unit(r) < 0.004 {
            cluster_left = 50.min(max_cluster) + (r.next_u64() as usize % max_cluster.max(1));
            cluster_left = cluster_left.min(max_cluster);
            in_cluster.push(true);
        } else {
            in_cluster.push(false);
        }
        raw.push(t);
    }
    let t_max = t.max(1.0);
    let start = anchor - span;
    let usable = (span - 120 * MICROS_PER_SEC).max(MICROS_PER_SEC) as f64;
    // A handful of bulk-update moments, whole seconds, shared by many records.
    let moments: Vec<Micros> = (0..(n / 2000).max(3))
        .map(|_| whole(start + (next_unit(r).sqrt() * usable) as Micros))
        .collect();
    let mut out = Vec::with_capacity(n);
    for (i, x) in raw.iter().enumerate() {
        let mut created = start + (x / t_max * usable) as Micros;
        if in_cluster[i] || next_unit(r) < 0.85 {
            created = whole(created);
        }
        let updated = if !mutable {
            created
        } else {
            let u = next_unit(r);
            if in_cluster[i] && u < 0.7 || u < 0.3 {
                created
            } else if bulk && u < 0.42 {
                moments[r.next_u64() as usize % moments.len()].max(created)
            } else {
                let room = (anchor - 60 * MICROS_PER_SEC - created).max(0) as f64;
                let v = next_unit(r);
                let t = created + (v * v * room) as Micros;
                if next_unit(r) < 0.85 { whole(t) } else { t }
            }
        };
        out.push((created, updated.max(created)));
    }
    out
}

/// `t` truncated to the whole second.
pub(crate) fn whole(t: Micros) -> Micros {
    t.div_euclid(MICROS_PER_SEC) * MICROS_PER_SEC
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The shape of a collection's ids, as Klaviyo issues them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdShape {
    /// 26-character ULID, e.g. profiles `01GDDKASAP8TKDDA2GRZDSVP4H`.
    Ulid,
    /// Six base62 characters, e.g. lists `Y6nRLr`.
    Short,
    /// Eleven base62 characters, e.g. events.
    Event,
    /// Decimal digits, e.g. images `90622917`.
    Numeric,
    /// Catalog ids: `$custom:::$default:::<external id>`.
    Catalog,
    /// Lower-case UUID, e.g. tags.
    Uuid,
    /// The external id itself, e.g. coupons `SUMMER10`.
    Code,
}

/// An id of `shape` for a record created at `created`, from the random `h`.
pub(crate) fn make_id(
    shape: IdShape,
    created: Micros,
    h: u64,
    slot: u32,
    external: &str,
) -> String {
    match shape {
        IdShape::Ulid => {
            let ms = (created / 1000).max(0) as u64;
            let mut s = String::with_capacity(26);
            for i in (0..10).rev() {
                s.push(CROCKFORD[((ms >> (i * 5)) & 31) as usize] as char);
            }
            let mut r = mix(h);
            for i in 0..16 {
                if i == 8 {
                    r = mix(r ^ u64::from(slot));
                }
                s.push(CROCKFORD[(r & 31) as usize] as char);
                r >>= 5;
            }
            s
        }
        IdShape::Short => base62(h, 6),
        IdShape::Event => base62(h, 11),
        IdShape::Numeric => (10_000_000 + u64::from(slot) * 7 + h % 7).to_string(),
        IdShape::Catalog => format!("$custom:::$default:::{external}"),
        IdShape::Uuid => uuid(h),
        IdShape::Code if external.is_empty() => format!("CODE{slot}"),
        IdShape::Code => external.to_owned(),
    }
}

fn base62(mut h: u64, len: usize) -> String {
    let mut s = String::with_capacity(len);
    for i in 0..len {
        if i > 0 && i % 10 == 0 {
            h = mix(h);
        }
        s.push(BASE62[(h % 62) as usize] as char);
        h /= 62;
    }
    s
}

/// A version-4-shaped UUID from a hash.
pub(crate) fn uuid(h: u64) -> String {
    let a = mix(h);
    let b = mix(a);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        8 + (b >> 62),
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_is_deterministic_ordered_and_clustered() {
        let anchor = 1_800_000_000 * MICROS_PER_SEC;
        let span = 365 * 86_400 * MICROS_PER_SEC;
        let a = timeline(&mut rng(7, 1), 20_000, anchor, span, true, true);
        let b = timeline(&mut rng(7, 1), 20_000, anchor, span, true, true);
        assert_eq!(a, b);
        assert!(a.windows(2).all(|w| w[0].0 <= w[1].0), "created ascends");
        assert!(
            a.iter()
                .all(|(c, u)| c <= u && *u <= anchor && *c >= anchor - span)
        );
        // Bulk imports and bulk updates: some second is shared by 50+ records.
        let mut counts = std::collections::HashMap::new();
        for (_, u) in &a {
            *counts.entry(*u).or_insert(0) += 1;
        }
        assert!(
            counts.values().any(|&c| c >= 50),
            "no cluster of identical updated"
        );
        assert!(
            a.iter().any(|(c, _)| c % MICROS_PER_SEC != 0),
            "no fractions"
        );
    }

    #[test]
    fn without_bulk_records_are_spread_out() {
        let anchor = 1_800_000_000 * MICROS_PER_SEC;
        let span = 365 * 86_400 * MICROS_PER_SEC;
        let a = timeline(&mut rng(7, 1), 20_000, anchor, span, true, false);
        let mut counts = std::collections::HashMap::new();
        for (_, u) in &a {
            *counts.entry(*u).or_insert(0) += 1;
        }
        let crowded = counts.values().copied().max().unwrap_or(0);
        assert!(crowded < 10, "{crowded} records share one updated instant");
    }

    #[test]
    fn ids_have_klaviyo_shapes() {
        assert_eq!(
            make_id(IdShape::Ulid, 1_700_000_000_000_000, 5, 1, "").len(),
            26
        );
        assert_eq!(make_id(IdShape::Short, 0, 5, 1, "").len(), 6);
        assert_eq!(uuid(3).len(), 36);
        assert_ne!(
            make_id(IdShape::Ulid, 0, 5, 1, ""),
            make_id(IdShape::Ulid, 0, 5, 2, "")
        );
    }
}
