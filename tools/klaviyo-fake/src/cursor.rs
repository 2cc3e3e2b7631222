//! Cursors and paging over the sorted indexes.
//!
//! A cursor is opaque base64 (like Klaviyo's) carrying either an offset or a
//! keyset position, plus a keyed checksum so that a tampered or re-encoded
//! cursor is refused with Klaviyo's "Invalid cursor provided.".
//!
//! Paging narrows the sort index to the range a filter on the sort field
//! allows (binary search), so an offset cursor costs O(log n) to apply when
//! every condition is on the sort field; other conditions are checked record
//! by record.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use klaviyo_spec::Operator;

use crate::data::Val;
use crate::data::seed::{fnv, mix};
use crate::filter::{self, Pred};
use crate::store::Store;

/// How `page[cursor]` is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CursorMode {
    /// The cursor is an offset into the *current* filtered and sorted result,
    /// re-applied on every request: when records change while a client
    /// pages, others shift across page boundaries and may be skipped or
    /// served twice. The worst case a client must survive.
    #[default]
    Offset,
    /// The cursor is the (sort value, tie-breaker) of the last record served;
    /// the next page starts strictly after it. Stable under concurrent
    /// changes, except that a record whose sort value changes moves.
    Keyset,
}

/// A decoded `page[cursor]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cursor {
    Offset(usize),
    After { key: Val, slot: u32 },
    Before { key: Val, slot: u32 },
}

fn encode_key(k: &Val, out: &mut String) {
    match k {
        Val::Time(t) => out.push_str(&format!("t{t}")),
        Val::Num(n) => out.push_str(&format!("n{:x}", n.to_bits())),
        Val::Bool(b) => out.push_str(if *b { "b1" } else { "b0" }),
        Val::Str(s) => {
            out.push('s');
            out.push_str(s);
        }
        Val::Null | Val::List(_) => out.push('z'),
    }
}

fn decode_key(s: &str) -> Option<Val> {
    let (tag, rest) = s.split_at_checked(1)?;
    Some(match tag {
        "t" => Val::Time(rest.parse().ok()?),
        "n" => Val::Num(f64::from_bits(u64::from_str_radix(rest, 16).ok()?)),
        "b" => Val::Bool(rest == "1"),
        "s" => Val::Str(rest.to_owned()),
        "z" => Val::Null,
        _ => return None,
    })
}

fn mac(secret: u64, scope: &str, payload: &str) -> u64 {
    mix(mix(secret ^ fnv(scope)) ^ fnv(payload))
}

/// Encodes `c`; `scope` (collection and sort) binds it to its query.
pub(crate) fn encode(c: &Cursor, secret: u64, scope: &str) -> String {
    let mut p = String::new();
    match c {
        Cursor::Offset(n) => p.push_str(&format!("o:{n}")),
        Cursor::After { key, slot } | Cursor::Before { key, slot } => {
            p.push_str(if matches!(c, Cursor::After { .. }) {
                "a:"
            } else {
                "b:"
            });
            p.push_str(&format!("{slot}:"));
            encode_key(key, &mut p);
        }
    }
    let m = mac(secret, scope, &p);
    p.push_str(&format!("|{m:016x}"));
    URL_SAFE_NO_PAD.encode(p.as_bytes())
}

/// Decodes a cursor, or `None` when it was not issued for this scope.
pub(crate) fn decode(s: &str, secret: u64, scope: &str) -> Option<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (payload, m) = text.rsplit_once('|')?;
    if u64::from_str_radix(m, 16).ok()? != mac(secret, scope, payload) || m.len() != 16 {
        return None;
    }
    let (kind, rest) = payload.split_once(':')?;
    match kind {
        "o" => Some(Cursor::Offset(rest.parse().ok()?)),
        "a" | "b" => {
            let (slot, key) = rest.split_once(':')?;
            let slot = slot.parse().ok()?;
            let key = decode_key(key)?;
            Some(if kind == "a" {
                Cursor::After { key, slot }
            } else {
                Cursor::Before { key, slot }
            })
        }
        _ => None,
    }
}

/// What to page over.
pub(crate) struct PageRequest<'a> {
    pub ci: usize,
    /// Sort field and whether descending.
    pub sort: Option<(&'a str, bool)>,
    pub preds: &'a [Pred],
    pub size: usize,
    pub cursor: Option<Cursor>,
    pub mode: CursorMode,
    pub rev: usize,
}

/// One page: slots in order, and the cursors of the neighbouring pages.
#[derive(Debug, Default)]
pub(crate) struct PageResult {
    pub slots: Vec<u32>,
    pub next: Option<Cursor>,
    pub prev: Option<Cursor>,
}

