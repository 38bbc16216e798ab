//! User agents as structs of arrays: spending, the double-buffered state words (with the
//! defaults words beside them when a scenario has several contexts) and dormancy.
//!
//! Owns: `Users`, `Word`. Reads: the state and defaults words' layout. Never: the rules.

use super::{defaults, state, NO_PRIMARY};

/// User agents, struct of arrays.
#[derive(Debug, Clone)]
pub struct Users {
    /// Monthly spending `x_i`, RMB.
    pub spend: Vec<f32>,
    /// With one context: the state words (see [`state`]), two buffers: `state[cur]` is the
    /// state at the end of last month. Empty with several contexts, which keep them in `words`.
    pub state: [Vec<u16>; 2],
    /// 4 bits per platform: for a held wallet the months since it was last used or taken up
    /// (to 15 at most); for one dropped within the last 12 months, the months since its last
    /// use plus one; else 0 (see `remember` in the user update and MODEL.md's annual users).
    pub dormancy: Vec<u32>,
    /// With several contexts: each user's state word (bits 0–15) and defaults word (bits 16–31:
    /// the defaults of contexts 1–3, see [`defaults`]) as one [`Word`], two buffers like
    /// `state`, so that a contact's state and defaults are one memory access. Empty with one
    /// context, whose default is the state word's `π`.
    pub words: [Vec<u32>; 2],
    /// Which buffer holds last month's state.
    pub cur: usize,
    /// `K`: the scenario's contexts.
    pub contexts: usize,
}

/// A user's state as the user pass stores it: the state word alone (`u16`, one context), or
/// the state word and the defaults word together (`u32`, several contexts).
pub trait Word: Copy + Send + Sync + 'static {
    /// The state word (see [`state`]).
    fn state(self) -> u16;
    /// The defaults word (see [`defaults`]; 0 with one context).
    fn defaults(self) -> u16;
    /// The stored word of a state word and a defaults word.
    fn join(state: u16, defaults: u16) -> Self;
    /// The word widened: the state word in bits 0–15, the defaults word in bits 16–31.
    fn bits(self) -> u32;
    /// The users' two buffers of this word: `state` (`u16`) or `words` (`u32`).
    fn buffers<'a>(
        state: &'a mut [Vec<u16>; 2],
        words: &'a mut [Vec<u32>; 2],
    ) -> &'a mut [Vec<Self>; 2];
}

impl Word for u16 {
    #[inline(always)]
    fn state(self) -> u16 {
        self
    }
    #[inline(always)]
    fn defaults(self) -> u16 {
        0
    }
    #[inline(always)]
    fn join(state: u16, _: u16) -> u16 {
        state
    }
    #[inline(always)]
    fn bits(self) -> u32 {
        self as u32
    }
    fn buffers<'a>(
        state: &'a mut [Vec<u16>; 2],
        _: &'a mut [Vec<u32>; 2],
    ) -> &'a mut [Vec<u16>; 2] {
        state
    }
}

impl Word for u32 {
    #[inline(always)]
    fn state(self) -> u16 {
        self as u16
    }
    #[inline(always)]
    fn defaults(self) -> u16 {
        (self >> 16) as u16
    }
    #[inline(always)]
    fn join(state: u16, defaults: u16) -> u32 {
        state as u32 | (defaults as u32) << 16
    }
    #[inline(always)]
    fn bits(self) -> u32 {
        self
    }
    fn buffers<'a>(
        _: &'a mut [Vec<u16>; 2],
        words: &'a mut [Vec<u32>; 2],
    ) -> &'a mut [Vec<u32>; 2] {
        words
    }
}

impl Users {
    /// Number of users.
    pub fn len(&self) -> usize {
        self.spend.len()
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.spend.is_empty()
    }

    /// Bytes of per-user arrays per user with one context: spending 4, state 2 × 2, dormancy 4.
    pub const BYTES_PER_USER: usize = 4 + 2 * 2 + 4;

    /// Bytes of per-user arrays per user with `contexts` contexts: [`Users::BYTES_PER_USER`],
    /// plus 2 × 2 for the defaults word when there is more than one (16 bytes at most).
    pub const fn bytes_per_user(contexts: usize) -> usize {
        Users::BYTES_PER_USER + if contexts > 1 { 2 * 2 } else { 0 }
    }

    /// Whether the scenario has several contexts (the words hold a defaults word).
    pub fn has_defaults(&self) -> bool {
        !self.words[0].is_empty()
    }

    /// User `i`'s state word in buffer `b`.
    #[inline]
    pub fn state_word(&self, b: usize, i: usize) -> u16 {
        if self.has_defaults() {
            self.words[b][i].state()
        } else {
            self.state[b][i]
        }
    }

    /// User `i`'s defaults word in buffer `b` (0 with one context).
    #[inline]
    pub fn defaults_word(&self, b: usize, i: usize) -> u16 {
        if self.has_defaults() {
            self.words[b][i].defaults()
        } else {
            0
        }
    }

    /// User `i`'s default wallet in context `k` at the end of the last simulated month, if any
    /// (context 0's is the state word's `π`).
    /// `None` also for a context the scenario does not have.
    pub fn default_in(&self, i: usize, k: usize) -> Option<usize> {
        let p = match k {
            0 => state::primary(self.state_word(self.cur, i)),
            1..=3 if k < self.contexts => defaults::get(self.defaults_word(self.cur, i), k),
            _ => NO_PRIMARY,
        };
        (p != NO_PRIMARY).then_some(p as usize)
    }

    /// User `i`'s wallet set at the end of the last simulated month.
    pub fn wallets(&self, i: usize) -> u8 {
        state::wallets(self.state_word(self.cur, i))
    }

    /// User `i`'s primary wallet at the end of the last simulated month, if any.
    pub fn primary(&self, i: usize) -> Option<usize> {
        let p = state::primary(self.state_word(self.cur, i));
        (p != NO_PRIMARY).then_some(p as usize)
    }
}
