//! The users filed under one folded email in the email index, in load
//! order: almost always one.

use domain::UserId;

/// The users filed under one folded email: almost always one, so one
/// needs no allocation of its own.
#[derive(Debug, Clone)]
pub(super) enum Holders {
    One(UserId),
    /// Two or more, in load order (legacy data only).
    Many(Vec<UserId>),
}

/// Where an id goes among the [`Holders`] of a key.
#[derive(Clone, Copy)]
pub(super) enum Place {
    First,
    Last,
}

impl Holders {
    pub(super) fn ids(&self) -> &[UserId] {
        match self {
            Self::One(id) => std::slice::from_ref(id),
            Self::Many(ids) => ids,
        }
    }

    pub(super) fn add(&mut self, id: UserId, place: Place) {
        if self.ids().contains(&id) {
            return;
        }
        let mut ids = self.ids().to_vec();
        match place {
            Place::First => ids.insert(0, id),
            Place::Last => ids.push(id),
        }
        *self = Self::Many(ids);
    }

    /// Removes `id`; `true` when none is left.
    pub(super) fn remove(&mut self, id: &UserId) -> bool {
        match self {
            Self::One(one) => one == id,
            Self::Many(ids) => {
                ids.retain(|held| held != id);
                match ids.as_slice() {
                    [] => true,
                    [last] => {
                        *self = Self::One(*last);
                        false
                    }
                    _ => false,
                }
            }
        }
    }
}
