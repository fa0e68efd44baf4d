//! The page's queue of photos waiting for the engine: photos to classify and training photos to
//! embed, served oldest first, at most `limit` handed to each worker at a time so that dropping
//! five thousand photos reads five thousand files lazily (memory stays bounded). The workers are
//! the engine (`ENGINE`) and the helpers of the page's pool, each taking the work it can do.
//!
//! A job stays in the queue until its answer has come, so that the photos a lost worker held
//! can go back to the front and be asked again. Generic over the file handle (`web_sys::File` on
//! the page, anything in the tests): plain data, tested natively.

use std::collections::VecDeque;

/// What a queued photo is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Classify,
    /// A training photo, to embed for the class it was added to.
    Learn,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job<F> {
    pub id: u32,
    pub work: Work,
    pub file: F,
}

/// The worker slot of the engine itself; the pool's helpers have the slots after it.
pub const ENGINE: u32 = 0;

/// A job handed to a worker, and whether it is still wanted if that worker is lost.
#[derive(Debug)]
struct Out<F> {
    job: Job<F>,
    wanted: bool,
    worker: u32,
}

#[derive(Debug)]
pub struct WorkQueue<F> {
    waiting: VecDeque<Job<F>>,
    /// In the order they were handed out.
    out: Vec<Out<F>>,
    limit: usize,
}

impl<F: Clone> WorkQueue<F> {
    pub fn new(limit: usize) -> Self {
        Self {
            waiting: VecDeque::new(),
            out: Vec::new(),
            limit,
        }
    }

    pub fn push(&mut self, id: u32, work: Work, file: F) {
        self.waiting.push_back(Job { id, work, file });
    }

    /// The next job for the engine, when fewer than `limit` are out there.
    pub fn hand_out(&mut self) -> Option<Job<F>> {
        self.hand_out_to(ENGINE, |_| true)
    }

    /// The oldest job `worker` takes, when fewer than `limit` are out there.
    pub fn hand_out_to(&mut self, worker: u32, takes: impl Fn(Work) -> bool) -> Option<Job<F>> {
        if self.out.iter().filter(|o| o.worker == worker).count() >= self.limit {
            return None;
        }
        let at = self.waiting.iter().position(|job| takes(job.work))?;
        let job = self.waiting.remove(at)?;
        self.out.push(Out {
            job: job.clone(),
            wanted: true,
            worker,
        });
        Some(job)
    }

    /// Photo `id` has its answer (or its file could not be read): it is no longer out.
    pub fn settle(&mut self, id: u32) {
        if let Some(i) = self.out.iter().position(|o| o.job.id == id) {
            self.out.remove(i);
        }
    }

    /// The person removed photo `id`: it leaves the queue, and if it is out its answer still
    /// settles it but it is not asked for again after a loss.
    pub fn forget(&mut self, id: u32) {
        self.forget_where(|job| job.id == id);
    }

    /// Forgets every job `unwanted` picks (see `forget`).
    pub fn forget_where(&mut self, unwanted: impl Fn(&Job<F>) -> bool) {
        self.waiting.retain(|job| !unwanted(job));
        for out in &mut self.out {
            if unwanted(&out.job) {
                out.wanted = false;
            }
        }
    }

    /// The engine was lost with these jobs out (see `requeue_out_of`).
    pub fn requeue_out(&mut self) -> Vec<Job<F>> {
        self.requeue_out_of(ENGINE)
    }

    /// `worker` was lost with these jobs out: the wanted ones go back to the front of the queue
    /// in the order they were handed out; answers to the others will never come. Jobs out with
    /// other workers stay out. Returns the jobs put back.
    pub fn requeue_out_of(&mut self, worker: u32) -> Vec<Job<F>> {
        let (lost, kept): (Vec<Out<F>>, Vec<Out<F>>) =
            self.out.drain(..).partition(|o| o.worker == worker);
        self.out = kept;
        let again: Vec<Job<F>> = lost
            .into_iter()
            .filter(|o| o.wanted)
            .map(|o| o.job)
            .collect();
        for job in again.iter().rev() {
            self.waiting.push_front(job.clone());
        }
        again
    }

    /// Empties the waiting jobs (those out are left to their answers).
    pub fn take_waiting(&mut self) -> Vec<Job<F>> {
        self.waiting.drain(..).collect()
    }

    pub fn waiting(&self) -> impl Iterator<Item = &Job<F>> {
        self.waiting.iter()
    }

