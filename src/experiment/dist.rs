//! Distribution of whole runs: over threads by default, over MPI ranks with the `mpi` feature.
//!
//! Experiments hand their runs (replicates, sweep points, calibration candidates, counterfactual
//! pairs) to [`for_each_ordered`] or [`map_all`]. Without MPI they run a bounded number at a
//! time on rayon's threads. Under MPI (after `dist::start`) rank 0 coordinates: every other rank
//! asks for the next run when it is free (dynamic balancing, since runs differ in length),
//! computes it with its own threads and sends back the result; rank 0 computes runs as well, on
//! a thread of its own, and hands results on in run order, so the output is byte-identical to
//! the threaded build for any number of ranks. Only rank 0 writes.
//!
//! A failed run stops the job: rank 0 tells every worker to stop and every rank returns the
//! error, naming the run and the rank. A rank that dies takes the MPI job down (the MPI
//! launcher ends every rank and reports it).
//!
//! Owns: ordered parallel and MPI maps (`for_each_ordered`, `map_all`, `is_root`). Reads: nothing
//! of the model. Never: files.

#[cfg(feature = "mpi")]
use crate::error::Error;
use crate::error::Result;
use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Whether this process writes output: rank 0 under MPI, always otherwise.
pub fn is_root() -> bool {
    rank() == 0
}

/// This process's rank (0 without MPI).
pub fn rank() -> usize {
    imp::rank()
}

/// Number of processes (1 without MPI).
pub fn size() -> usize {
    imp::size()
}

#[cfg(feature = "mpi")]
pub use imp::{start, Session};

/// Runs `work(i)` for `i` in `0..count` and hands each result to `take` in index order, on rank
/// 0 only (workers return when the work is done, without calling `take`). Without MPI, at most
/// `in_flight` runs are computed at a time.
pub fn for_each_ordered<T>(
    count: u64,
    in_flight: usize,
    work: impl Fn(u64) -> Result<T> + Sync,
    mut take: impl FnMut(u64, T) -> Result<()>,
) -> Result<()>
where
    T: Send + Serialize + DeserializeOwned,
{
    if imp::distributed() {
        return imp::coordinate(count, &work, &mut take, false);
    }
    let mut i0 = 0;
    while i0 < count {
        let i1 = (i0 + in_flight.max(1) as u64).min(count);
        let batch: Vec<Result<T>> = (i0..i1).into_par_iter().map(&work).collect();
        for (i, out) in (i0..i1).zip(batch) {
            take(i, out?)?;
        }
        i0 = i1;
    }
    Ok(())
}

/// Computes `work(i)` for `i` in `0..count` and returns the results in index order on every
/// rank (so that every rank can take the same next decision, as a calibration must). For small
/// results.
///
/// ```
/// let squares = paymarket::dist::map_all(5, |i| Ok(i * i))?;
/// assert_eq!(squares, vec![0, 1, 4, 9, 16]);
/// # Ok::<(), paymarket::Error>(())
/// ```
pub fn map_all<T>(count: u64, work: impl Fn(u64) -> Result<T> + Sync) -> Result<Vec<T>>
where
    T: Send + Serialize + DeserializeOwned,
{
    // Nothing to do: every rank returns at once (a distributed round with no work would leave
    // the ranks waiting on each other).
    if count == 0 {
        return Ok(Vec::new());
    }
    if imp::distributed() {
        let mut out = Vec::with_capacity(count as usize);
        imp::coordinate(
            count,
            &work,
            &mut |_, t| {
                out.push(t);
                Ok(())
            },
            true,
        )?;
        return Ok(out);
    }
    (0..count).into_par_iter().map(&work).collect()
}

#[cfg(not(feature = "mpi"))]
mod imp {
    use super::*;

    pub fn rank() -> usize {
        0
    }
    pub fn size() -> usize {
        1
    }
    pub fn distributed() -> bool {
        false
    }
    pub fn coordinate<T>(
        _: u64,
        _: &(impl Fn(u64) -> Result<T> + Sync),
        _: &mut impl FnMut(u64, T) -> Result<()>,
        _: bool,
    ) -> Result<()> {
        unreachable!("not distributed without the mpi feature")
    }
}

#[cfg(feature = "mpi")]
mod imp {
    use super::*;
    use mpi::topology::SimpleCommunicator;
    use mpi::traits::*;
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;

    const READY: i32 = 1;
    const RESULT: i32 = 2;
    const WORK: i32 = 3;
    const STOP: i32 = 4;
    const ALL: i32 = 5;

    thread_local! {
        static WORLD: RefCell<Option<SimpleCommunicator>> = const { RefCell::new(None) };
        /// Set while this rank computes a run: nested experiments inside it run locally.
        static BUSY: Cell<bool> = const { Cell::new(false) };
    }

