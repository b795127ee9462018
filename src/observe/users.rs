//! Per-user state kept for the whole run: the user's open units, and the sums behind the
//! user-clustered variances. This is the one structure that grows with all users, so it is a
//! few words a user, with no allocation for a user of one unit (most of them).

use hashbrown::HashTable;
use rustc_hash::FxHashMap;

use super::{fx_hash, ClusterSums};

/// Longest id kept in the lookup cache of [`UserIds`].
const CACHED_ID: usize = 27;
/// Slots of that cache (a power of two): 640 KiB, about a core's L2.
const CACHE_SLOTS: usize = 1 << 14;

/// One slot of the lookup cache: an id's hash, its index and its bytes.
#[derive(Clone, Copy)]
struct Cached {
    hash: u64,
    index: u32,
    /// Bytes used in `bytes`; `u8::MAX` for an empty slot.
    len: u8,
    bytes: [u8; CACHED_ID],
}

/// Every user id seen, numbered from 0 in order of first sight (distinct users are counted
/// exactly). It can run on the parsing thread ([`crate::source::log::read_log_prepared`]), so
/// that the observer gets each event's user as a number.
///
/// The table is 4 bytes an entry, the ids packed back to back, since it grows with every user.
/// In front of it a direct-mapped cache of recent ids (inline, up to 27 bytes) answers the
/// events of an open session, which follow each other closely, without a miss on the table.
pub struct UserIds {
    table: HashTable<u32>,
    /// User ids, concatenated; user `u` is `ids[end(u - 1)..end(u)]`.
    ids: Vec<u8>,
    /// Where each user's id ends in `ids`, modulo 2^32 (4 bytes a user, not 8).
    end: Vec<u32>,
    /// The first user whose end passed each further multiple of 2^32 (empty below 4 GiB of
    /// ids): with `end`, the full offsets.
    wraps: Vec<u32>,
    cache: Vec<Cached>,
}

/// An empty slot of the lookup cache.
const EMPTY: Cached = Cached {
    hash: 0,
    index: 0,
    len: u8::MAX,
    bytes: [0; CACHED_ID],
};

impl Default for UserIds {
    /// No users; the cache is allocated at the first lookup (a builder fed with
    /// [`super::ObservationBuilder::push_user`] never needs one).
    fn default() -> Self {
        UserIds {
            table: HashTable::new(),
            ids: Vec::new(),
            end: Vec::new(),
            wraps: Vec::new(),
            cache: Vec::new(),
        }
    }
}

impl UserIds {
    /// Users numbered so far.
    pub fn len(&self) -> u32 {
        self.end.len() as u32
    }

    /// Whether no user was numbered yet.
    pub fn is_empty(&self) -> bool {
        self.end.is_empty()
    }

    /// The number of user id `id`, given when it is new.
    pub fn index(&mut self, id: &str) -> u32 {
        let bytes = id.as_bytes();
        let h = fx_hash(bytes);
        if self.cache.is_empty() {
            self.cache = vec![EMPTY; CACHE_SLOTS];
        }
        let slot = (h >> (64 - CACHE_SLOTS.trailing_zeros())) as usize;
        let c = &self.cache[slot];
        if c.hash == h && usize::from(c.len) == bytes.len() && c.bytes[..bytes.len()] == *bytes {
            return c.index;
        }
        let index = self.lookup(bytes, h);
        if bytes.len() <= CACHED_ID {
            let c = &mut self.cache[slot];
            c.hash = h;
            c.index = index;
            c.len = bytes.len() as u8;
            c.bytes[..bytes.len()].copy_from_slice(bytes);
        }
        index
    }

    /// Where user `u`'s id ends in `ids`.
    fn end_of(&self, u: u32) -> usize {
        let low = self.end[u as usize] as usize;
        if self.wraps.is_empty() {
            return low;
        }
        let high = self.wraps.partition_point(|&w| w <= u) as u64;
        ((high << 32) | low as u64) as usize
    }

    /// User `u`'s id.
    fn id_of(&self, u: u32) -> &[u8] {
        let from = if u == 0 { 0 } else { self.end_of(u - 1) };
        &self.ids[from..self.end_of(u)]
    }

