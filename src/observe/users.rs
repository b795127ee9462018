//! Per-user state kept for the whole run: the user's open units, and the sums behind the
//! user-clustered variances. This is the one structure that grows with all users, so it is a
//! few words a user, with no allocation for a user of one unit (most of them).

use rustc_hash::FxHashMap;

use super::ClusterSums;

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

/// A user's folded units and labels. The features of a user with one unit are that unit's
/// mask; those of a user with more are counted in [`UserFeatures`].
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct UserSums {
    units: u32,
    labelled: u32,
    /// The only folded unit's feature mask while `units == 1`.
    mask: u32,
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
    match sums.units {
        0 => sums.mask = mask,
        1 => {
            add_bits(many, user, sums.mask, sums.labelled > 0);
            sums.mask = 0;
            add_bits(many, user, mask, label);
        }
        _ => add_bits(many, user, mask, label),
    }
    sums.units += 1;
    sums.labelled += u32::from(label);
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
            let (nn, yy) = (u64::from(u.units), u64::from(u.labelled));
            all[0] += nn * nn;
            all[1] += nn * yy;
            all[2] += yy * yy;
            if nn == 1 {
                let mut bits = u.mask;
                while bits != 0 {
                    add(bits.trailing_zeros() as usize, (1, yy), (1, yy));
                    bits &= bits - 1;
                }
            }
        }
        for (&(user, j), &(n, y)) in many {
            let s = &users[user as usize];
            let totals = (u64::from(s.units), u64::from(s.labelled));
            add(usize::from(j), (u64::from(n), u64::from(y)), totals);
        }
        out.all = all;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
