//! The scanner's parallelism: a round's directories are read (or verified) by up to
//! [`MAX_THREADS`] threads taking batches from a shared queue.

use std::sync::Mutex;

/// Below this many directories to read or verify, one thread does it.
const PARALLEL_MIN: usize = 64;
/// At most this many threads read directories (the scan is bound by system calls).
pub const MAX_THREADS: usize = 4;
/// Directories a worker takes from the shared queue at a time: small enough that a thread
/// descheduled by other load does not hold up the round, large enough to keep the queue's
/// lock cold.
const BATCH: usize = 32;

/// Runs `f` on every item, on up to [`MAX_THREADS`] threads (the calling one included) when
/// there is enough `work`; keeps the order. Workers take batches from a shared queue, so a
/// thread that other load on the machine holds up does not hold up the whole round.
pub(super) fn run_parallel<T: Send, R: Send>(
    items: Vec<T>,
    work: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS);
    if threads < 2 || work < PARALLEL_MIN {
        return items.into_iter().map(f).collect();
    }
    let mut batches: Vec<(usize, Vec<T>)> = Vec::with_capacity(items.len().div_ceil(BATCH));
    let mut items = items.into_iter();
    loop {
        let batch: Vec<T> = items.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        batches.push((batches.len(), batch));
    }
    let count = batches.len();
    let queue = Mutex::new(batches.into_iter());
    let worker = || {
        let mut out: Vec<(usize, Vec<R>)> = Vec::new();
        loop {
            let next = match queue.lock() {
                Ok(mut q) => q.next(),
                Err(p) => p.into_inner().next(),
            };
            let Some((index, batch)) = next else {
                return out;
            };
            out.push((index, batch.into_iter().map(&f).collect()));
        }
    };
    let mut done: Vec<(usize, Vec<R>)> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
        let mut done = worker();
        for h in helpers {
            match h.join() {
                Ok(part) => done.extend(part),
                // Nothing the workers run panics on input; re-raise a bug where it happened.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    });
    debug_assert_eq!(done.len(), count);
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().flat_map(|(_, results)| results).collect()
}
