//! Contacts (MODEL.md section 3, *Contacts*): each block of users' sampled contacts, their state,
//! defaults and membership words gathered from last month's buffers, with the prefetch that
//! brings them into cache a block ahead.
//!
//! Owns: `Contacts`, `ContactsOf`, `prefetch`, `MAX_CONTACTS`. Reads: `UserCtx`, last month's
//! words (`u16` state words, or `u32` state and defaults words). Never: the rules, output.

use super::FarTable;
use super::{UserCtx, BLOCK};
use crate::social::{community, contact_in, is_long, near_in};
use crate::world::{state, Word};

/// Most contacts a user samples a month.
pub const MAX_CONTACTS: usize = 64;

/// The sampled contacts of a block of users: state words and membership masks.
pub(crate) struct Contacts {
    idx: Vec<u32>,
    st: Vec<u16>,
    mask: Vec<u16>,
    /// Whole words, state and defaults (several contexts only; see [`Word::bits`]).
    words: Vec<u32>,
    /// Long-range contacts' words drawn from the month's table (`UserCtx::far`), after the
    /// user's `near` in-community ones.
    far: Vec<u32>,
    count: [usize; BLOCK],
    /// With the table: how many of each user's contacts are in-community (read by index).
    near: [usize; BLOCK],
    len: usize,
}

/// Hints the processor to bring `v[i]` into cache. Contacts' state words are scattered over the
/// whole population; with the hint issued a block of users ahead, the user update finds them in
/// cache instead of waiting on memory (measured: see BENCHMARKS.md). Does nothing where the
/// hint is not available.
#[inline(always)]
pub(crate) fn prefetch<T>(v: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        let p = v.as_ptr().wrapping_add(i) as *const i8;
        // SAFETY: `_mm_prefetch` only hints the cache: it never faults, reads or writes
        // program-visible memory, whatever the address (here inside `v`, as `i` is a user
        // index). SSE is part of the x86_64 baseline.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, i);
}

/// Whether user `i` reads no contact this month ([`UserCtx::quiet`]): no wallet held, and a
/// membership (in its state word, written for this month) with nothing to adopt and no p2p
/// channel. Its contacts are not drawn: each user's draws are its own
/// ([`crate::rng::Stream::agent`]), so no other user's change.
#[inline(always)]
fn quiet<W: Word>(ctx: &UserCtx, old: &[W], i: usize) -> bool {
    let st = old[i].state();
    state::wallets(st) == 0 && ctx.quiet.get(state::networks(st) as usize) == Some(&true)
}

impl Contacts {
    pub(super) fn new() -> Contacts {
        Contacts {
            idx: vec![0; BLOCK * MAX_CONTACTS],
            st: vec![0; BLOCK * MAX_CONTACTS],
            mask: vec![1; BLOCK * MAX_CONTACTS],
            words: vec![0; BLOCK * MAX_CONTACTS],
            far: vec![0; BLOCK * MAX_CONTACTS],
            count: [0; BLOCK],
            near: [0; BLOCK],
            len: 0,
        }
    }

    /// Samples the contacts of users `first..first + len` and asks the processor to start
    /// fetching their state words (see [`prefetch`]); [`Contacts::load`] reads them a block
    /// later, when they have arrived.
    #[inline]
    pub(super) fn sample<W: Word>(&mut self, ctx: &UserCtx, first: usize, len: usize, old: &[W]) {
        if let Some(table) = ctx.far {
            return self.sample_with_table(ctx, first, len, table, old);
        }
        let (mut start, mut size) = community(first as u64, ctx.n, ctx.b);
        for u in 0..len {
            let i = (first + u) as u64;
            if i >= start + ctx.b {
                (start, size) = community(i, ctx.n, ctx.b);
            }
            if quiet(ctx, old, i as usize) {
                self.count[u] = 0;
                continue;
            }
            let draws = ctx.contact_stream.agent(i);
            let row = &mut self.idx[u * MAX_CONTACTS..][..MAX_CONTACTS];
            let mut m = 0;
            for k in 0..ctx.k {
                if let Some(r) = contact_in(i, ctx.n, start, size, ctx.eps16, draws.draw(k as u64))
                {
                    row[m] = r as u32;
                    prefetch(old, r as usize);
                    m += 1;
                }
            }
            self.count[u] = m;
        }
        self.len = len;
    }

