//! Checkpoints: the whole state of a [`Simulation`] between two months, saved to a file and
//! resumed bit for bit.
//!
//! Format (version [`FORMAT`]): the 16 bytes `PAYMARKET-CKPT\n\0`, the format version (`u32`,
//! little-endian), the length (`u64`) of a JSON header, the header (serde: the scenario, the
//! month index, run, seed, policy in force, share history and the merchants' channel sums),
//! then the agents' arrays in little-endian order: users' spending (`f32`), both state buffers
//! (`u16` state words with a single context, `u32` words of state and defaults with several:
//! see [`crate::world::Users::words`]), dormancy (`u32`);
//! merchants' channel (`u8`), size (`f32`), class (`u8`), accepted
//! set (`u8`) and contract expiries (`u16`, `P` a merchant), and last the CRC-32 (`u32`) of
//! everything after the version. The file is written under a temporary name and renamed into
//! place when complete; a truncated or corrupted file, or one of another format version, is
//! refused with the reason, never loaded. Floats are stored as their bits, so
//! a resumed run continues exactly where the saved one stopped. Custom strategies set with
//! [`Simulation::with_strategy`] are not saved: set them again after [`Simulation::load`].
//!
//! Owns: `Simulation::save` and `Simulation::load`. Reads: the simulation's state. Never:
//! recorders.

use super::Simulation;
use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::scenario::Scenario;
use crate::world::{Merchants, Users};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

const MAGIC: &[u8; 16] = b"PAYMARKET-CKPT\n\0";
/// The checkpoint format version this build writes. It also reads format 2 (written before
/// contexts existed: the same arrays, a policy without brand offsets and per-channel fixed
/// costs, which a scenario of that format cannot have changed). Format 3, written by
/// development builds between them with another layout of the defaults, is refused.
pub const FORMAT: u32 = 4;

/// Passes writes through while hashing them.
struct HashWrite<W: Write> {
    inner: W,
    h: crc32fast::Hasher,
}

impl<W: Write> Write for HashWrite<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Passes reads through while hashing them.
struct HashRead<R: Read> {
    inner: R,
    h: crc32fast::Hasher,
}

impl<R: Read> Read for HashRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    paymarket: String,
    scenario: Scenario,
    t: usize,
    run: u64,
    seed: u64,
    policy: Policy,
    share_history: Vec<Vec<f64>>,
    cur: usize,
    users: u64,
    merchants: u64,
    ranges: Vec<(usize, usize)>,
    size_sum: Vec<f64>,
    mass: Vec<f64>,
}

/// Writes arrays of fixed-width numbers as little-endian bytes through a buffer.
macro_rules! put {
    ($w:expr, $v:expr) => {{
        let mut buf = Vec::with_capacity(1 << 16);
        for chunk in $v.chunks(8192) {
            buf.clear();
            for x in chunk {
                buf.extend_from_slice(&x.to_le_bytes());
            }
            $w.write_all(&buf)?;
        }
    }};
}

/// Reads `n` fixed-width numbers of type `$t` written by `put!`.
macro_rules! take {
    ($r:expr, $t:ty, $n:expr) => {{
        const W: usize = std::mem::size_of::<$t>();
        let mut out: Vec<$t> = Vec::with_capacity($n);
        let mut buf = vec![0u8; 8192 * W];
        let mut left = $n;
        while left > 0 {
            let k = left.min(8192);
            $r.read_exact(&mut buf[..k * W])?;
            out.extend(
                buf[..k * W]
                    .chunks_exact(W)
                    .map(|b| <$t>::from_le_bytes(b.try_into().expect("width"))),
            );
            left -= k;
        }
        out
    }};
}

