//! States: the set of ground atoms that hold, as a bit set (closed world).

use crate::ground::AtomId;

/// The atoms that hold in a state, one bit per ground atom of a [`crate::Task`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct State {
    bits: Vec<u64>,
}

impl State {
    /// A state over `n` atoms in which exactly `atoms` hold.
    pub fn with_atoms(n: usize, atoms: &[AtomId]) -> State {
        let mut s = State {
            bits: vec![0; n.div_ceil(64)],
        };
        for a in atoms {
            s.set(*a, true);
        }
        s
    }

    /// Whether atom `a` holds.
    #[inline]
    pub fn get(&self, a: AtomId) -> bool {
        let a = a as usize;
        self.bits
            .get(a / 64)
            .is_some_and(|w| w >> (a % 64) & 1 == 1)
    }

    /// Make atom `a` hold or not.
    #[inline]
    pub fn set(&mut self, a: AtomId, v: bool) {
        let a = a as usize;
        if a / 64 >= self.bits.len() {
            self.bits.resize(a / 64 + 1, 0);
        }
        if v {
            self.bits[a / 64] |= 1 << (a % 64);
        } else {
            self.bits[a / 64] &= !(1 << (a % 64));
        }
    }

    /// The atoms that hold, in id order.
    pub fn atoms(&self) -> impl Iterator<Item = AtomId> + '_ {
        self.bits.iter().enumerate().flat_map(|(i, w)| {
            let w = *w;
            (0..64)
                .filter(move |b| w >> b & 1 == 1)
                .map(move |b| (i * 64 + b) as AtomId)
        })
    }

    /// The packed words (for compact storage in search).
    pub fn words(&self) -> &[u64] {
        &self.bits
    }

    /// A state from packed words.
    pub fn from_words(words: &[u64]) -> State {
        State {
            bits: words.to_vec(),
        }
    }
}