    /// [`Contacts::sample`] with long-range contacts drawn from the month's table: the same
    /// draw per contact decides long-range or not (bits 0–15) and gives the in-community index
    /// (bits 32–63) or the table's word (bits 16–63). A branch on the long-range test: looking
    /// the table up for every contact and keeping one of the two without a branch was slower
    /// (BENCHMARKS.md). In-community contacts need no prefetch (the user's community is in
    /// cache), and the drawn words are already at hand. (Validation keeps the table to
    /// scenarios whose memberships are in the state words, so no contact's mask is hashed from
    /// its index.)
    fn sample_with_table<W: Word>(
        &mut self,
        ctx: &UserCtx,
        first: usize,
        len: usize,
        table: &FarTable,
        old: &[W],
    ) {
        let (mut start, mut size) = community(first as u64, ctx.n, ctx.b);
        let far_possible = (ctx.n >= 2) as usize;
        for u in 0..len {
            let i = (first + u) as u64;
            if i >= start + ctx.b {
                (start, size) = community(i, ctx.n, ctx.b);
            }
            if quiet(ctx, old, i as usize) {
                (self.near[u], self.count[u]) = (0, 0);
                continue;
            }
            let near_possible = (size >= 2) as usize;
            let draws = ctx.contact_stream.agent(i);
            let row = &mut self.idx[u * MAX_CONTACTS..][..MAX_CONTACTS];
            let far = &mut self.far[u * MAX_CONTACTS..][..MAX_CONTACTS];
            let (mut m_near, mut m_far) = (0, 0);
            for k in 0..ctx.k {
                let x = draws.draw(k as u64);
                if is_long(x, ctx.eps16) {
                    far[m_far] = table.draw(x);
                    m_far += far_possible;
                } else {
                    row[m_near] = near_in(i, start, size, x) as u32;
                    m_near += near_possible;
                }
            }
            self.near[u] = m_near;
            self.count[u] = m_near + m_far;
        }
        self.len = len;
    }

    /// Loads the sampled contacts' state words, defaults words (several contexts) and
    /// membership masks.
    #[inline]
    pub(super) fn load<W: Word>(&mut self, ctx: &UserCtx, old: &[W]) {
        if ctx.far.is_some() {
            self.load_with_table(old);
        } else {
            self.load_by_index(old);
        }
        self.load_masks(ctx);
    }

    /// The words of the contacts drawn with the month's table: the in-community ones read by
    /// index, then the long-range ones as drawn.
    fn load_with_table<W: Word>(&mut self, old: &[W]) {
        for u in 0..self.len {
            let (near, m) = (self.near[u], self.count[u]);
            let idx = &self.idx[u * MAX_CONTACTS..][..near];
            let st = &mut self.st[u * MAX_CONTACTS..][..m];
            let words = &mut self.words[u * MAX_CONTACTS..][..m];
            for ((s, x), &r) in st.iter_mut().zip(words.iter_mut()).zip(idx) {
                let w = old[r as usize].bits();
                *s = w as u16;
                *x = w;
            }
            let far = &self.far[u * MAX_CONTACTS..][..m - near];
            for ((s, x), &w) in st[near..].iter_mut().zip(&mut words[near..]).zip(far) {
                *s = w as u16;
                *x = w;
            }
        }
    }