/// Serves one page.
pub(crate) fn page(store: &mut Store, req: PageRequest<'_>) -> PageResult {
    if let Some((field, _)) = req.sort {
        store.ensure_index(req.ci, field, Some(req.rev));
    }
    let view = View::new(store, &req);
    let size = req.size.max(1);
    match req.cursor.clone().unwrap_or(Cursor::Offset(0)) {
        Cursor::Offset(k) => view.at_offset(k, size, req.mode),
        Cursor::After { key, slot } => view.after(key, slot, size),
        Cursor::Before { key, slot } => view.before(key, slot, size),
    }
}

/// The records a query can match, in the order it serves them: the sort
/// index narrowed by the conditions on the sort field, and the conditions
/// left to check record by record.
struct View<'a> {
    store: &'a Store,
    ci: usize,
    rev: usize,
    sort_field: Option<&'a str>,
    desc: bool,
    range: &'a [u32],
    residual: Vec<&'a Pred>,
}

impl<'a> View<'a> {
    fn new(store: &'a Store, req: &PageRequest<'a>) -> View<'a> {
        let col = &store.cols[req.ci];
        let order: &[u32] = match req.sort {
            Some((field, _)) => col.indexes.get(field).map_or(&col.live[..], Vec::as_slice),
            None => &col.live,
        };
        let mut view = View {
            store,
            ci: req.ci,
            rev: req.rev,
            sort_field: req.sort.map(|(f, _)| f),
            desc: req.sort.is_some_and(|(_, d)| d),
            range: order,
            residual: Vec::new(),
        };
        view.narrow(req.preds);
        view
    }

    /// Narrows `range` by binary search to what the comparisons on the sort
    /// field allow; every other condition goes to `residual`.
    fn narrow(&mut self, preds: &'a [Pred]) {
        let (mut lo, mut hi) = (0usize, self.range.len());
        let mut narrowed = false;
        for p in preds {
            if !self.rangeable(p) {
                self.residual.push(p);
                continue;
            }
            narrowed = true;
            let below = |s: &u32| self.key(*s).total_cmp(&p.value).is_lt();
            let at_most = |s: &u32| self.key(*s).total_cmp(&p.value).is_le();
            let slice = &self.range[lo..hi];
            let (a, b) = match p.op {
                Operator::GreaterThan => (slice.partition_point(at_most), slice.len()),
                Operator::GreaterOrEqual => (slice.partition_point(below), slice.len()),
                Operator::LessThan => (0, slice.partition_point(below)),
                Operator::LessOrEqual => (0, slice.partition_point(at_most)),
                _ => (slice.partition_point(below), slice.partition_point(at_most)),
            };
            hi = lo + b.max(a);
            lo += a;
        }
        if narrowed {
            // A missing value satisfies no comparison, although it sorts first.
            lo += self.range[lo..hi].partition_point(|s| matches!(self.key(*s), Val::Null));
        }
        self.range = &self.range[lo..hi];
    }

    /// Whether `p` is a comparison on the sort field with a scalar value.
    fn rangeable(&self, p: &Pred) -> bool {
        Some(p.field.as_str()) == self.sort_field
            && !matches!(p.value, Val::List(_) | Val::Null)
            && matches!(
                p.op,
                Operator::GreaterThan
                    | Operator::GreaterOrEqual
                    | Operator::LessThan
                    | Operator::LessOrEqual
                    | Operator::Equals
            )
    }

    fn len(&self) -> usize {
        self.range.len()
    }

    /// The `i`-th record in serving order.
    fn at(&self, i: usize) -> u32 {
        if self.desc {
            self.range[self.range.len() - 1 - i]
        } else {
            self.range[i]
        }
    }

    fn key(&self, slot: u32) -> Val {
        match self.sort_field {
            Some(f) => self.store.field(self.ci, slot, f, Some(self.rev)),
            None => Val::Null,
        }
    }

    /// Whether the record meets the conditions the index did not narrow.
    fn keep(&self, slot: u32) -> bool {
        self.residual.iter().all(|p| {
            filter::matches(
                p,
                &self.store.field(self.ci, slot, &p.field, Some(self.rev)),
            )
        })
    }

    /// Whether any record from position `i` on (in serving order) is kept.
    fn any_kept_from(&self, i: usize) -> bool {
        (i..self.len()).any(|j| self.keep(self.at(j)))
    }

    /// (sort value, slot): where a keyset cursor points.
    fn keyset(&self, slot: u32) -> (Val, u32) {
        (self.key(slot), slot)
    }

    /// Ascending position of `s` relative to the anchor (key, slot).
    fn anchor_cmp(&self, s: u32, key: &Val, slot: u32) -> std::cmp::Ordering {
        self.key(s).total_cmp(key).then(s.cmp(&slot))
    }

    /// The `k`-th to `k+size`-th kept records. The offset counts only kept
    /// records; with nothing left to check it is a plain index.
    fn at_offset(&self, k: usize, size: usize, mode: CursorMode) -> PageResult {
        let mut out = PageResult::default();
        let len = self.len();
        let has_next = if self.residual.is_empty() {
            let end = k.saturating_add(size).min(len);
            out.slots = (k.min(len)..end).map(|i| self.at(i)).collect();
            end < len
        } else {
            let mut seen = 0usize;
            let mut i = 0usize;
            while i < len && out.slots.len() < size {
                let s = self.at(i);
                if self.keep(s) {
                    if seen >= k {
                        out.slots.push(s);
                    }
                    seen += 1;
                }
                i += 1;
            }
            self.any_kept_from(i)
        };
        match mode {
            CursorMode::Offset => {
                out.next = has_next.then(|| Cursor::Offset(k.saturating_add(out.slots.len())));
                out.prev = (k > 0).then(|| Cursor::Offset(k.saturating_sub(size)));
            }
            CursorMode::Keyset => {
                out.next = has_next
                    .then(|| out.slots.last().map(|&s| after(self.keyset(s))))
                    .flatten();
                out.prev = (k > 0)
                    .then(|| out.slots.first().map(|&s| before(self.keyset(s))))
                    .flatten();
            }
        }
        out
    }

    /// Up to `size` kept records strictly after the anchor.
    fn after(&self, key: Val, slot: u32, size: usize) -> PageResult {
        let mut out = PageResult::default();
        let len = self.len();
        let start = if self.desc {
            len - self
                .range
                .partition_point(|&s| self.anchor_cmp(s, &key, slot).is_lt())
        } else {
            self.range
                .partition_point(|&s| self.anchor_cmp(s, &key, slot).is_le())
        };
        let mut i = start;
        while i < len && out.slots.len() < size {
            if self.keep(self.at(i)) {
                out.slots.push(self.at(i));
            }
            i += 1;
        }
        out.next = self
            .any_kept_from(i)
            .then(|| out.slots.last().map(|&s| after(self.keyset(s))))
            .flatten();
        out.prev = match out.slots.first() {
            _ if start == 0 => None,
            Some(&s) => Some(before(self.keyset(s))),
            None => Some(Cursor::Before { key, slot }),
        };
        out
    }

    /// Up to `size` kept records strictly before the anchor, in order.
    fn before(&self, key: Val, slot: u32, size: usize) -> PageResult {
        let mut out = PageResult::default();
        let len = self.len();
        let end = if self.desc {
            len - self
                .range
                .partition_point(|&s| self.anchor_cmp(s, &key, slot).is_le())
        } else {
            self.range
                .partition_point(|&s| self.anchor_cmp(s, &key, slot).is_lt())
        };
        let mut i = end;
        while i > 0 && out.slots.len() < size {
            i -= 1;
            if self.keep(self.at(i)) {
                out.slots.push(self.at(i));
            }
        }
        out.slots.reverse();
        let has_prev = (0..i).any(|j| self.keep(self.at(j)));
        out.prev = has_prev
            .then(|| out.slots.first().map(|&s| before(self.keyset(s))))
            .flatten();
        out.next = match out.slots.last() {
            _ if end >= len => None,
            Some(&s) => Some(after(self.keyset(s))),
            None => Some(Cursor::After { key, slot }),
        };
        out
    }
}