impl Simulation {
    /// Saves the whole state to `path`: [`Simulation::load`] continues from the next month
    /// exactly as this simulation would.
    ///
    /// ```
    /// use paymarket::{Scenario, Simulation, record::Collect};
    /// let mut s = Scenario::load("data/scenarios/duopoly.toml")?;
    /// s.agents.users = 2_000;
    /// s.agents.merchants = 200;
    /// let mut straight = Simulation::new(s.clone())?;
    /// let mut all = Collect::default();
    /// straight.run(&mut [&mut all])?;
    ///
    /// let mut first = Simulation::new(s)?;
    /// for _ in 0..12 {
    ///     first.step()?;
    /// }
    /// let path = std::env::temp_dir().join("paymarket-doc.ckpt");
    /// first.save(&path)?;
    /// let mut resumed = Simulation::load(&path)?;
    /// let mut rest = Collect::default();
    /// resumed.run(&mut [&mut rest])?;
    /// assert_eq!(rest.reports[..], all.reports[12..]);
    /// # Ok::<(), paymarket::Error>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let (staged, f) = crate::output::Staged::create(path)?;
        let mut w = BufWriter::new(f);
        self.write_to(&mut w).map_err(io)?;
        w.flush().map_err(io)?;
        drop(w);
        staged.commit()
    }

    fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        let m = &self.merchants;
        let header = Header {
            paymarket: env!("CARGO_PKG_VERSION").to_string(),
            scenario: self.scenario.clone(),
            t: self.t,
            run: self.run,
            seed: self.seed,
            policy: self.policy.clone(),
            share_history: self.share_history.clone(),
            cur: self.users.cur,
            users: self.users.len() as u64,
            merchants: m.size.len() as u64,
            ranges: m.ranges.iter().map(|r| (r.start, r.end)).collect(),
            size_sum: m.size_sum.clone(),
            mass: m.mass.clone(),
        };
        let json = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
        w.write_all(MAGIC)?;
        w.write_all(&FORMAT.to_le_bytes())?;
        let mut w = HashWrite {
            inner: w,
            h: crc32fast::Hasher::new(),
        };
        w.write_all(&(json.len() as u64).to_le_bytes())?;
        w.write_all(&json)?;
        let u = &self.users;
        put!(w, u.spend);
        if u.has_defaults() {
            put!(w, u.words[0]);
            put!(w, u.words[1]);
        } else {
            put!(w, u.state[0]);
            put!(w, u.state[1]);
        }
        put!(w, u.dormancy);
        put!(w, m.channel);
        put!(w, m.size);
        put!(w, m.class);
        put!(w, m.accepted);
        put!(w, m.expiry);
        let crc = w.h.clone().finalize();
        w.inner.write_all(&crc.to_le_bytes())?;
        crate::output::pause_point(format_args!("checkpoint written"));
        Ok(())
    }

    /// Resumes a simulation saved by [`Simulation::save`], with the built-in strategies of its
    /// scenario.
    pub fn load(path: impl AsRef<Path>) -> Result<Simulation> {
        let path = path.as_ref();
        let bad = |problem: String| Error::Checkpoint {
            path: path.to_path_buf(),
            problem,
        };
        let truncated = |e: std::io::Error| {
            bad(format!(
                "{e}: the file is truncated or unreadable; save the checkpoint again"
            ))
        };
        let f = File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut r = BufReader::new(f);
        let mut magic = [0u8; 16];
        r.read_exact(&mut magic)
            .map_err(|_| bad("not a paymarket checkpoint (too short)".into()))?;
        if &magic != MAGIC {
            return Err(bad(
                "not a paymarket checkpoint (the file does not start with PAYMARKET-CKPT)".into(),
            ));
        }
        let mut word = [0u8; 4];
        r.read_exact(&mut word).map_err(truncated)?;
        let version = u32::from_le_bytes(word);
        if version != FORMAT && version != 2 {
            return Err(bad(format!(
                "format version {version}, but this paymarket reads versions 2 and {FORMAT}; \
                 resume it with the paymarket release that wrote it"
            )));
        }
        let mut r = HashRead {
            inner: r,
            h: crc32fast::Hasher::new(),
        };
        let mut len = [0u8; 8];
        r.read_exact(&mut len).map_err(truncated)?;
        let len = u64::from_le_bytes(len);
        if len > 1 << 30 {
            return Err(bad(format!("header of {len} bytes: the file is damaged")));
        }
        let mut json = vec![0u8; len as usize];
        r.read_exact(&mut json).map_err(truncated)?;
        let h: Header =
            serde_json::from_slice(&json).map_err(|e| bad(format!("damaged header: {e}")))?;
        h.scenario.validate()?;
        let p = h.scenario.platforms.len();
        if h.users != h.scenario.agents.users || h.merchants != h.scenario.agents.merchants {
            return Err(bad(
                "agent counts disagree with the scenario: the file is damaged".into(),
            ));
        }
        crate::world::check_memory(h.users, h.merchants, p, 1, h.scenario.contexts.len().max(1))?;
        let (n, m) = (h.users as usize, h.merchants as usize);
        let several = h.scenario.contexts.len() > 1;
        let (n_state, n_words) = if several { (0, n) } else { (n, 0) };
        let mut read = || -> std::io::Result<(Users, Merchants)> {
            let spend = take!(r, f32, n);
            let state = [take!(r, u16, n_state), take!(r, u16, n_state)];
            let words = [take!(r, u32, n_words), take!(r, u32, n_words)];
            let users = Users {
                spend,
                state,
                dormancy: take!(r, u32, n),
                words,
                cur: h.cur,
                contexts: h.scenario.contexts.len().max(1),
            };
            let merchants = Merchants {
                channel: take!(r, u8, m),
                size: take!(r, f32, m),
                class: take!(r, u8, m),
                accepted: take!(r, u8, m),
                expiry: take!(r, u16, m * p),
                ranges: h.ranges.iter().map(|&(a, b)| a..b).collect(),
                size_sum: h.size_sum.clone(),
                mass: h.mass.clone(),
            };
            Ok((users, merchants))
        };
        let (users, merchants) = read().map_err(truncated)?;
        let computed = r.h.clone().finalize();
        let mut crc = [0u8; 4];
        r.inner.read_exact(&mut crc).map_err(truncated)?;
        if u32::from_le_bytes(crc) != computed {
            return Err(bad(
                "checksum mismatch: the file is damaged; save the checkpoint again".into(),
            ));
        }
        let mut rest = [0u8; 1];
        if r.inner.read(&mut rest).map_err(truncated)? != 0 {
            return Err(bad("bytes after the checksum: the file is damaged".into()));
        }
        let scenario = h.scenario;
        let mut policy = h.policy;
        policy.fill_unsaved(&scenario, h.t);
        let mut sim = Simulation::from_parts(scenario, users, merchants, h.seed, policy)?;
        sim.t = h.t;
        sim.run = h.run;
        sim.share_history = h.share_history;
        Ok(sim)
    }
}