    /// The words of the contacts sampled by index.
    fn load_by_index<W: Word>(&mut self, old: &[W]) {
        // Whether the words carry defaults (`u32`), known when the pass is compiled.
        let with_defaults = std::mem::size_of::<W>() > 2;
        for u in 0..self.len {
            let m = self.count[u];
            let idx = &self.idx[u * MAX_CONTACTS..][..m];
            let st = &mut self.st[u * MAX_CONTACTS..][..m];
            if with_defaults {
                let words = &mut self.words[u * MAX_CONTACTS..][..m];
                for ((s, x), &r) in st.iter_mut().zip(words.iter_mut()).zip(idx) {
                    let w = old[r as usize];
                    *s = w.state();
                    *x = w.bits();
                }
            } else {
                for (s, &r) in st.iter_mut().zip(idx) {
                    *s = old[r as usize].state();
                }
            }
        }
    }

    /// The contacts' membership masks: from their state words, hashed, or everyone's network.
    fn load_masks(&mut self, ctx: &UserCtx) {
        if ctx.masks_in_state {
            for u in 0..self.len {
                let m = self.count[u];
                let st = &self.st[u * MAX_CONTACTS..][..m];
                let mask = &mut self.mask[u * MAX_CONTACTS..][..m];
                for (x, s) in mask.iter_mut().zip(st) {
                    *x = state::networks(*s);
                }
            }
        } else if ctx.contact_masks {
            // More networks than the state word holds: hash each contact's membership.
            for u in 0..self.len {
                for k in 0..self.count[u] {
                    let r = self.idx[u * MAX_CONTACTS + k] as u64;
                    self.mask[u * MAX_CONTACTS + k] = ctx.member.mask(&ctx.member_stream.agent(r));
                }
            }
        } else {
            // Contacts' memberships do not matter: every contact is a member of everyone's
            // network only, as a new block starts, whatever an earlier simulation on this
            // thread left in the buffers (they are kept from chunk to chunk).
            for u in 0..self.len {
                self.mask[u * MAX_CONTACTS..][..self.count[u]].fill(1);
            }
        }
    }

    /// User `u`'s contacts: state words, membership masks and defaults words.
    #[inline]
    pub(super) fn of(&self, u: usize) -> ContactsOf<'_> {
        let m = self.count[u];
        ContactsOf {
            st: &self.st[u * MAX_CONTACTS..][..m],
            mask: &self.mask[u * MAX_CONTACTS..][..m],
            words: &self.words[u * MAX_CONTACTS..][..m],
        }
    }
}

/// One user's sampled contacts as the update reads them.
#[derive(Clone, Copy)]
pub(crate) struct ContactsOf<'a> {
    /// State words.
    pub st: &'a [u16],
    /// Membership masks.
    pub mask: &'a [u16],
    /// Whole words: state and defaults (meaningful with several contexts only).
    pub words: &'a [u32],
}

impl ContactsOf<'_> {
    /// Calls `f` with each contact's state word, membership mask and default in the context
    /// whose default starts at bit `shift` ([`default_shift`]) of its whole word, in order. With
    /// one context (`K = 1`) the default is the state word's and the whole words are not read
    /// (they are not loaded); with several it is read branch-free from the whole word, for a
    /// context known only at run time.
    #[inline(always)]
    pub(super) fn each_default<const K: usize>(&self, shift: u32, mut f: impl FnMut(u16, u16, u8)) {
        if K > 1 {
            let each = self.st.iter().zip(self.mask).zip(self.words);
            for ((&st, &cm), &w) in each {
                f(st, cm, ((w >> shift) & 0xf) as u8);
            }
        } else {
            for (&st, &cm) in self.st.iter().zip(self.mask) {
                f(st, cm, state::primary(st));
            }
        }
    }
}

/// Where context `k`'s default starts in a contact's state word followed by its defaults word
/// (see [`ContactsOf::each_default`]).
#[inline(always)]
pub(super) fn default_shift(k: usize) -> u32 {
    if k == 0 {
        8
    } else {
        16 + 4 * (k as u32 - 1)
    }
}