fn after((key, slot): (Val, u32)) -> Cursor {
    Cursor::After { key, slot }
}

fn before((key, slot): (Val, u32)) -> Cursor {
    Cursor::Before { key, slot }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let cases = [
            Cursor::Offset(0),
            Cursor::Offset(123_456),
            Cursor::After {
                key: Val::Time(1_700_000_000_123_456),
                slot: 7,
            },
            Cursor::Before {
                key: Val::Str("a:b|c".into()),
                slot: 0,
            },
            Cursor::After {
                key: Val::Num(-2.5),
                slot: 1,
            },
            Cursor::After {
                key: Val::Null,
                slot: 9,
            },
        ];
        for c in cases {
            let s = encode(&c, 42, "/profiles|updated");
            assert_eq!(decode(&s, 42, "/profiles|updated"), Some(c.clone()));
            assert_eq!(decode(&s, 43, "/profiles|updated"), None, "other secret");
            assert_eq!(decode(&s, 42, "/events|updated"), None, "other scope");
            // Flip one character.
            let mut b = s.into_bytes();
            let i = b.len() / 2;
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let t = String::from_utf8(b).expect("ascii");
            assert_eq!(decode(&t, 42, "/profiles|updated"), None);
        }
        assert_eq!(decode("", 42, "x"), None);
        assert_eq!(decode("!!!", 42, "x"), None);
        assert_eq!(decode("bmV4dDo6aWQ6Ok43dW1iVw", 42, "x"), None);
    }

    use crate::store::StoreConfig;
    use proptest::prelude::*;

    fn store(n: usize, seed: u64) -> Store {
        let sizes = std::collections::BTreeMap::from([("profiles".to_owned(), n)]);
        Store::new(StoreConfig {
            seed,
            anchor: 1_790_000_000 * crate::time::MICROS_PER_SEC,
            sizes: &sizes,
            default_size: Some(0),
            base_url: "http://x/api".into(),
            revision: "2024-10-15".into(),
            bulk_clusters: true,
        })
    }

    /// Every record matching, in (value, slot) order, by brute force.
    fn expected(s: &Store, ci: usize, sort: Option<(&str, bool)>, preds: &[Pred]) -> Vec<u32> {
        let mut v: Vec<(Val, u32)> = s.cols[ci]
            .live
            .iter()
            .copied()
            .filter(|&slot| {
                preds
                    .iter()
                    .all(|p| filter::matches(p, &s.field(ci, slot, &p.field, None)))
            })
            .map(|slot| {
                (
                    sort.map_or(Val::Null, |(f, _)| s.field(ci, slot, f, None)),
                    slot,
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut out: Vec<u32> = v.into_iter().map(|(_, s)| s).collect();
        if sort.is_some_and(|(_, d)| d) {
            out.reverse();
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Paging a collection that does not change yields every matching
        /// record exactly once, in sort order, whatever the page size, sort,
        /// filter and cursor mode; and `prev` leads back.
        #[test]
        fn paging_a_static_collection_yields_each_record_once(
            n in 0usize..400,
            seed in 0u64..1000,
            size in 1usize..60,
            sort in prop_oneof![Just(None), Just(Some(("updated", false))), Just(Some(("updated", true))),
                                Just(Some(("created", false))), Just(Some(("email", true))), Just(Some(("id", false)))],
            cut in proptest::option::of(0.0f64..1.0),
            residual in any::<bool>(),
            keyset in any::<bool>(),
        ) {
            let mut s = store(n, seed);
            let ci = s.index_of("profiles").expect("profiles");
            let mut preds = Vec::new();
            if let Some(c) = cut {
                let lo = s.anchor - 365 * 86_400 * crate::time::MICROS_PER_SEC;
                let t = lo + ((s.anchor - lo) as f64 * c) as i64;
                preds.push(Pred { field: "updated".into(), op: Operator::GreaterThan, value: Val::Time(crate::data::seed::whole(t)) });
            }
            if residual {
                preds.push(Pred { field: "email".into(), op: Operator::Contains, value: Val::Str("a".into()) });
            }
            let want = expected(&s, ci, sort, &preds);
            let mode = if keyset { CursorMode::Keyset } else { CursorMode::Offset };
            let mut got = Vec::new();
            let mut pages = Vec::new();
            let mut cursor = None;
            loop {
                let p = page(&mut s, PageRequest { ci, sort, preds: &preds, size, cursor: cursor.clone(), mode, rev: 0 });
                prop_assert!(p.slots.len() <= size);
                got.extend(p.slots.iter().copied());
                pages.push((cursor.clone(), p.slots.clone(), p.prev.clone()));
                // Round-trip the cursor through its text form, as a client does.
                match p.next {
                    Some(c) => {
                        let text = encode(&c, 9, "scope");
                        cursor = Some(decode(&text, 9, "scope").expect("decodes"));
                        prop_assert!(got.len() < want.len() + 1, "runaway paging");
                    }
                    None => break,
                }
            }
            prop_assert_eq!(&got, &want);
            // Following `prev` from any page serves the page before it.
            for w in pages.windows(2) {
                let prev = w[1].2.clone().expect("a later page has prev");
                let p = page(&mut s, PageRequest { ci, sort, preds: &preds, size, cursor: Some(prev), mode, rev: 0 });
                prop_assert_eq!(&p.slots, &w[0].1);
            }
        }
    }
}