    /// The table lookup behind [`UserIds::index`] (`h` is the id's hash).
    fn lookup(&mut self, bytes: &[u8], h: u64) -> u32 {
        if let Some(&u) = self.table.find(h, |&u| self.id_of(u) == bytes) {
            return u;
        }
        if self.table.len() == self.table.capacity() {
            self.grow();
        }
        let u = self.end.len() as u32;
        let before = self.ids.len() as u64;
        self.ids.extend_from_slice(bytes);
        let after = self.ids.len() as u64;
        for _ in (before >> 32)..(after >> 32) {
            self.wraps.push(u);
        }
        self.end.push(after as u32);
        // `grow` left room: the hasher is never called.
        self.table
            .insert_unique(h, u, |_| unreachable!("UserIds::grow left room"));
        u
    }

    /// Doubles the table by inserting every user again in number order. The table's own
    /// growth would hash each entry in slot order, reading ids at random (a cache miss an
    /// entry); in number order the ids are read front to back.
    #[cold]
    fn grow(&mut self) {
        let mut table = HashTable::with_capacity((self.table.capacity() * 2).max(1 << 10));
        let mut from = 0;
        for u in 0..self.len() {
            let to = self.end_of(u);
            let h = fx_hash(&self.ids[from..to]);
            table.insert_unique(h, u, |_| unreachable!("capacity reserved"));
            from = to;
        }
        self.table = table;
    }
}

/// What the builder keeps per user for the whole run. (Purchases are kept apart, and only while
/// a unit may still need them for its label; the cluster sums are in [`super::tally::Tally`].)
pub(super) struct UserState {
    /// The open user unit or inferred session, or [`super::NO_UNIT`].
    pub(super) open: u32,
    /// The user's latest open log session (with a session id), or [`super::NO_UNIT`]: an event
    /// of theirs without a session id joins it when within the inactivity gap.
    pub(super) logged: u32,
}

impl UserState {
    /// A user just seen: nothing open, nothing folded.
    pub(super) fn new(no_unit: u32) -> Self {
        UserState {
            open: no_unit,
            logged: no_unit,
        }
    }
}

/// A user's folded units and labels, in 8 bytes (it grows with every user). The features of
/// a user with one unit are that unit's mask; those of a user with more are counted in
/// [`UserFeatures`]. Up to 2^31 - 1 units a user.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct UserSums {
    /// Folded units times two, plus the label of the only unit while there is one.
    units2: u32,
    /// The only unit's feature mask while there is one; from the second, the labelled units.
    word: u32,
}

impl UserSums {
    /// Folded units.
    fn units(self) -> u32 {
        self.units2 >> 1
    }

    /// Folded units with a label.
    fn labelled(self) -> u32 {
        match self.units() {
            0 => 0,
            1 => self.units2 & 1,
            _ => self.word,
        }
    }
}

/// Per candidate, for users with two or more folded units: `(user, candidate)` → (units with
/// it as a feature, of them labelled).
pub(super) type UserFeatures = FxHashMap<(u32, u8), (u32, u32)>;

/// Adds one folded unit of `user` (its feature `mask`, its `label`) to the user's sums.
pub(super) fn add_unit(
    sums: &mut UserSums,
    many: &mut UserFeatures,
    user: u32,
    mask: u32,
    label: bool,
) {
    let units = sums.units();
    match units {
        0 => sums.word = mask,
        1 => {
            let first = sums.units2 & 1;
            add_bits(many, user, sums.word, first == 1);
            add_bits(many, user, mask, label);
            sums.word = first;
        }
        _ => add_bits(many, user, mask, label),
    }
    debug_assert!(
        units < u32::MAX >> 1,
        "more than 2^31 - 1 units of one user"
    );
    sums.units2 = (units + 1) << 1;
    if units == 0 {
        sums.units2 |= u32::from(label);
    } else {
        sums.word += u32::from(label);
    }
}

/// Counts the features in `mask` of one unit of `user`.
fn add_bits(many: &mut UserFeatures, user: u32, mask: u32, label: bool) {
    let mut bits = mask;
    while bits != 0 {
        let j = bits.trailing_zeros() as u8;
        bits &= bits - 1;
        let f = many.entry((user, j)).or_default();
        f.0 += 1;
        f.1 += u32::from(label);
    }
}