    /// The MPI session: keep it alive for the whole program (dropping it finalises MPI).
    pub struct Session {
        _universe: mpi::environment::Universe,
    }

    /// Initialises MPI; experiments called from this thread afterwards are distributed over the
    /// ranks when there are two or more.
    pub fn start() -> Result<Session> {
        let universe =
            mpi::initialize().ok_or_else(|| Error::Config("MPI was already initialised".into()))?;
        let world = universe.world();
        WORLD.with(|w| *w.borrow_mut() = Some(world));
        Ok(Session {
            _universe: universe,
        })
    }

    fn with_world<R>(f: impl FnOnce(&SimpleCommunicator) -> R) -> Option<R> {
        WORLD.with(|w| w.borrow().as_ref().map(f))
    }

    pub fn rank() -> usize {
        with_world(|w| w.rank() as usize).unwrap_or(0)
    }

    pub fn size() -> usize {
        with_world(|w| w.size() as usize).unwrap_or(1)
    }

    pub fn distributed() -> bool {
        size() > 1 && !BUSY.with(|b| b.get())
    }

    fn encode<T: Serialize>(i: u64, r: &Result<T>) -> Vec<u8> {
        let mut msg = i.to_le_bytes().to_vec();
        match r {
            Ok(t) => {
                msg.push(1);
                msg.extend(serde_json::to_vec(t).expect("results serialise"));
            }
            Err(e) => {
                msg.push(0);
                msg.extend(e.to_string().into_bytes());
            }
        }
        msg
    }

    fn index(msg: &[u8]) -> u64 {
        u64::from_le_bytes(msg[..8].try_into().expect("8 bytes"))
    }

    fn decode<T: DeserializeOwned>(msg: &[u8]) -> Result<T> {
        serde_json::from_slice(&msg[9..])
            .map_err(|e| Error::Config(format!("a result from another rank is unreadable: {e}")))
    }

    pub fn coordinate<T: Serialize + DeserializeOwned>(
        count: u64,
        work: &(impl Fn(u64) -> Result<T> + Sync),
        take: &mut impl FnMut(u64, T) -> Result<()>,
        to_all: bool,
    ) -> Result<()> {
        with_world(|world| {
            if world.rank() == 0 {
                root(world, count, work, take, to_all)
            } else {
                worker(world, work, take, to_all)
            }
        })
        .expect("distributed() checked the world")
    }