    /// Jobs handed out (to any worker) and not yet answered.
    pub fn out(&self) -> usize {
        self.out.len()
    }

    /// Whether photo `id` waits, or is out and still wanted: its file is still needed.
    pub fn holds(&self, id: u32) -> bool {
        self.waiting.iter().any(|job| job.id == id)
            || self.out.iter().any(|o| o.wanted && o.job.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids<F>(jobs: &[Job<F>]) -> Vec<u32> {
        jobs.iter().map(|job| job.id).collect()
    }

    fn queue_of(n: u32) -> WorkQueue<&'static str> {
        let mut queue = WorkQueue::new(2);
        for id in 0..n {
            let work = if id % 2 == 0 {
                Work::Classify
            } else {
                Work::Learn
            };
            queue.push(id, work, "file");
        }
        queue
    }

    #[test]
    fn at_most_the_limit_is_out_and_an_answer_frees_a_place() {
        let mut queue = queue_of(4);
        assert_eq!(queue.hand_out().map(|j| j.id), Some(0));
        assert_eq!(
            queue.hand_out().map(|j| (j.id, j.work)),
            Some((1, Work::Learn))
        );
        assert_eq!(queue.hand_out(), None, "two out already");
        assert_eq!(queue.out(), 2);
        queue.settle(1);
        assert_eq!(queue.hand_out().map(|j| j.id), Some(2));
        // An answer for a photo that is not out changes nothing.
        queue.settle(99);
        assert_eq!(queue.out(), 2);
    }

    #[test]
    fn after_a_loss_the_photos_out_go_back_first_in_their_order() {
        let mut queue = queue_of(5);
        queue.hand_out();
        queue.hand_out();
        let again = queue.requeue_out();
        assert_eq!(ids(&again), vec![0, 1]);
        assert_eq!(queue.out(), 0);
        let order: Vec<u32> = std::iter::from_fn(|| {
            let job = queue.hand_out()?;
            queue.settle(job.id);
            Some(job.id)
        })
        .collect();
        assert_eq!(order, vec![0, 1, 2, 3, 4], "nothing lost, nothing twice");
    }

    #[test]
    fn a_forgotten_photo_is_never_asked_for_again() {
        let mut queue = queue_of(4);
        queue.hand_out();
        queue.hand_out();
        // Photo 1 is out, photo 3 waits: the person removes both.
        queue.forget(1);
        queue.forget(3);
        assert!(!queue.holds(1) && !queue.holds(3));
        assert!(queue.holds(0) && queue.holds(2));
        // Its answer may still come, and still frees its place.
        assert_eq!(queue.out(), 2);
        assert_eq!(ids(&queue.requeue_out()), vec![0]);
        assert_eq!(ids(&queue.take_waiting()), vec![0, 2]);
        assert_eq!(queue.hand_out(), None);
    }

    #[test]
    fn forgetting_one_kind_keeps_the_other() {
        let mut queue = queue_of(6);
        queue.hand_out();
        // Clearing the cards: photos to classify go, training photos stay.
        queue.forget_where(|job| job.work == Work::Classify);
        let left: Vec<u32> = queue.waiting().map(|job| job.id).collect();
        assert_eq!(left, vec![1, 3, 5]);
        assert!(queue.requeue_out().is_empty(), "photo 0 was cleared");
    }

    #[test]
    fn a_helper_takes_only_its_work_within_its_own_limit_and_its_loss_leaves_the_engines_out() {
        let learn = |work| work == Work::Learn;
        let mut queue = queue_of(8);
        // The helper passes over photos to classify; its limit is its own.
        let helper: Vec<u32> = std::iter::from_fn(|| queue.hand_out_to(1, learn))
            .map(|j| j.id)
            .collect();
        assert_eq!(helper, vec![1, 3]);
        let engine: Vec<u32> = std::iter::from_fn(|| queue.hand_out())
            .map(|j| j.id)
            .collect();
        assert_eq!(engine, vec![0, 2]);
        assert_eq!(queue.out(), 4);
        // The helper is lost: its photos go back first, the engine's stay out.
        assert_eq!(ids(&queue.requeue_out_of(1)), vec![1, 3]);
        assert_eq!(queue.out(), 2);
        assert_eq!(queue.hand_out_to(2, learn).map(|j| j.id), Some(1));
        queue.settle(0);
        assert_eq!(queue.hand_out().map(|j| j.id), Some(3));
    }
}