impl ClusterSums {
    /// Sums over users of their `(units, labelled, per-candidate features)`, for `k` candidate
    /// bits. Integer sums, so the order users are visited in does not matter.
    pub(super) fn of_users(users: &[UserSums], many: &UserFeatures, k: usize) -> Self {
        let mut out = ClusterSums {
            all: [0; 3],
            candidates: vec![[0; 7]; k],
        };
        let mut add = |j: usize, (n, y): (u64, u64), (nn, yy): (u64, u64)| {
            let c = &mut out.candidates[j];
            for (slot, v) in c
                .iter_mut()
                .zip([n * n, n * y, y * y, n * nn, n * yy, y * nn, y * yy])
            {
                *slot += v;
            }
        };
        let mut all = [0u64; 3];
        for u in users {
            let (nn, yy) = (u64::from(u.units()), u64::from(u.labelled()));
            all[0] += nn * nn;
            all[1] += nn * yy;
            all[2] += yy * yy;
            if nn == 1 {
                let mut bits = u.word;
                while bits != 0 {
                    add(bits.trailing_zeros() as usize, (1, yy), (1, yy));
                    bits &= bits - 1;
                }
            }
        }
        for (&(user, j), &(n, y)) in many {
            let s = &users[user as usize];
            let totals = (u64::from(s.units()), u64::from(s.labelled()));
            add(usize::from(j), (u64::from(n), u64::from(y)), totals);
        }
        out.all = all;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_ends_past_4_gib_count_the_wraps_before_them() {
        // As if users 0..4 ended at 10, 2^32 + 5, 2^32 + 9 and 2^33 + 1: users 1 and 3 each
        // pass a multiple of 2^32.
        let users = UserIds {
            end: vec![10, 5, 9, 1],
            wraps: vec![1, 3],
            ..UserIds::default()
        };
        let got: Vec<u64> = (0..4).map(|u| users.end_of(u) as u64).collect();
        assert_eq!(got, [10, (1 << 32) + 5, (1 << 32) + 9, (1 << 33) + 1]);
    }

    #[test]
    fn user_ids_are_numbered_in_order_of_first_sight_cached_or_not() {
        let long = "u".repeat(300);
        let ids = [
            "a",
            "",
            "abcd",
            long.as_str(),
            "a",
            "abcd",
            long.as_str(),
            "",
        ];
        let mut users = UserIds::default();
        let got: Vec<u32> = ids.iter().map(|id| users.index(id)).collect();
        assert_eq!(got, [0, 1, 2, 3, 0, 2, 3, 1]);
        assert_eq!(users.len(), 4);
        // Many more ids than cache slots: evicted ids are found in the table, in any order.
        let many: Vec<String> = (0..100_000).map(|i| format!("user-{i}")).collect();
        for (i, id) in many.iter().enumerate() {
            assert_eq!(users.index(id), 4 + i as u32);
        }
        for (i, id) in many.iter().enumerate().rev().step_by(7) {
            assert_eq!(users.index(id), 4 + i as u32);
        }
        assert_eq!(users.len(), 100_004);
    }

    /// The sums by their definition, from each user's list of units.
    fn by_definition(users: &[Vec<(u32, bool)>], k: usize) -> ClusterSums {
        let mut out = ClusterSums {
            all: [0; 3],
            candidates: vec![[0; 7]; k],
        };
        for units in users {
            let nn = units.len() as u64;
            let yy = units.iter().filter(|u| u.1).count() as u64;
            out.all[0] += nn * nn;
            out.all[1] += nn * yy;
            out.all[2] += yy * yy;
            for (j, c) in out.candidates.iter_mut().enumerate() {
                let with: Vec<_> = units.iter().filter(|u| u.0 >> j & 1 == 1).collect();
                let (n, y) = (
                    with.len() as u64,
                    with.iter().filter(|u| u.1).count() as u64,
                );
                let v = [n * n, n * y, y * y, n * nn, n * yy, y * nn, y * yy];
                c.iter_mut().zip(v).for_each(|(s, v)| *s += v);
            }
        }
        out
    }

    #[test]
    fn the_sums_match_their_definition_for_users_of_one_and_many_units() {
        let users: Vec<Vec<(u32, bool)>> = vec![
            vec![],
            vec![(0b101, true)],
            vec![(0b011, false)],
            vec![(0b001, true), (0b110, false)],
            vec![(0b010, false), (0b011, true)],
            vec![(0b111, true), (0b001, true), (0, false), (0b100, true)],
        ];
        let mut state = vec![UserSums::default(); users.len()];
        let mut many = UserFeatures::default();
        for (i, units) in users.iter().enumerate() {
            for &(mask, label) in units {
                add_unit(&mut state[i], &mut many, i as u32, mask, label);
            }
        }
        assert_eq!(
            ClusterSums::of_users(&state, &many, 3),
            by_definition(&users, 3)
        );
    }
}