    fn root<T: Serialize + DeserializeOwned>(
        world: &SimpleCommunicator,
        count: u64,
        work: &(impl Fn(u64) -> Result<T> + Sync),
        take: &mut impl FnMut(u64, T) -> Result<()>,
        to_all: bool,
    ) -> Result<()> {
        let workers = world.size() as usize - 1;
        // Rank 0 computes too, on a thread of its own (MPI calls stay on this thread).
        let (job_tx, job_rx) = std::sync::mpsc::channel::<u64>();
        let (res_tx, res_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        std::thread::scope(|sc| {
            sc.spawn(move || {
                for i in job_rx {
                    let out = work(i);
                    if res_tx.send(encode(i, &out)).is_err() {
                        break;
                    }
                }
            });
            let r = serve(world, count, workers, take, to_all, &job_tx, &res_rx);
            drop(job_tx);
            r
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn serve<T: Serialize + DeserializeOwned>(
        world: &SimpleCommunicator,
        count: u64,
        workers: usize,
        take: &mut impl FnMut(u64, T) -> Result<()>,
        to_all: bool,
        job_tx: &std::sync::mpsc::Sender<u64>,
        res_rx: &std::sync::mpsc::Receiver<Vec<u8>>,
    ) -> Result<()> {
        // Results arrive out of order; keep a bounded window of them.
        let window = 2 * (workers as u64 + 1);
        let mut next = 0u64; // next run to hand out
        let mut want = 0u64; // next run to take
        let mut held: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut idle: Vec<i32> = Vec::new();
        let mut stopped = 0usize;
        let mut local_busy = false;
        let mut failure: Option<String> = None;
        let mut kept: Vec<Vec<u8>> = Vec::new();
        let mut result = |msg: Vec<u8>, from: i32, failure: &mut Option<String>, want: &mut u64| {
            let i = index(&msg);
            if msg[8] == 0 {
                if failure.is_none() {
                    *failure = Some(format!(
                        "run {i} failed on rank {from}: {}",
                        String::from_utf8_lossy(&msg[9..])
                    ));
                }
            } else {
                held.insert(i, msg);
            }
            while let Some(m) = held.remove(want) {
                if failure.is_none() {
                    if let Err(e) = decode::<T>(&m).and_then(|t| take(*want, t)) {
                        *failure = Some(format!("run {want}: {e}"));
                    }
                }
                if to_all {
                    kept.push(m);
                }
                *want += 1;
            }
        };
        let mut quiet = 0u32;
        loop {
            let mut progressed = false;
            if let Some(status) = world.any_process().immediate_probe() {
                let (msg, status2) = world
                    .process_at_rank(status.source_rank())
                    .receive_vec::<u8>();
                let from = status2.source_rank();
                if status2.tag() == RESULT {
                    result(msg, from, &mut failure, &mut want);
                }
                idle.push(from);
                progressed = true;
            } else if let Ok(msg) = res_rx.try_recv() {
                local_busy = false;
                result(msg, 0, &mut failure, &mut want);
                progressed = true;
            }
            // Hand out work while the window allows; stop workers when done.
            let mut still = Vec::new();
            for w in idle.drain(..) {
                let p = world.process_at_rank(w);
                if failure.is_some() || next >= count {
                    let flag = [failure.is_some() as u8];
                    p.send_with_tag(&flag[..], STOP);
                    stopped += 1;
                } else if next < want + window {
                    p.send_with_tag(&next.to_le_bytes()[..], WORK);
                    next += 1;
                } else {
                    still.push(w);
                }
            }
            idle = still;
            if !local_busy && failure.is_none() && next < count && next < want + window {
                job_tx.send(next).expect("the local worker runs");
                next += 1;
                local_busy = true;
            }
            if stopped == workers && !local_busy {
                break;
            }
            // Nothing arrived: wait a little before polling again (runs take milliseconds or
            // more, so this costs no throughput).
            if progressed {
                quiet = 0;
            } else {
                quiet = (quiet + 1).min(1000);
                std::thread::sleep(std::time::Duration::from_micros(20 * quiet as u64));
            }
        }
        finish(world, workers, failure, to_all, &kept)
    }

    /// Tell the workers how the job ended: the failure, or every result in order (when every
    /// rank needs them), or only that it ended. Every worker waits for this message after its
    /// `STOP`, so that none starts the next job, and sends rank 0 its `READY` for it, while rank
    /// 0 is still in this one: rank 0 would take that `READY` for this job's, answer it with a
    /// second `STOP`, and the worker would skip the next job (a hang, or results out of step).
    fn finish(
        world: &SimpleCommunicator,
        workers: usize,
        failure: Option<String>,
        to_all: bool,
        kept: &[Vec<u8>],
    ) -> Result<()> {
        if let Some(f) = failure {
            for w in 1..=workers {
                world
                    .process_at_rank(w as i32)
                    .send_with_tag(f.as_bytes(), ALL);
            }
            return Err(Error::Config(f));
        }
        let mut msg = vec![1u8];
        if to_all {
            let blob = serde_json::to_vec(
                &kept
                    .iter()
                    .map(|m| String::from_utf8_lossy(&m[9..]).into_owned())
                    .collect::<Vec<_>>(),
            )
            .expect("serialises");
            msg.extend(blob);
        }
        for w in 1..=workers {
            world.process_at_rank(w as i32).send_with_tag(&msg[..], ALL);
        }
        Ok(())
    }

    fn worker<T: Serialize + DeserializeOwned>(
        world: &SimpleCommunicator,
        work: &(impl Fn(u64) -> Result<T> + Sync),
        take: &mut impl FnMut(u64, T) -> Result<()>,
        to_all: bool,
    ) -> Result<()> {
        let root = world.process_at_rank(0);
        root.send_with_tag(&[0u8; 0][..], READY);
        loop {
            let (msg, status) = root.receive_vec::<u8>();
            if status.tag() == STOP {
                let failed = msg.first() == Some(&1);
                // Wait for the end of the job on rank 0 (see `finish`).
                let (all, _) = root.receive_vec::<u8>();
                if !to_all {
                    return if failed || all.first() != Some(&1) {
                        Err(Error::Config(format!(
                            "rank {} stopped: a run failed (rank 0 names it)",
                            world.rank()
                        )))
                    } else {
                        Ok(())
                    };
                }
                if all.first() != Some(&1) {
                    return Err(Error::Config(String::from_utf8_lossy(&all).into_owned()));
                }
                let texts: Vec<String> = serde_json::from_slice(&all[1..]).map_err(|e| {
                    Error::Config(format!("results from rank 0 are unreadable: {e}"))
                })?;
                for (i, t) in texts.iter().enumerate() {
                    let v: T = serde_json::from_str(t).map_err(|e| {
                        Error::Config(format!("a result from rank 0 is unreadable: {e}"))
                    })?;
                    take(i as u64, v)?;
                }
                return Ok(());
            }
            let i = index(&msg);
            BUSY.with(|b| b.set(true));
            let out = work(i);
            BUSY.with(|b| b.set(false));
            root.send_with_tag(&encode(i, &out)[..], RESULT);
        }
    }
}
